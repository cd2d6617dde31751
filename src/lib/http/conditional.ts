import parseRange from 'range-parser';

/**
 * Conditional and range requests for a stored representation, RFC 9110 sections 13 and 14: plain data in,
 * a verdict out, no I/O. Written by hand rather than with `fresh` because fresh covers only If-None-Match and
 * If-Modified-Since and reports "not fresh" whenever the request says `Cache-Control: no-cache`: that is a rule
 * for caches, while an origin server must still evaluate the validators (RFC 9110 13.2.1). It has no If-Match,
 * If-Unmodified-Since or If-Range at all. Ranges are parsed by `range-parser`.
 */
export type RequestHeaders = Record<string, string | string[] | undefined>;

export interface Validators {
  /** strong entity tag, quoted */
  etag: string;
  /** HTTP-date; absent when the representation has no modification date (date preconditions are then ignored) */
  lastModified?: string;
}

export type PreconditionVerdict =
  | { outcome: 'proceed' }
  | { outcome: 'not-modified' }
  | { outcome: 'precondition-failed'; header: 'If-Match' | 'If-Unmodified-Since' | 'If-None-Match' };

function header(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The entity tags of an If-Match / If-None-Match list; "*" stays "*". Commas inside quotes are kept. Empty list
 * elements (`"x",,"y"`, a leading or trailing comma) are skipped, as RFC 9110 5.6.1.2 requires of a recipient.
 */
export function parseEntityTags(value: string): string[] {
  const tags: string[] = [];
  const pattern = /[\s,]*(\*|(?:W\/)?"[^"]*")\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < value.length && (match = pattern.exec(value)) !== null) tags.push(match[1]);
  return tags;
}

const opaque = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);

/** RFC 9110 8.8.3.2: strong comparison, both tags strong and identical. */
export function strongMatch(a: string, b: string): boolean {
  return !a.startsWith('W/') && !b.startsWith('W/') && a === b;
}

/** RFC 9110 8.8.3.2: weak comparison, opaque tags identical whatever their weakness. */
export function weakMatch(a: string, b: string): boolean {
  return opaque(a) === opaque(b);
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d{2}:\\d{2}:\\d{2}';
const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT$`);
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`,
);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`);

/**
 * An HTTP-date (RFC 9110 5.6.7: IMF-fixdate, or the obsolete RFC 850 and asctime forms a recipient must accept)
 * in seconds, or undefined when the value is not one, which makes the header ignored (13.1.3, 13.1.4).
 * Hand-written because Date.parse alone (what fresh and send use) takes almost anything: "1" parses as a date in
 * 2001, so `If-Unmodified-Since: 1` would give a 412 instead of being ignored. Several members ("d1, d2") fail too.
 */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (IMF_FIXDATE.test(text) || RFC850_DATE.test(text)) ms = Date.parse(text);
  else if (ASCTIME_DATE.test(text))
    ms = Date.parse(`${text.replace(/ +/g, ' ')} GMT`); // asctime is GMT without saying so
  else return undefined;
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * Evaluates the preconditions of a GET in the order of RFC 9110 13.2.2. A safe read (our POST to /media is
 * one, for tools that can only POST) is treated as GET: a matching If-None-Match gives 304, not 412.
 */
export function evaluatePreconditions(headers: RequestHeaders, current: Validators): PreconditionVerdict {
  const lastModified = parseHttpDate(current.lastModified);
  // Step 1: If-Match, strong comparison (13.1.1).
  const ifMatch = header(headers, 'If-Match');
  if (ifMatch !== undefined) {
    const tags = parseEntityTags(ifMatch);
    if (!tags.some((tag) => tag === '*' || strongMatch(tag, current.etag)))
      return { outcome: 'precondition-failed', header: 'If-Match' };
  } else {
    // Step 2: If-Unmodified-Since, only without If-Match (13.1.4).
    const since = parseHttpDate(header(headers, 'If-Unmodified-Since'));
    if (since !== undefined && lastModified !== undefined && lastModified > since) {
      return { outcome: 'precondition-failed', header: 'If-Unmodified-Since' };
    }
  }
  // Step 3: If-None-Match, weak comparison (13.1.2); when present, If-Modified-Since is ignored.
  const ifNoneMatch = header(headers, 'If-None-Match');
  if (ifNoneMatch !== undefined) {
    const tags = parseEntityTags(ifNoneMatch);
    if (tags.some((tag) => tag === '*' || weakMatch(tag, current.etag))) return { outcome: 'not-modified' };
    return { outcome: 'proceed' };
  }
  // Step 4: If-Modified-Since (13.1.3).
  const modifiedSince = parseHttpDate(header(headers, 'If-Modified-Since'));
  if (modifiedSince !== undefined && lastModified !== undefined && lastModified <= modifiedSince)
    return { outcome: 'not-modified' };
  return { outcome: 'proceed' };
}

/**
 * range-parser 1.3 drops a suffix range longer than the representation (`bytes=-500` of a 100-byte file) as
 * unsatisfiable; RFC 9110 14.1.3 says the entire representation is then used. Rewritten here to `0-`.
 */
function clampSuffixRanges(range: string, size: number): string {
  return range.replace(/(=|,)(\s*)-(\d+)(?=\s*(?:,|$))/g, (spec, sep: string, space: string, digits: string) =>
    size > 0 && Number(digits) > size ? `${sep}${space}0-` : spec,
  );
}

/**
 * If-Range (RFC 9110 13.1.5): an entity tag must match strongly, a date must equal Last-Modified exactly.
 * Exported so a server that cannot send the whole representation can tell "the representation changed" apart.
 */
export function ifRangeMatches(ifRange: string, current: Validators): boolean {
  const value = ifRange.trim();
  return value.startsWith('"') || value.startsWith('W/')
    ? strongMatch(value, current.etag)
    : parseHttpDate(value) !== undefined && parseHttpDate(value) === parseHttpDate(current.lastModified);
}

export type RangeVerdict =
  { outcome: 'full' } | { outcome: 'partial'; start: number; end: number } | { outcome: 'unsatisfiable' };

/**
 * Step 5 of 13.2.2 and section 14: a single byte range gives 206; If-Range must match strongly (an entity tag
 * identical to a strong current tag, or a date exactly equal to Last-Modified) or the Range is ignored.
 * A malformed Range, another unit, or several disjoint ranges are ignored and the whole representation is sent,
 * which RFC 9110 14.2 allows (we do not build multipart/byteranges; overlapping ranges are merged into one).
 * A range whose last-pos is below its first-pos (`bytes=5-2`) counts as unsatisfiable (416), as 15.5.17 allows.
 */
export function evaluateRange(headers: RequestHeaders, size: number, current: Validators): RangeVerdict {
  const range = header(headers, 'Range');
  if (range === undefined) return { outcome: 'full' };
  const ifRange = header(headers, 'If-Range');
  if (ifRange !== undefined && !ifRangeMatches(ifRange, current)) return { outcome: 'full' };
  const parsed = parseRange(size, clampSuffixRanges(range, size), { combine: true });
  if (parsed === -2) return { outcome: 'full' };
  if (parsed === -1) return { outcome: 'unsatisfiable' };
  if (parsed.type !== 'bytes' || parsed.length !== 1) return { outcome: 'full' };
  return { outcome: 'partial', start: parsed[0].start, end: parsed[0].end };
}
