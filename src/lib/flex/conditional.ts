/**
 * If-None-Match against the asset's strong ETag (RFC 9110 section 13.1.2). Hand-written instead of `fresh`
 * because fresh answers for a cache: it treats a request's `Cache-Control: no-cache` as "not fresh", which
 * an origin server evaluating a precondition must not do, and it would fall back to If-Modified-Since.
 */
export function ifNoneMatchMatches(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value.trim() === '*') return true; // the asset exists
  // If-None-Match uses the weak comparison: W/"x" matches "x" (section 8.8.3.2).
  // Entity tags are matched as quoted strings, not split on commas: a comma is a legal etagc character.
  const opaque = (tag: string) => tag.replace(/^W\//, '');
  const tags = value.match(/(?:W\/)?"[^"]*"/g) ?? [];
  return tags.some((tag) => opaque(tag) === opaque(etag));
}
