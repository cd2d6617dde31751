import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where archived recordings go. A local folder is the embedded default; an S3-compatible bucket is the
 * production option (s3-destination.ts). Every implementation stores objects atomically (a reader never sees a
 * partial object) and reads them back for verification, so "archived" always means "verified in place".
 */
export interface StoredCopy {
  key: string;
  bytes: number;
  sha256: string;
}

export interface ArchiveDestination {
  /** human description for reports, e.g. "folder ./archive" or "s3://bucket/prefix" */
  readonly description: string;
  /** stores the bytes under key, atomically */
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** reads the stored object back and hashes it; undefined when absent */
  inspect(key: string): Promise<StoredCopy | undefined>;
  /** a small text document (the index, the ledger); '' when absent */
  readText(name: string): Promise<string>;
  /** replaces a small text document atomically */
  writeText(name: string, text: string): Promise<void>;
}

export function sha256Of(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Reads a stored object through, hashing as it goes: what "verified in place" means for every destination. */
export async function inspectStream(key: string, body: AsyncIterable<unknown>): Promise<StoredCopy> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { key, bytes, sha256: hash.digest('hex') };
}

/** Keys are relative POSIX paths made by the archiver (e.g. 2026/11/RE....wav); anything else is refused. */
export function assertSafeKey(key: string): void {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(key) || key.split('/').some((s) => s === '..' || s === '.')) {
    throw new Error(`archive key "${key}" is not a safe relative path`);
  }
}

export class LocalFolderDestination implements ArchiveDestination {
  readonly description: string;
  constructor(private readonly root: string) {
    this.description = `folder ${root}`;
  }

  private file(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  /** temp file, fsync, rename: after a crash the key holds either nothing or the whole object */
  private atomicWrite(target: string, body: Buffer | string): void {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.partial-${process.pid}`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, typeof body === 'string' ? Buffer.from(body) : body);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  }

  async put(key: string, body: Buffer, _contentType?: string): Promise<void> {
    this.atomicWrite(this.file(key), body);
  }

  async inspect(key: string): Promise<StoredCopy | undefined> {
    const file = this.file(key);
    if (!fs.existsSync(file)) return undefined;
    return inspectStream(key, fs.createReadStream(file));
  }

  async readText(name: string): Promise<string> {
    const file = this.file(name);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  async writeText(name: string, text: string): Promise<void> {
    this.atomicWrite(this.file(name), text);
  }
}
