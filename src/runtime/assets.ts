import * as fs from 'node:fs';
import { Manifest, MANIFEST_ASSET_PATH, ManifestEntry, parseManifest } from '../lib/manifest';
import { readFileRange } from '../lib/media/read';

/**
 * The only place Functions touch Runtime.getAssets(): the manifest and private asset bytes come from the
 * runtime's asset map (no network call). Kept out of src/lib because it needs the Runtime global.
 */
let cached: { manifest: Manifest } | undefined;

export function loadManifest(): Manifest {
  // A deployed build never changes under a running Function, so one parse per container is enough.
  if (cached) return cached.manifest;
  const asset = Runtime.getAssets()[MANIFEST_ASSET_PATH];
  if (!asset) throw new Error(`asset ${MANIFEST_ASSET_PATH} is missing: build with npm run build before deploying`);
  cached = { manifest: parseManifest(fs.readFileSync(asset.path, 'utf8')) };
  return cached.manifest;
}

/** Local filesystem path of a private asset, for streaming or ranged reads. */
export function privateAssetPath(entry: ManifestEntry): string {
  const asset = Runtime.getAssets()[entry.path];
  if (!asset) throw new Error(`private asset ${entry.path} listed in the manifest is missing from the runtime`);
  return asset.path;
}

/** Bytes start..end (inclusive) of a private asset, read without loading the rest of the file. */
export function readPrivateRange(entry: ManifestEntry, start: number, end: number): Buffer {
  return readFileRange(privateAssetPath(entry), start, end, entry.bytes);
}
