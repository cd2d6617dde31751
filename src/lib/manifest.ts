import { parseJsonFile } from './json';

/**
 * The media manifest: written by the asset pipeline into dist/assets as a private asset, read by
 * Functions through Runtime.getAssets() (no network call) and by tools straight from dist.
 */
export type Visibility = 'public' | 'protected' | 'private';

export interface ManifestEntry {
  /** logical name as users refer to it: the deployed path without version or leading slash, e.g. "audio/greeting.wav" */
  name: string;
  visibility: Visibility;
  /** URL path the asset is deployed at, e.g. "/audio/greeting.3f2a9c1b7d0e.wav" (private files keep their name) */
  path: string;
  /** short content hash used in the versioned name; also the value of `v=` on /media */
  version: string;
  bytes: number;
  contentType: string;
  /** strong ETag derived from the content hash, quoted, e.g. "\"sha256-...\"" */
  etag: string;
  /** HTTP-date of the source file's modification time */
  lastModified: string;
  /** hex sha256 of the content */
  sha256: string;
  /** Cache-Control of the stable URL (/media) for this name, from the cache policy: "no-cache" or "max-age=N" */
  cacheControl: string;
  /** a private file declared in media.config.json "notMedia": read by Functions only, never served by /media or /flex/asset */
  notMedia?: boolean;
}

export interface Manifest {
  schema: 1;
  builtAt: string;
  /** keyed by logical name */
  entries: Record<string, ManifestEntry>;
}

/** Deployed path of the manifest itself (a private asset: dist/assets/media-manifest.private.json). */
export const MANIFEST_ASSET_PATH = '/media-manifest.json';
export const MANIFEST_FILE_NAME = 'media-manifest.private.json';

export class ManifestError extends Error {}

/**
 * Parses the manifest text and checks its shape, so a hand-edited or truncated manifest fails with a message
 * naming the entry and field at fault instead of an undefined deep in a handler.
 */
export function parseManifest(text: string, source = MANIFEST_FILE_NAME): Manifest {
  const manifest = parseJsonFile(text, source, (message) => new ManifestError(message)) as Manifest;
  if (
    !manifest ||
    typeof manifest !== 'object' ||
    manifest.schema !== 1 ||
    typeof manifest.entries !== 'object' ||
    !manifest.entries
  ) {
    throw new ManifestError(`${source}: expected {"schema": 1, "entries": {...}}`);
  }
  const stringFields = [
    'name',
    'visibility',
    'path',
    'version',
    'contentType',
    'etag',
    'lastModified',
    'sha256',
    'cacheControl',
  ] as const;
  for (const [key, entry] of Object.entries(manifest.entries)) {
    for (const field of stringFields) {
      if (typeof entry?.[field] !== 'string')
        throw new ManifestError(`${source}: entry "${key}" has no string "${field}"`);
    }
    if (!Number.isInteger(entry.bytes) || entry.bytes < 0)
      throw new ManifestError(`${source}: entry "${key}" has no byte count`);
    if (!['public', 'protected', 'private'].includes(entry.visibility)) {
      throw new ManifestError(`${source}: entry "${key}" has unknown visibility "${entry.visibility}"`);
    }
  }
  return manifest;
}
