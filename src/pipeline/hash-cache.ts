import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * What identifies one version of a file without reading it: size, modification time, inode and change time.
 * The change time is the kernel's own: `tar x`, `cp -p` and `rsync -a` restore the modification time of an edited
 * file, but setting it moves ctime, so a same-size edit with its old mtime is still seen.
 */
interface FileIdentity {
  bytes: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

interface HashCacheEntry extends FileIdentity {
  sha256: string;
}

interface CacheFile {
  schema: 2;
  /** content hash of each source file, by absolute path */
  sources: Record<string, HashCacheEntry>;
  /** each file the build wrote into dist/, as it was just after writing it, and the content it was written with */
  staged: Record<string, HashCacheEntry>;
}

function identity(stat: fs.Stats): FileIdentity {
  return { bytes: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino };
}

function same(hit: HashCacheEntry | undefined, stat: fs.Stats): hit is HashCacheEntry {
  return (
    hit !== undefined &&
    hit.bytes === stat.size &&
    hit.mtimeMs === stat.mtimeMs &&
    hit.ctimeMs === stat.ctimeMs &&
    hit.ino === stat.ino
  );
}

/**
 * Content hashes of earlier builds, keyed by source path, so an unchanged file is never read again; and the
 * identity of every file the build staged, so a staged file is kept only while it is untouched since written.
 */
export class HashCache {
  private data: CacheFile = { schema: 2, sources: {}, staged: {} };
  constructor(private readonly file?: string) {
    if (file && fs.existsSync(file)) {
      try {
        const read = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<CacheFile>;
        // an older or corrupt cache only costs a re-hash
        if (read.schema === 2 && read.sources && read.staged) this.data = read as CacheFile;
      } catch {
        // as above
      }
    }
  }
  get(abs: string, stat: fs.Stats): string | undefined {
    const hit = this.data.sources[abs];
    return same(hit, stat) ? hit.sha256 : undefined;
  }
  set(abs: string, stat: fs.Stats, sha256: string): void {
    this.data.sources[abs] = { ...identity(stat), sha256 };
  }
  /** Whether the file at `target` is the one the build wrote there with content `sha256`, untouched since. */
  holdsStaged(target: string, stat: fs.Stats, sha256: string): boolean {
    const hit = this.data.staged[target];
    return same(hit, stat) && hit.sha256 === sha256;
  }
  /** Records a file the build has just written (call with its stat taken after the write). */
  staged(target: string, stat: fs.Stats, sha256: string): void {
    this.data.staged[target] = { ...identity(stat), sha256 };
  }
  save(): void {
    if (!this.file) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.data));
    fs.renameSync(tmp, this.file);
  }
}

const CHUNK = 1 << 20;

/** Reads the file once, hashing and (when `to` is given) copying in the same pass; memory stays at one chunk. */
export async function hashFile(from: string, to?: string): Promise<string> {
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
