import type { Manifest } from '../manifest';
import { parseMediaName } from './name';
import { errorResponse, jsonResponse, PlainResponse } from '../respond';
import { findServableEntry, mediaUrl, NotMediaError, UnknownMediaError } from './urls';

/** The answer of /studio/media-url: a few hundred bytes, far below Studio's 64 kB limit on a Function's JSON. */
export function studioMediaInfo(manifest: Manifest, rawName: unknown, baseUrl: string): PlainResponse {
  const parsed = parseMediaName(rawName);
  if (!parsed.ok) return errorResponse(parsed.status, parsed.message);
  try {
    const entry = findServableEntry(manifest, parsed.name);
    return jsonResponse(200, {
      url: mediaUrl(manifest, entry.name, baseUrl),
      version: entry.version,
      contentType: entry.contentType,
      bytes: entry.bytes,
    });
  } catch (err) {
    if (err instanceof UnknownMediaError || err instanceof NotMediaError) return errorResponse(err.status, err.message);
    throw err;
  }
}
