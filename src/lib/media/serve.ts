import { evaluatePreconditions, evaluateRange, ifRangeMatches, RequestHeaders } from '../http/conditional';
import { MAX_RESPONSE_BODY_BYTES } from '../response-limit';
import type { Manifest, ManifestEntry } from '../manifest';
import { parseMediaName } from './name';
import { errorResponse, jsonResponse, PlainResponse } from '../respond';
import { findServableEntry, NotMediaError, stableMediaUrl, UnknownMediaError } from './urls';

/** A content-addressed URL or a pinned current version never changes: cache it for a year, never revalidate (RFC 8246). */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface MediaRequest {
  manifest: Manifest;
  /** the `name` parameter as received */
  name: unknown;
  /** the `v` parameter as received */
  version: unknown;
  headers: RequestHeaders;
  baseUrl: string;
}

export type MediaDecision =
  | { kind: 'response'; response: PlainResponse }
  /** the Function must send bytes start..end (inclusive) of the private asset with these status and headers */
  | {
      kind: 'bytes';
      entry: ManifestEntry;
      status: 200 | 206;
      start: number;
      end: number;
      headers: Record<string, string>;
    };

const respond = (response: PlainResponse): MediaDecision => ({ kind: 'response', response });
const noStoreError = (status: number, message: string) =>
  errorResponse(status, message, { 'Cache-Control': 'no-store' });

/**
 * Decides the answer of GET/POST /media?name=&v=. Public and protected media redirect to their content-addressed
 * asset; private media is served by the Function. A current pinned version is immutable; a version that is not
 * the current one redirects (no-store) to the stable URL of the current one, so a TwiML document generated
 * before a deploy still plays and the new bytes are never stored under an immutable header.
 */
export function decideMedia(request: MediaRequest): MediaDecision {
  const parsedName = parseMediaName(request.name);
  if (!parsedName.ok) return respond(noStoreError(parsedName.status, parsedName.message));
  let entry: ManifestEntry;
  try {
    entry = findServableEntry(request.manifest, parsedName.name);
  } catch (err) {
    if (err instanceof UnknownMediaError || err instanceof NotMediaError) {
      return respond(noStoreError(err.status, err.message));
    }
    throw err;
  }
  let cacheControl = entry.cacheControl;
  if (request.version !== undefined && request.version !== '') {
    if (typeof request.version !== 'string' || !/^[0-9a-f]{6,64}$/.test(request.version)) {
      return respond(
        noStoreError(
          400,
          'parameter "v" must be the hex version of a media file, as /studio/media-url or the manifest gives it',
        ),
      );
    }
    if (request.version !== entry.version) {
      return respond({
        status: 302,
        headers: {
          Location: stableMediaUrl(request.baseUrl, entry.name),
          'Cache-Control': 'no-store',
          'X-Media-Version': `requested=${request.version}; current=${entry.version}`,
        },
        body: '',
      });
    }
    cacheControl = IMMUTABLE;
  }
  return entry.visibility === 'private'
    ? decidePrivate(entry, request.headers, cacheControl)
    : decideRedirect(entry, request, cacheControl);
}

function decideRedirect(entry: ManifestEntry, request: MediaRequest, cacheControl: string): MediaDecision {
  // The redirect is its own representation: its validator names the version it points at, and it has no
  // Last-Modified (the source file's date says nothing about where the redirect points, and a file reverted to
  // older content would keep an old date). RFC 9110 13.2.1 has a server ignore preconditions when its answer
  // would not be 2xx; we keep If-None-Match alone, so a cache that stored the 302 with its ETag (RFC 9111 4.3.1,
  // as Twilio's does) revalidates it with a 304. If-Match, If-Unmodified-Since, If-Modified-Since and Range are ignored.
  const etag = `"redirect-${entry.sha256}"`;
  const headers = { 'Cache-Control': cacheControl, ETag: etag };
  const ifNoneMatch = request.headers['if-none-match'] ?? request.headers['If-None-Match'];
  const verdict = evaluatePreconditions({ 'if-none-match': ifNoneMatch }, { etag });
  if (verdict.outcome === 'not-modified') return respond({ status: 304, headers, body: '' });
  return respond({ status: 302, headers: { ...headers, Location: `${request.baseUrl}${entry.path}` }, body: '' });
}

/** 412 and 416 are answers about one request's headers: never stored (Cache-Control: no-store), ETag kept for the client. */
function preconditionFailed(
  headerName: string,
  etag: string,
  extra: Record<string, string>,
  why = 'does not hold for the current version',
): PlainResponse {
  return errorResponse(412, `precondition in header "${headerName}" ${why}`, {
    ...extra,
    ETag: etag,
    'Cache-Control': 'no-store',
  });
}

/** RFC 9530 Repr-Digest of the whole representation, also on a 206: a client checks the assembled bytes against it. */
function reprDigest(sha256Hex: string): string {
  return `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`;
}

export interface BytesOptions {
  /** Cache-Control of the 200, 206 and 304 */
  cacheControl: string;
  /** headers every answer carries, errors included (e.g. the CORS grant) */
  always?: Record<string, string>;
  /** largest body one answer may carry: a Function's response limit less the header margin */
  maxBodyBytes: number;
  /** the way to fetch a representation larger than maxBodyBytes, for the error that refuses a whole-file answer */
  remedy: string;
}

/**
 * The answer of a Function that serves a stored representation itself (private media on /media, any asset on
 * /flex/asset): preconditions in RFC 9110 order, then Range. No answer carries more than maxBodyBytes: a larger
 * range is cut to that length (a 206 may carry less than asked, RFC 9110 15.3.7, and Content-Range says what it
 * holds), and a representation over the limit is never sent whole: without a usable Range the answer is an error
 * naming the limit and the remedy, and when If-Range shows the representation changed it is a 412, so a
 * download can restart instead of splicing two versions.
 */
export function decideBytes(
  entry: ManifestEntry,
  requestHeaders: RequestHeaders,
  options: BytesOptions,
): MediaDecision {
  const always = options.always ?? {};
  const validators = { etag: entry.etag, lastModified: entry.lastModified };
  // What a 304 must repeat from the 200 (RFC 9110 15.4.5), and the rest of the 200's metadata.
  const cacheHeaders = {
    ...always,
    ETag: entry.etag,
    'Cache-Control': options.cacheControl,
    'Last-Modified': entry.lastModified,
  };
  const verdict = evaluatePreconditions(requestHeaders, validators);
  if (verdict.outcome === 'not-modified') return respond({ status: 304, headers: cacheHeaders, body: '' });
  if (verdict.outcome === 'precondition-failed') return respond(preconditionFailed(verdict.header, entry.etag, always));
  const headers = {
    ...cacheHeaders,
    'Content-Type': entry.contentType,
    'Accept-Ranges': 'bytes',
    'Repr-Digest': reprDigest(entry.sha256),
  };
  const range = evaluateRange(requestHeaders, entry.bytes, validators);
  if (range.outcome === 'unsatisfiable') {
    return respond(
      errorResponse(416, `header "Range" is not satisfiable: ${entry.name} has ${entry.bytes} bytes`, {
        ...always,
        ETag: entry.etag,
        'Cache-Control': 'no-store',
        'Accept-Ranges': 'bytes',
        'Content-Range': `bytes */${entry.bytes}`,
      }),
    );
  }
  if (range.outcome === 'partial') {
    const end = Math.min(range.end, range.start + options.maxBodyBytes - 1);
    return {
      kind: 'bytes',
      entry,
      status: 206,
      start: range.start,
      end,
      headers: {
        ...headers,
        'Content-Range': `bytes ${range.start}-${end}/${entry.bytes}`,
        'Content-Length': String(end - range.start + 1),
      },
    };
  }
  if (entry.bytes > options.maxBodyBytes) {
    const ifRange = requestHeaders['if-range'] ?? requestHeaders['If-Range'];
    const rangeSent = (requestHeaders['range'] ?? requestHeaders['Range']) !== undefined;
    if (rangeSent && typeof ifRange === 'string' && !ifRangeMatches(ifRange, validators)) {
      return respond(
        preconditionFailed(
          'If-Range',
          entry.etag,
          always,
          `names another version of ${entry.name}: it changed since the download began; start again`,
        ),
      );
    }
    // 400 naming the header: the request lacks what this representation needs (413 is about request content).
    return respond(
      jsonResponse(
        400,
        {
          error: `header "Range" is required: ${entry.name} is ${entry.bytes} bytes, more than one answer of a Function may carry (${options.maxBodyBytes} bytes); ${options.remedy}`,
          status: 400,
          bytes: entry.bytes,
          maxRangeBytes: options.maxBodyBytes,
        },
        { ...always, ETag: entry.etag, 'Accept-Ranges': 'bytes' },
      ),
    );
  }
  return {
    kind: 'bytes',
    entry,
    status: 200,
    start: 0,
    end: entry.bytes - 1,
    headers: { ...headers, 'Content-Length': String(entry.bytes) },
  };
}

function decidePrivate(entry: ManifestEntry, requestHeaders: RequestHeaders, cacheControl: string): MediaDecision {
  return decideBytes(entry, requestHeaders, {
    cacheControl,
    maxBodyBytes: MAX_RESPONSE_BODY_BYTES,
    // The build refuses such a file unless it is declared notMedia, so only a stale manifest gets here.
    remedy:
      "ask for byte ranges (Range: bytes=0-...), or make the file public or protected so Twilio's asset hosting serves it",
  });
}
