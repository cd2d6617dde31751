/**
 * Validation of a logical media name taken from a request (`name=audio/greeting.wav`). A name is only ever
 * looked up in the manifest, never joined to a file system path, but it is still refused early when it tries
 * to leave the asset tree, so the caller gets a 400 naming the parameter instead of a confusing 404.
 */
export type MediaNameResult = { ok: true; name: string } | { ok: false; status: 400; message: string };

export function parseMediaName(raw: unknown, parameter = 'name'): MediaNameResult {
  const fail = (why: string): MediaNameResult => ({
    ok: false,
    status: 400,
    message: `parameter "${parameter}" ${why}`,
  });
  if (raw === undefined || raw === null || raw === '') return fail('is required, e.g. name=audio/greeting.wav');
  if (typeof raw !== 'string') return fail('must be given once, as a string');
  if (raw.length > 1024) return fail('is longer than 1024 characters');
  if (raw.includes('\0')) return fail('contains a NUL byte');
  if (raw.includes('\\')) return fail('contains a backslash; use "/" between folders');
  // The runtime has already decoded the query string once; a "%XX" left over is a second encoding layer,
  // the classic way to smuggle "../" past a check, and no asset name needs it.
  if (/%[0-9a-f]{2}/i.test(raw)) return fail('is percent-encoded twice; send the name decoded once');
  if (/\p{Cc}/u.test(raw)) return fail('contains a control character');
  const name = raw.startsWith('/') ? null : raw;
  if (name === null) return fail('must be a logical name relative to the asset tree, without a leading "/"');
  const segments = name.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return fail('must not contain "." or ".." segments');
  if (segments.some((s) => s === '')) return fail('must not contain empty segments ("//" or a trailing "/")');
  return { ok: true, name };
}
