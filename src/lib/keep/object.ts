import type { SpooledBody } from '../fetch/media-fetcher';
import { hostAllowed } from '../fetch/allowlist';
import { requestOnce } from '../fetch/media-fetcher';
import { clip } from '../log';
import { ObjectStore, sha256Of, StoredObject, StoreError } from '../storage/store';

/**
 * The keep routine's two steps that do not depend on what is kept, for inbound media and recordings alike: store
 * an object under its deterministic key, verified (never replacing what is there), and delete Twilio's copy once the
 * caller has the verified copy and its record. What is kept, its key and its record are the caller's
 * (src/lib/keep/media.ts for media, src/lib/keep/recording.ts for recordings); the rules are here, once.
 */

export type KeepOutcome = 'stored' | 'already_stored' | 'store_failed' | 'conflict';
export type DeleteOutcome = 'deleted' | 'delete_failed';

/** The level of each outcome's log line (media_store, recording_store): what needs a look is a warning or worse. */
export const OUTCOME_LEVEL: Record<KeepOutcome | DeleteOutcome, 'info' | 'warn' | 'error'> = {
  stored: 'info',
  already_stored: 'info',
  deleted: 'info',
  conflict: 'warn',
  delete_failed: 'warn',
  store_failed: 'error',
};

export interface KeepObjectInput {
  store: ObjectStore;
  /** the key inside the store (without its prefix) */
  key: string;
  /** the bytes in memory, or spooled to a file by the fetch (a recording of any length) */
  body: Buffer | SpooledBody;
  contentType: string;
  /** user metadata (ASCII) stored with the object; its `bytes` and `sha256` are added here */
  metadata: Record<string, string>;
  /** cuts every store request (a Function's deadline) */
  signal?: AbortSignal;
}

export interface KeptObject {
  outcome: KeepOutcome;
  bytes: number;
  sha256: string;
  /** the store holds exactly these bytes, read back and hashed: only then may Twilio's copy be deleted */
  verified: boolean;
  status?: number;
  problem?: string;
}

/** A store's failure as a log line's fields: its HTTP status when there is one, and the message, bounded. */
export function storeFailure(err: unknown): { status?: number; problem: string } {
  const status = err instanceof StoreError ? err.status : undefined;
  return { ...(status !== undefined ? { status } : {}), problem: clip((err as Error).message, 300) };
}

/**
 * Stores the body under key, verified: an existing object with the same sha256 is `already_stored`, one with other
 * bytes a `conflict` (nothing written); otherwise a conditional PUT (never replaces; the store checks the sha256 the
 * request carries), then the object is read back and hashed: `stored` only when it matches. Never throws.
 */
export async function keepObject(input: KeepObjectInput): Promise<KeptObject> {
  const { store, key, signal } = input;
  const spooled = Buffer.isBuffer(input.body) ? undefined : input.body;
  const bytes = spooled ? spooled.bytes : (input.body as Buffer).length;
  const sha256 = spooled ? spooled.sha256 : sha256Of(input.body as Buffer);
  const base = { bytes, sha256 };
  const judge = (stored: StoredObject): KeptObject =>
    stored.bytes === bytes && stored.sha256 === sha256
      ? { ...base, outcome: 'already_stored', verified: true }
      : {
          ...base,
          outcome: 'conflict',
          verified: false,
          problem: `the store already holds ${stored.bytes} bytes with sha256 ${stored.sha256} under this key; nothing written`,
        };
  try {
    // Checked first as well as by the conditional write: not every S3-compatible server honours If-None-Match.
    const existing = await store.inspect(key, { signal });
    if (existing) return judge(existing);
    const metadata = { ...input.metadata, bytes: String(bytes), sha256 };
    const options = { contentType: input.contentType, ifAbsent: true, signal, metadata };
    let written;
    if (spooled) {
      if (!store.putFile) throw new StoreError(`${store.description} cannot store a spooled body`);
      written = await store.putFile(key, spooled, options);
    } else written = await store.put(key, input.body as Buffer, options);
    const stored = await store.inspect(key, { signal });
    if (!stored)
      return { ...base, outcome: 'store_failed', verified: false, problem: 'the object is missing after the write' };
    if (written === 'exists') return judge(stored);
    if (stored.bytes !== bytes || stored.sha256 !== sha256)
      return {
        ...base,
        outcome: 'store_failed',
        verified: false,
        problem: `read back ${stored.bytes} bytes with sha256 ${stored.sha256}, not the bytes sent`,
      };
    return { ...base, outcome: 'stored', verified: true };
  } catch (err) {
    return { ...base, outcome: 'store_failed', verified: false, ...storeFailure(err) };
  }
}

export interface DeleteTwilioCopyInput {
  /** the resource to DELETE: a Media URL, or a Recording resource's .json */
  url: string;
  /** the same credentials as the fetch */
  auth?: { username: string; password: string };
  /** the same allowlist as the fetch (its first hop: a DELETE follows no redirect) */
  allowedHosts: string[];
  /** cuts the DELETE (a Function's deadline) */
  signal?: AbortSignal;
  /** the longest the DELETE may take, whatever the signal (default 30 s): Twilio may never answer */
  timeoutMs?: number;
  /** what stays at Twilio when the delete fails, for the problem text: "the media", "the recording" */
  what: string;
}

/** a DELETE without an answer by then is given up (and left for the catch-up) */
export const DELETE_TIMEOUT_MS = 30_000;

export interface DeletedCopy {
  outcome: DeleteOutcome;
  status?: number;
  problem?: string;
}

/**
 * Deletes Twilio's copy. Only a caller holding a verified copy and its record calls this. 2xx is done, and so is
 * 404 (already gone, which is what was wanted); anything else is `delete_failed`, left for the catch-up. Never throws.
 */
export async function deleteTwilioCopy(input: DeleteTwilioCopyInput): Promise<DeletedCopy> {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    return { outcome: 'delete_failed', problem: `the URL of ${input.what} is not a URL` };
  }
  if (!hostAllowed(url, input.allowedHosts))
    return { outcome: 'delete_failed', problem: `host ${url.host} is not on the media allowlist; not contacted` };
  const timeoutMs = input.timeoutMs ?? DELETE_TIMEOUT_MS;
  const controller = new AbortController();
  const abort = () => controller.abort();
  const timer = setTimeout(abort, timeoutMs);
  input.signal?.addEventListener('abort', abort);
  if (input.signal?.aborted) controller.abort();
  try {
    const res = await requestOnce(url, input.auth, controller.signal, undefined, 'DELETE');
    res.resume();
    const status = res.statusCode ?? 0;
    if ((status >= 200 && status < 300) || status === 404) return { outcome: 'deleted', status };
    return {
      outcome: 'delete_failed',
      status,
      problem: `Twilio answered ${status} to the DELETE; ${input.what} stays at Twilio`,
    };
  } catch (err) {
    return {
      outcome: 'delete_failed',
      problem: controller.signal.aborted
        ? input.signal?.aborted
          ? `no answer to the DELETE within the deadline; ${input.what} stays at Twilio`
          : `no answer to the DELETE within ${timeoutMs} ms; ${input.what} stays at Twilio`
        : `the DELETE failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    };
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', abort);
  }
}
