import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

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
