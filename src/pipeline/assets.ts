import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import * as mime from 'mime-types';
import { Manifest, MANIFEST_ASSET_PATH, MANIFEST_FILE_NAME, ManifestEntry, Visibility } from '../lib/manifest';
import { AssetLimits, humanBytes } from './asset-limits';
import type { CachePolicyRule } from '../lib/cache-policy';
import { resolveCacheControl } from '../lib/cache-policy';
import { formatTable } from '../lib/text-table';
import { MAX_RESPONSE_BODY_BYTES } from '../lib/response-limit';
import picomatch from 'picomatch';

/** Whether a logical name is declared not media ("notMedia" globs of media.config.json). */
export function isNotMedia(patterns: readonly string[], name: string): boolean {
  return patterns.some((pattern) => picomatch.isMatch(name, pattern, { dot: true }));
}

/** Length of the content hash in versioned names: 48 bits, collision-free for any real asset tree. */
export const VERSION_LENGTH = 12;
const VERSION_PLACEHOLDER = 'x'.repeat(VERSION_LENGTH);

export interface SourceAsset {
  /** path relative to the assets folder, with "/" separators */
  rel: string;
  abs: string;
  bytes: number;
  mtimeMs: number;
  visibility: Visibility;
  /** deployed path of the unversioned file as twilio-run computes it, e.g. "/audio/greeting.wav" */
  deployedPath: string;
  /** logical name: deployedPath without the leading "/" */
  name: string;
}

export interface SkippedFile {
  rel: string;
  reason: string;
}

export interface AssetScan {
  dir: string;
  files: SourceAsset[];
  skipped: SkippedFile[];
}

const OS_JUNK = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini', '.gitkeep', '.gitignore', '.keep']);

/**
 * Visibility and deployed path exactly as @twilio-labs/serverless-api (used by twilio-run and the Twilio CLI)
 * computes them in getPathAndAccessFromFileInfo, including its quirks: the marker is searched for in the whole
 * relative name, removed from the base name once, and whitespace becomes "-". A test checks this against the
 * library itself; we re-implement it because the library throws on the first invalid path, and the build
 * must report every violation in one run.
 */
export function twilioPathAndAccess(rel: string): { path: string; access: Visibility } {
  const ext = path.posix.extname(rel);
  let baseName = path.posix.basename(rel, ext);
  let access: Visibility = 'public';
  if (rel.includes(`.protected${ext}`)) access = 'protected';
  else if (rel.includes(`.private${ext}`)) access = 'private';
  baseName = baseName.replace(`.${access}`, '');
  let resourcePath = '/' + path.posix.join(path.posix.dirname(rel), baseName) + ext;
  resourcePath = resourcePath.replace(/\s/g, '-');
  return { path: resourcePath, access };
}

/** Name of the content-addressed copy in dist/assets: the hash goes before the visibility marker and extension. */
export function versionedRel(asset: Pick<SourceAsset, 'rel' | 'visibility'>, version: string): string {
  const ext = path.posix.extname(asset.rel);
  const dir = path.posix.dirname(asset.rel);
  let base = path.posix.basename(asset.rel, ext);
  const marker = asset.visibility === 'public' ? '' : `.${asset.visibility}`;
  if (marker && base.endsWith(marker)) base = base.slice(0, -marker.length);
  else if (marker) base = base.replace(marker, '');
  const file = `${base}.${version}${marker}${ext}`;
  return dir === '.' ? file : `${dir}/${file}`;
}

function walk(dir: string, prefix: string, out: string[]): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) walk(path.join(dir, entry.name), rel, out);
    else if (entry.isFile()) out.push(rel);
  }
}

/** Lists the asset tree (stat only, no reads). Dotfiles and OS junk are skipped with a note, never deployed. */
export function scanAssets(dir: string): AssetScan {
  const rels: string[] = [];
  if (fs.existsSync(dir)) walk(dir, '', rels);
  rels.sort();
  const files: SourceAsset[] = [];
  const skipped: SkippedFile[] = [];
  for (const rel of rels) {
    const segments = rel.split('/');
    const base = segments[segments.length - 1];
    if (OS_JUNK.has(base)) {
      skipped.push({ rel, reason: 'OS or VCS junk file, not uploaded' });
      continue;
    }
    if (segments.some((s) => s.startsWith('.'))) {
      skipped.push({ rel, reason: 'dotfile or file in a dot folder, not uploaded' });
      continue;
    }
    const abs = path.join(dir, ...segments);
    const stat = fs.statSync(abs);
    const { path: deployedPath, access } = twilioPathAndAccess(rel);
    files.push({ rel, abs, bytes: stat.size, mtimeMs: stat.mtimeMs, visibility: access, deployedPath, name: deployedPath.slice(1) });
  }
  return { dir, files, skipped };
}

export interface Violation {
  /** file at fault (relative to the assets folder), or the folder for count limits */
  file: string;
  rule: string;
  message: string;
}

export interface UsageRow {
  visibility: 'public+protected' | 'private' | 'functions';
  files: number;
  fileLimit: number;
  bytes: number;
  largest: number;
  largestLimit?: number;
}

export interface AssetCheck {
  violations: Violation[];
  usage: UsageRow[];
  skipped: SkippedFile[];
}

const FORBIDDEN = /[#;,?:@+&$()'" ]/g;

/**
 * Checks what would really be deployed (the versioned copies and the generated manifest, not the sources)
 * against the limits, reporting every violation at once with the file, the rule, the value and the limit.
 */
export function checkAssets(scan: AssetScan, limits: AssetLimits, functionCount: number, notMedia: readonly string[] = []): AssetCheck {
  const violations: Violation[] = [];
  const add = (file: string, rule: string, message: string) => violations.push({ file, rule, message });
  const byPath = new Map<string, SourceAsset>();
  let publicCount = 0;
  let publicBytes = 0;
  let publicLargest = 0;
  // the generated manifest is one more private asset
  let privateCount = 1;
  let privateBytes = 0;
  let privateLargest = 0;
  for (const file of scan.files) {
    const deployed = file.visibility === 'private' ? file.deployedPath : twilioPathAndAccess(versionedRel(file, VERSION_PLACEHOLDER)).path;
    const forbidden = file.deployedPath.match(FORBIDDEN);
    if (forbidden) {
      add(file.rel, 'forbidden-character', `${file.rel}: path contains ${[...new Set(forbidden)].map((c) => JSON.stringify(c)).join(' ')}, which Twilio refuses in asset paths (# ; , ? : @ + & $ ( ) ' ")`);
    }
    if (deployed.length > limits.pathLength) {
      add(file.rel, 'path-length', `${file.rel}: deployed path is ${deployed.length} characters (with its ${VERSION_LENGTH}-character version), limit ${limits.pathLength}`);
    }
    if (file.deployedPath === MANIFEST_ASSET_PATH) {
      add(file.rel, 'reserved-path', `${file.rel}: deploys to ${MANIFEST_ASSET_PATH}, which the build reserves for the media manifest`);
    }
    const other = byPath.get(file.deployedPath);
    if (other) {
      add(file.rel, 'collision', `${file.rel}: deploys to the same path ${file.deployedPath} as ${other.rel}; rename one of them`);
    } else {
      byPath.set(file.deployedPath, file);
    }
    if (file.visibility === 'private') {
      privateCount += 1;
      privateBytes += file.bytes;
      privateLargest = Math.max(privateLargest, file.bytes);
      if (file.bytes > limits.privateFileBytes) {
        add(file.rel, 'private-file-size', `${file.rel}: private asset is ${humanBytes(file.bytes)}, limit ${humanBytes(limits.privateFileBytes)}`);
      }
      // A private file has no URL: /media answers it whole from a Function, whose response is at most 4 MB.
      if (file.bytes > MAX_RESPONSE_BODY_BYTES && !isNotMedia(notMedia, file.name)) {
        add(file.rel, 'private-media-size',
          `${file.rel}: private media is ${file.bytes} bytes, but /media serves it from a Function, whose answer is at most ${MAX_RESPONSE_BODY_BYTES} bytes ` +
          `(4,000,000 less a header margin): make it public or protected (Twilio's asset hosting serves those up to 25 MB), ` +
          `or, if only Functions read it, declare it in media.config.json "notMedia"`);
      }
    } else {
      if (isNotMedia(notMedia, file.name)) {
        add(file.rel, 'not-media-visibility', `${file.rel}: matches media.config.json "notMedia", but only private files can be kept from being served; this ${file.visibility} file has a public URL`);
      }
      publicCount += 1;
      publicBytes += file.bytes;
      publicLargest = Math.max(publicLargest, file.bytes);
      if (file.bytes > limits.publicFileBytes) {
        add(file.rel, 'file-size', `${file.rel}: ${file.visibility} asset is ${humanBytes(file.bytes)}, limit ${humanBytes(limits.publicFileBytes)}`);
      }
    }
  }
  const where = path.relative(process.cwd(), scan.dir) || '.';
  if (publicCount > limits.publicFiles) {
    add(where, 'file-count', `${where}/: ${publicCount} public and protected assets, limit ${limits.publicFiles} per build`);
  }
  if (privateCount > limits.privateFiles) {
    add(where, 'private-file-count', `${where}/: ${privateCount} private assets (including the generated ${MANIFEST_FILE_NAME}), limit ${limits.privateFiles} per build`);
  }
  if (functionCount > limits.functions) {
    add('src/functions', 'function-count', `src/functions/: ${functionCount} Functions, limit ${limits.functions} per build`);
  }
  return {
    violations,
    skipped: scan.skipped,
    usage: [
      { visibility: 'public+protected', files: publicCount, fileLimit: limits.publicFiles, bytes: publicBytes, largest: publicLargest, largestLimit: limits.publicFileBytes },
      { visibility: 'private', files: privateCount, fileLimit: limits.privateFiles, bytes: privateBytes, largest: privateLargest, largestLimit: limits.privateFileBytes },
      { visibility: 'functions', files: functionCount, fileLimit: limits.functions, bytes: 0, largest: 0 },
    ],
  };
}

const percent = (value: number, limit: number) => `${((100 * value) / limit).toFixed(1)}%`;

/** The summary table printed on every build and by assets:check. */
export function formatUsage(check: AssetCheck): string {
  const rows = [['kind', 'files', 'limit', 'used', 'bytes', 'largest', 'per-file limit', 'used']];
  for (const u of check.usage) {
    rows.push([
      u.visibility,
      String(u.files),
      String(u.fileLimit),
      percent(u.files, u.fileLimit),
      u.visibility === 'functions' ? '-' : humanBytes(u.bytes),
      u.visibility === 'functions' ? '-' : humanBytes(u.largest),
      u.largestLimit ? humanBytes(u.largestLimit) : '-',
      u.largestLimit ? percent(u.largest, u.largestLimit) : '-',
    ]);
  }
  return formatTable(rows);
}

export class AssetLimitError extends Error {
  constructor(readonly check: AssetCheck) {
    super(
      `the asset tree breaks ${check.violations.length} Twilio limit${check.violations.length === 1 ? '' : 's'}:\n` +
        check.violations.map((v) => `  [${v.rule}] ${v.message}`).join('\n'),
    );
  }
}

interface HashCacheEntry {
  bytes: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

/** Content hashes of earlier builds, keyed by source path, so an unchanged file is never read again. */
export class HashCache {
  private entries: Record<string, HashCacheEntry> = {};
  constructor(private readonly file?: string) {
    if (file && fs.existsSync(file)) {
      try {
        this.entries = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, HashCacheEntry>;
      } catch {
        this.entries = {}; // a corrupt cache only costs a re-hash
      }
    }
  }
  get(abs: string, stat: fs.Stats): string | undefined {
    const hit = this.entries[abs];
    if (hit && hit.bytes === stat.size && hit.mtimeMs === stat.mtimeMs && hit.ino === stat.ino) return hit.sha256;
    return undefined;
  }
  set(abs: string, stat: fs.Stats, sha256: string): void {
    this.entries[abs] = { bytes: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino, sha256 };
  }
  save(): void {
    if (!this.file) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.entries));
    fs.renameSync(tmp, this.file);
  }
}

const CHUNK = 1 << 20;
const HASH_CONCURRENCY = 2;

/** Reads the file once, hashing and (when `to` is given) copying in the same pass; memory stays at one chunk. */
async function hashFile(from: string, to?: string): Promise<string> {
  const hash = createHash('sha256');
  const source = fs.createReadStream(from, { highWaterMark: CHUNK });
  if (!to) {
    for await (const chunk of source) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }
  const tee = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(source, tee, fs.createWriteStream(to));
  return hash.digest('hex');
}

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
 * under their own, plus the manifest. Files already present under the right versioned name are kept, so an
 * unchanged tree rebuilds without reading any content; anything left over from an older build is removed.
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
    let outRel: string;
    if (staged) {
      cache.set(file.abs, stat, sha256);
      outRel = file.visibility === 'private' ? file.rel : versionedRel(file, sha256.slice(0, VERSION_LENGTH));
      const target = path.join(outDir, ...outRel.split('/'));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.renameSync(staged.tmp, target);
    } else {
      reused += 1;
      outRel = file.visibility === 'private' ? file.rel : versionedRel(file, sha256.slice(0, VERSION_LENGTH));
      const target = path.join(outDir, ...outRel.split('/'));
      const existing = fs.statSync(target, { throwIfNoEntry: false });
      if (!existing || existing.size !== stat.size || (file.visibility === 'private' && existing.mtimeMs < stat.mtimeMs)) {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.copyFileSync(file.abs, target, fs.constants.COPYFILE_FICLONE);
      }
    }
    keep.add(outRel);
    counts[file.visibility] += 1;
    const version = sha256.slice(0, VERSION_LENGTH);
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
