import type { Manifest, ManifestEntry } from '../manifest';

export class UnknownMediaError extends Error {
  readonly status = 404;
  constructor(readonly mediaName: string) {
    super(
      `no media named "${mediaName}" in this build (parameter "name"); names are paths under assets/ without visibility marker, e.g. audio/greeting.wav`,
    );
  }
}

/** The one manifest lookup: own entries only, so a name like "__proto__" or "constructor" finds nothing. */
export function lookupEntry(manifest: Manifest, name: string): ManifestEntry | undefined {
  return Object.prototype.hasOwnProperty.call(manifest.entries, name) ? manifest.entries[name] : undefined;
}

/** A private file declared in media.config.json "notMedia": read by Functions only, so it has no media URL. */
export class NotMediaError extends Error {
  readonly status = 403;
  constructor(readonly mediaName: string) {
    super(
      `"${mediaName}" is declared not media in media.config.json ("notMedia"): only Functions read it, it is never served`,
    );
  }
}

export function findEntry(manifest: Manifest, name: string): ManifestEntry {
  const entry = lookupEntry(manifest, name);
  if (!entry) throw new UnknownMediaError(name);
  return entry;
}

/** The entry a media URL may serve: UnknownMediaError (404) or NotMediaError (403) otherwise. */
export function findServableEntry(manifest: Manifest, name: string): ManifestEntry {
  const entry = findEntry(manifest, name);
  if (entry.notMedia) throw new NotMediaError(entry.name);
  return entry;
}

/** URL of the stable /media endpoint for a logical name, optionally pinned to a version. */
export function stableMediaUrl(baseUrl: string, name: string, version?: string): string {
  const query = new URLSearchParams({ name });
  if (version) query.set('v', version);
  return `${baseUrl}/media?${query.toString()}`;
}

/**
 * The URL to put in TwiML (<Play>, <Media>) or an MMS mediaUrl: the content-addressed asset itself, immutable,
 * so Twilio's caches never need to revalidate (each revalidation is a billed request). Private media has no
 * asset URL, so it goes through /media pinned to its version, which is served with the same immutable policy.
 */
export function mediaUrl(manifest: Manifest, name: string, baseUrl: string): string {
  const entry = findServableEntry(manifest, name);
  if (entry.visibility === 'private') return stableMediaUrl(baseUrl, entry.name, entry.version);
  return `${baseUrl}${entry.path}`;
}
