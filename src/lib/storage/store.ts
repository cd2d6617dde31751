import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SpooledBody } from '../fetch/media-fetcher';

/**
 * The one store abstraction, for archived recordings and inbound MMS media alike. A local folder is the embedded
 * default; an S3-compatible bucket is the production option (s3-store.ts). Every implementation stores objects
 * atomically (a reader never sees a partial object), can refuse to replace an existing key, and reads objects
 * back for verification, so "stored" always means "verified in place".
 */
export interface StoredObject {
  key: string;
  bytes: number;
  sha256: string;
  /** the store's content type, when it keeps one */
  contentType?: string;
  /** user metadata as the store returns it (S3's x-amz-meta-*, names lower-case); {} when it keeps none */
  metadata: Record<string, string>;
}

export interface PutOptions {
  contentType?: string;
  /** user metadata (ASCII names and values); the folder store keeps none */
  metadata?: Record<string, string>;
  /**
   * Never replace an existing object: answer 'exists' instead, with nothing written (S3's `If-None-Match: *`,
   * a hard link in a folder). Without it a put replaces the key, as the recordings index needs.
   */
  ifAbsent?: boolean;
  /** cuts the request (a webhook's deadline); the put then throws a StoreError */
  signal?: AbortSignal;
}

export interface ReadOptions {
  signal?: AbortSignal;
}

export type PutResult = 'written' | 'exists';

export interface ObjectStore {
  /** human description for reports and logs, e.g. "folder ./archive" or "s3://bucket/prefix/"; never a secret */
  readonly description: string;
  /** what the store puts before every key ('' or ending in '/'), so a log line can name the object's full key */
  readonly prefix: string;
  /** stores the bytes under key, atomically; 'exists' when ifAbsent and the key is taken (nothing written) */
  put(key: string, body: Buffer, options?: PutOptions): Promise<PutResult>;
  /** the same, the body read from a spooled file whose bytes and sha256 are known (a recording of any length); both stores have it, a test double may not */
  putFile?(key: string, spooled: SpooledBody, options?: PutOptions): Promise<PutResult>;
  /** reads the stored object back and hashes it; undefined when absent */
  inspect(key: string, options?: ReadOptions): Promise<StoredObject | undefined>;
  /** a small text document (the index, the ledger, a message record); '' when absent */
  readText(name: string, options?: ReadOptions): Promise<string>;
  /** replaces a small text document atomically */
  writeText(name: string, text: string, options?: PutOptions): Promise<void>;
  close?(): void;
}

/** A small text document as read, with the version a conditional write names (S3: its ETag). */
export interface VersionedText {
  /** '' when absent */
  text: string;
  /** undefined when absent */
  version?: string;
}

/**
 * Compare-and-swap on a small text document, for what several writers complete at once (a message record: the
 * webhook, a redelivery and media:sync). Read it with its version, merge, then write only if it is still that
 * version: 'changed' means another writer got there first and nothing was written (read again, merge, retry).
 */
export interface ConditionalTextStore {
  readVersioned(name: string, options?: ReadOptions): Promise<VersionedText>;
  /** writes `text` only if the document is still at `version` (undefined: still absent) */
  writeTextIf(
    name: string,
    text: string,
    version: string | undefined,
    options?: PutOptions,
  ): Promise<'written' | 'changed'>;
}

/** A store that answered with a failure, or could not be reached: the HTTP status when there is one. */
export class StoreError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export function sha256Of(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Reads a stored object through, hashing as it goes: what "verified in place" means for every store. */
export async function inspectStream(
  key: string,
  body: AsyncIterable<unknown> | Iterable<unknown>,
  extra: Pick<StoredObject, 'contentType' | 'metadata'> = { metadata: {} },
): Promise<StoredObject> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    const buffer = chunk instanceof Uint8Array ? chunk : Buffer.from(chunk as string);
    hash.update(buffer);
    bytes += buffer.length;
  }
  return { key, bytes, sha256: hash.digest('hex'), ...extra };
}

/** Keys are relative POSIX paths made by our own code (e.g. 2026/11/RE....wav); anything else is refused. */
export function assertSafeKey(key: string): void {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(key) || key.split('/').some((s) => s === '..' || s === '.')) {
    throw new Error(`store key "${key.slice(0, 200)}" is not a safe relative path`);
  }
}

/** a lock older than this was left by a process that died holding it (holding one takes milliseconds) */
const STALE_LOCK_MS = 10_000;
/** how long a writer waits for another's lock before it gives up */
const LOCK_WAIT_MS = 5_000;

export class LocalFolderStore implements ObjectStore, ConditionalTextStore {
  readonly description: string;
  readonly prefix = '';
  constructor(private readonly root: string) {
    this.description = `folder ${root}`;
  }

  /** The file holding a key's object (no check that it exists): for serving a kept recording locally. */
  pathOf(key: string): string {
    return this.file(key);
  }

  private file(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  /**
   * temp file, fsync, then rename (replace) or hard link (ifAbsent: link fails on an existing name, atomically):
   * after a crash the key holds either nothing or the whole object
   */
  private atomicWrite(target: string, body: Buffer | string | { copyFrom: string }, ifAbsent = false): PutResult {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.partial-${process.pid}-${Math.random().toString(36).slice(2)}`;
    if (typeof body === 'object' && !Buffer.isBuffer(body)) fs.copyFileSync(body.copyFrom, tmp);
    const fd = fs.openSync(tmp, typeof body === 'object' && !Buffer.isBuffer(body) ? 'r+' : 'w');
    try {
      if (typeof body === 'string' || Buffer.isBuffer(body))
        fs.writeSync(fd, typeof body === 'string' ? Buffer.from(body) : body);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (!ifAbsent) {
      fs.renameSync(tmp, target);
      return 'written';
    }
    try {
      fs.linkSync(tmp, target);
      return 'written';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
      throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  async put(key: string, body: Buffer, options: PutOptions = {}): Promise<PutResult> {
    return this.atomicWrite(this.file(key), body, options.ifAbsent);
  }

  async putFile(key: string, spooled: SpooledBody, options: PutOptions = {}): Promise<PutResult> {
    return this.atomicWrite(this.file(key), { copyFrom: spooled.file }, options.ifAbsent);
  }

  async inspect(key: string): Promise<StoredObject | undefined> {
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

  async readVersioned(name: string): Promise<VersionedText> {
    const file = this.file(name);
    if (!fs.existsSync(file)) return { text: '' };
    const bytes = fs.readFileSync(file);
    return { text: bytes.toString('utf8'), version: sha256Of(bytes) };
  }

  /**
   * The folder's compare-and-swap: a lock file created exclusively (`wx`) beside the document, held only while
   * the current version is compared and the new text renamed into place, so writers in other processes (the local
   * runtime and media:sync) take turns. A lock left by a dead process is broken once stale. Hand-written: the
   * lock libraries (proper-lockfile) add retries and mtime refreshes for long holds that a few-ms hold needs not.
   */
  async writeTextIf(name: string, text: string, version: string | undefined): Promise<'written' | 'changed'> {
    const file = this.file(name);
    const lock = `${file}.lock`;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const giveUpAt = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        fs.closeSync(fs.openSync(lock, 'wx'));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const held = fs.statSync(lock, { throwIfNoEntry: false });
        if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) fs.rmSync(lock, { force: true });
        else if (Date.now() > giveUpAt) throw new StoreError(`${name} stayed locked by another writer (${lock})`);
        else await new Promise((r) => setTimeout(r, 10));
      }
    }
    try {
      const current = fs.existsSync(file) ? sha256Of(fs.readFileSync(file)) : undefined;
      if (current !== version) return 'changed';
      this.atomicWrite(file, text);
      return 'written';
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }
}
