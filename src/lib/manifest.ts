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
