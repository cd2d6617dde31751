import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mime from 'mime-types';
import type { CachePolicyRule } from '../lib/cache-policy';
import { resolveCacheControl } from '../lib/cache-policy';
import { Manifest, MANIFEST_FILE_NAME, ManifestEntry } from '../lib/manifest';
import { AssetScan, isNotMedia, twilioPathAndAccess, VERSION_LENGTH, versionedRel } from './asset-scan';
import { HashCache, hashFile } from './hash-cache';

const HASH_CONCURRENCY = 2;

export interface StageOptions {
  scan: AssetScan;
  outDir: string;
  cachePolicy: CachePolicyRule[];
  /** "notMedia" globs of media.config.json: such entries are marked in the manifest and never served */
  notMedia?: readonly string[];
  hashCache?: HashCache;
  /** called as each new or changed file is hashed: files and bytes hashed so far, of those to hash */
  progress?: (done: number, total: number, bytes: number, totalBytes: number) => void;
}

export interface StageResult {
  manifest: Manifest;
  counts: { public: number; protected: number; private: number };
  hashed: number;
  reused: number;
}

/**
 * Writes dist/assets: public and protected files only under their content-addressed names, private files
 * under their own, plus the manifest. A file already present under the right name is kept when the hash cache
 * shows it untouched since this build wrote it, so an unchanged tree rebuilds without reading any content;
 * anything else is copied again, and anything left over from an older build is removed.
 */
export async function stageAssets(options: StageOptions): Promise<StageResult> {
  const { scan, outDir, cachePolicy } = options;
  const cache = options.hashCache ?? new HashCache();
  fs.mkdirSync(outDir, { recursive: true });
  const keep = new Set<string>([MANIFEST_FILE_NAME]);
  const entries: Record<string, ManifestEntry> = {};
  const counts = { public: 0, protected: 0, private: 0 };
  let hashed = 0;
  let reused = 0;
  let doneBytes = 0;
  const stats = scan.files.map((file) => fs.statSync(file.abs));
  // Unknown content is copied to a temporary name while it is hashed, two files at a time: hashing is CPU and
  // writing is I/O, so one file's hash overlaps the other's writes (about 25% faster than one at a time).
  const cached = scan.files.map((file, i) => cache.get(file.abs, stats[i]));
  const fresh = new Map<number, { sha256: string; tmp: string }>();
  const unknown = cached.flatMap((sha256, i) => (sha256 === undefined ? [i] : []));
  const unknownBytes = unknown.reduce((sum, i) => sum + stats[i].size, 0);
  let nextUnknown = 0;
  await Promise.all(
    Array.from({ length: Math.min(HASH_CONCURRENCY, unknown.length) }, async () => {
      while (nextUnknown < unknown.length) {
        const i = unknown[nextUnknown++];
        const tmp = path.join(outDir, `.staging-${process.pid}-${i}`);
        fresh.set(i, { sha256: await hashFile(scan.files[i].abs, tmp), tmp });
        hashed += 1;
        doneBytes += stats[i].size;
        options.progress?.(hashed, unknown.length, doneBytes, unknownBytes);
      }
    }),
  );
  for (const [i, file] of scan.files.entries()) {
    const stat = stats[i];
    const staged = fresh.get(i);
    // every file is either cached or was just hashed above
    const sha256 = staged?.sha256 ?? cached[i]!;
    const version = sha256.slice(0, VERSION_LENGTH);
    const outRel = file.visibility === 'private' ? file.rel : versionedRel(file, version);
    const target = path.join(outDir, ...outRel.split('/'));
    if (staged) {
      cache.set(file.abs, stat, sha256);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.renameSync(staged.tmp, target);
      cache.staged(target, fs.statSync(target), sha256);
    } else {
      reused += 1;
      // A file of the right name is kept only while it is the one this build wrote: one altered in place (even
      // to the same size, with its mtime put back) would otherwise be deployed under a hash it does not have.
      const existing = fs.statSync(target, { throwIfNoEntry: false });
      if (!existing || !cache.holdsStaged(target, existing, sha256)) {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.rmSync(target, { force: true }); // a fresh inode: a hard link elsewhere is never written through
        fs.copyFileSync(file.abs, target, fs.constants.COPYFILE_FICLONE);
        cache.staged(target, fs.statSync(target), sha256);
      }
    }
    keep.add(outRel);
    counts[file.visibility] += 1;
    const deployedPath = file.visibility === 'private' ? file.deployedPath : twilioPathAndAccess(outRel).path;
    entries[file.name] = {
      name: file.name,
      visibility: file.visibility,
      path: deployedPath,
      version,
      bytes: stat.size,
      contentType: mime.lookup(file.rel) || 'application/octet-stream',
      etag: `"sha256-${sha256}"`,
      lastModified: new Date(Math.floor(stat.mtimeMs / 1000) * 1000).toUTCString(),
      sha256,
      cacheControl: resolveCacheControl(cachePolicy, file.name),
      ...(file.visibility === 'private' && isNotMedia(options.notMedia ?? [], file.name) ? { notMedia: true } : {}),
    };
  }
  removeStale(outDir, '', keep);
  const manifest: Manifest = { schema: 1, builtAt: new Date().toISOString(), entries };
  fs.writeFileSync(path.join(outDir, MANIFEST_FILE_NAME), JSON.stringify(manifest, null, 1));
  cache.save();
  return { manifest, counts, hashed, reused };
}

function removeStale(dir: string, prefix: string, keep: Set<string>): boolean {
  let empty = true;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (removeStale(abs, rel, keep)) fs.rmdirSync(abs);
      else empty = false;
    } else if (keep.has(rel)) {
      empty = false;
    } else {
      fs.rmSync(abs, { force: true });
    }
  }
  return empty;
}
