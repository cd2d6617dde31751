import {
  DeleteOutcome,
  deleteTwilioCopy,
  DeleteTwilioCopyInput,
  keepObject,
  KeepOutcome,
  OUTCOME_LEVEL,
  storeFailure,
} from './object';
import { clip, isoWithOffset, LogRecord } from '../log';
import { SID } from '../sid';
import type { MediaStore, MessageField } from '../storage/media-store';
import { ObjectStore, sha256Of } from '../storage/store';

/**
 * Keeping one inbound MMS media item, verified, and deleting Twilio's copy only after: the one routine for the
 * webhook (src/lib/mms/inbound.ts) and the sync command (src/lib/sync/media.ts). Keys are deterministic,
 * `PREFIX/AccountSid/MessageSid/MediaSid.ext`, so a redelivered webhook or a re-run never duplicates; an existing
 * key is never replaced. Each step logs one `media_store` line (the shape media:report counts).
 */

/** Twilio's limit on the media of one message: the byte budget of the webhook and of media:sync alike. */
export const MESSAGE_MEDIA_BYTES = 5 * 1024 * 1024;

export type { KeepOutcome, DeleteOutcome };

export interface KeepMediaInput {
  store: ObjectStore;
  accountSid: string | undefined;
  messageSid: string | undefined;
  /**
   * the item's number in the webhook (the N of MediaUrlN); undefined when it is not known: Twilio's Media list
   * (media:sync) names each item by its SID only, in no documented order, so its position there is not N
   */
  index: number | undefined;
  /** the media URL (MediaUrlN): its last segment is the Media SID */
  mediaUrl: string;
  /** the content type the media host sent */
  contentType: string;
  body: Buffer;
  /** when the webhook arrived (epoch ms); the sync command gives the message's own time */
  receivedAt: number;
  /** cuts every store request (the webhook's deadline) */
  signal?: AbortSignal;
  log: (record: LogRecord) => void;
}

export interface KeptMedia {
  outcome: KeepOutcome;
  messageSid?: string;
  accountSid?: string;
  mediaSid?: string;
  /** the N of MediaUrlN, when known (see KeepMediaInput.index) */
  index?: number;
  /** the key inside the store (without its prefix); undefined when the SIDs were refused */
  key?: string;
  bytes: number;
  sha256: string;
  contentType: string;
  status?: number;
  problem?: string;
  /** the store holds exactly these bytes, read back and hashed: only then may Twilio's copy be deleted */
  verified: boolean;
}

/** The Media SID of a media URL: its last path segment, exactly ME + 32 hex (no decoding, so no `%2F` tricks). */
export function mediaSidOf(mediaUrl: string): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(mediaUrl).pathname;
  } catch {
    return undefined;
  }
  const last = pathname.slice(pathname.lastIndexOf('/') + 1);
  return SID.ME.test(last) ? last : undefined;
}

let mimeTypes: typeof import('mime-types') | undefined;

/** The extension for a received content type (mime-types' table), `bin` when it knows none. */
export function extensionFor(contentType: string): string {
  // Required on first use, not at the top: loading mime-types (its whole database) takes 40-80 ms here, which
  // every cold start of the webhook would pay, stores configured or not.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  mimeTypes ??= require('mime-types') as typeof import('mime-types');
  const ext = mimeTypes.extension(contentType.split(';')[0].trim().toLowerCase());
  return ext && /^[a-z0-9]{1,10}$/.test(ext) ? ext : 'bin';
}

/**
 * The store key of one item, `AccountSid/MessageSid/MediaSid.ext`, or the reason it cannot have one: each SID
 * must be exactly its prefix and 32 hex digits, so no value can make a key leave its message's folder.
 */
export function mediaKeyOf(
  accountSid: string | undefined,
  messageSid: string | undefined,
  mediaUrl: string,
  contentType: string,
): { key: string; mediaSid: string } | { problem: string } {
  if (!accountSid || !SID.AC.test(accountSid))
    return { problem: `AccountSid "${clip(accountSid ?? '')}" is not AC followed by 32 hex digits; nothing stored` };
  if (!messageSid || !SID.MM.test(messageSid))
    return { problem: `MessageSid "${clip(messageSid ?? '')}" is not MM followed by 32 hex digits; nothing stored` };
  const mediaSid = mediaSidOf(mediaUrl);
  if (!mediaSid)
    return { problem: 'the media URL does not end in a Media SID (ME followed by 32 hex digits); nothing stored' };
  return { key: `${accountSid}/${messageSid}/${mediaSid}.${extensionFor(contentType)}`, mediaSid };
}

export function messageRecordKey(accountSid: string, messageSid: string): string {
  return `${accountSid}/${messageSid}/message.json`;
}

/** The one `media_store` line (the shape agreed with media:report). */
function logStore(
  log: (record: LogRecord) => void,
  outcome: KeepOutcome | DeleteOutcome,
  kept: KeptMedia,
  prefix: string,
  receivedAt: number,
  extra: { status?: number; problem?: string } = {},
): void {
  log({
    level: OUTCOME_LEVEL[outcome],
    event: 'media_store',
    outcome,
    messageSid: kept.messageSid,
    ...(kept.mediaSid ? { mediaSid: kept.mediaSid } : {}),
    ...(kept.index !== undefined ? { index: kept.index } : {}),
    ...(kept.key ? { key: `${prefix}${kept.key}` } : {}),
    bytes: kept.bytes,
    sha256: kept.sha256,
    ...(extra.status !== undefined ? { status: extra.status } : {}),
    ...(extra.problem ? { problem: extra.problem } : {}),
    webhookReceivedAt: isoWithOffset(receivedAt),
  });
}

/**
 * Stores one fetched item under its deterministic key, verified: an existing object with the same sha256 is
 * `already_stored`, one with other bytes a `conflict` (nothing written); otherwise a conditional PUT (never
 * replaces, the store checks the sha256), then the object is read back and hashed: `stored` only when it matches.
 * Never throws; logs one `media_store` line.
 */
export async function keepMediaItem(input: KeepMediaInput): Promise<KeptMedia> {
  const { store, log, signal } = input;
  const contentType = input.contentType.split(';')[0].trim().toLowerCase() || 'application/octet-stream';
  const base = {
    ...(input.index !== undefined ? { index: input.index } : {}),
    contentType,
    ...(input.messageSid ? { messageSid: clip(input.messageSid) } : {}),
  };
  const named = mediaKeyOf(input.accountSid, input.messageSid, input.mediaUrl, contentType);
  const finish = (kept: KeptMedia): KeptMedia => {
    logStore(log, kept.outcome, kept, store.prefix, input.receivedAt, kept);
    return kept;
  };
  if ('problem' in named)
    return finish({
      ...base,
      bytes: input.body.length,
      sha256: sha256Of(input.body),
      outcome: 'store_failed',
      problem: named.problem,
      verified: false,
    });
  const { key, mediaSid } = named;
  // keepObject hashes the body (once) and stores its bytes and sha256 with it
  const kept = await keepObject({
    store,
    key,
    body: input.body,
    contentType,
    signal,
    metadata: {
      'account-sid': input.accountSid!,
      'message-sid': input.messageSid!,
      'media-sid': mediaSid,
      'content-type': contentType,
      'received-at': isoWithOffset(input.receivedAt),
    },
  });
  return finish({
    ...base,
    accountSid: input.accountSid,
    messageSid: input.messageSid,
    mediaSid,
    key,
    bytes: kept.bytes,
    sha256: kept.sha256,
    outcome: kept.outcome,
    verified: kept.verified,
    ...(kept.status !== undefined ? { status: kept.status } : {}),
    ...(kept.problem ? { problem: kept.problem } : {}),
  });
}

/** auth, allowedHosts, signal and timeoutMs as deleteTwilioCopy takes them (src/lib/keep/object.ts) */
export interface DeleteMediaInput extends Pick<
  DeleteTwilioCopyInput,
  'auth' | 'allowedHosts' | 'signal' | 'timeoutMs'
> {
  kept: KeptMedia;
  /** the Media SIDs the message record lists, as read back after it was written (recordMessage's `listed`) */
  listed: ReadonlySet<string>;
  mediaUrl: string;
  /** the store's prefix, for the line's key */
  prefix: string;
  receivedAt: number;
  log: (record: LogRecord) => void;
}

/**
 * Deletes Twilio's copy of a kept item (`DELETE` on its media URL), only when the store holds it verified and the
 * message record lists it (so no item gone from Twilio is missing from its record); a Media resource answers 204.
 * A 404 means it is already gone, which is what was wanted. Anything else, and a verified item the record does not
 * list, is `delete_failed`, left for the sync command. Returns undefined (and logs nothing) when no delete was due.
 */
export async function deleteTwilioMedia(input: DeleteMediaInput): Promise<DeleteOutcome | undefined> {
  const { kept, log } = input;
  if (!kept.verified || (kept.outcome !== 'stored' && kept.outcome !== 'already_stored')) return undefined;
  const fail = (problem: string, status?: number): DeleteOutcome => {
    logStore(log, 'delete_failed', kept, input.prefix, input.receivedAt, { problem, status });
    return 'delete_failed';
  };
  if (!kept.mediaSid || !input.listed.has(kept.mediaSid))
    return fail('the message record does not list it (not written or not read back); the media stays at Twilio');
  const deleted = await deleteTwilioCopy({
    url: input.mediaUrl,
    auth: input.auth,
    allowedHosts: input.allowedHosts,
    signal: input.signal,
    timeoutMs: input.timeoutMs,
    what: 'the media',
  });
  if (deleted.outcome === 'delete_failed') return fail(deleted.problem ?? 'the DELETE failed', deleted.status);
  logStore(log, 'deleted', kept, input.prefix, input.receivedAt, { status: deleted.status });
  return 'deleted';
}

export interface MessageRecordItem {
  /** the N of MediaUrlN; absent when the item was kept by media:sync, which cannot know it (never a guess) */
  index?: number;
  mediaSid: string;
  key: string;
  bytes: number;
  contentType: string;
  sha256: string;
}

/** `PREFIX/AccountSid/MessageSid/message.json`: what is kept of one message, beside its media. */
export interface MessageRecord {
  accountSid: string;
  messageSid: string;
  receivedAt: string;
  media: MessageRecordItem[];
  From?: string;
  To?: string;
  Body?: string;
}

export interface RecordMessageInput {
  store: MediaStore;
  accountSid: string | undefined;
  messageSid: string | undefined;
  receivedAt: number;
  kept: KeptMedia[];
  /** the message's parameters; only `fields` of them are copied (personal data) */
  params: Partial<Record<MessageField, string>>;
  fields: MessageField[];
  signal?: AbortSignal;
  log: (record: LogRecord) => void;
}

export interface RecordedMessage {
  outcome: 'written' | 'unchanged' | 'failed' | 'none';
  /** the Media SIDs the stored record lists, read back: only these may be deleted at Twilio */
  listed: Set<string>;
  problem?: string;
}

/** The Media SIDs a record's text lists; throws when it is not a message record. */
function listedIn(text: string): Set<string> {
  if (!text) throw new Error('the record is missing when read back after its write');
  const record = parseMessageRecord(text);
  if (!record) throw new Error('the record read back after its write is not a message record');
  return new Set(record.media.map((m) => m.mediaSid));
}

/** A stored record's text as a record, or undefined when it is not one (not JSON, or no `media` list of entries). */
export function parseMessageRecord(text: string): MessageRecord | undefined {
  try {
    const record = JSON.parse(text) as Partial<MessageRecord> | null;
    if (!record || typeof record !== 'object' || !Array.isArray(record.media)) return undefined;
    if (!record.media.every((m) => m && typeof m === 'object' && typeof m.mediaSid === 'string')) return undefined;
    return record as MessageRecord;
  } catch {
    return undefined;
  }
}

/** where an unreadable record's text is set aside before the record is rewritten (the last one only) */
export function unreadableRecordKey(accountSid: string, messageSid: string): string {
  return `${accountSid}/${messageSid}/message.unreadable.json`;
}

/** how often a record write that met another writer's is read, merged and tried again */
const RECORD_ATTEMPTS = 5;

/**
 * Writes (or completes) the message record with every verified item: an earlier delivery's items are kept, new
 * ones added, so a redelivery that kept the rest finishes the record. Several writers (the webhook, a redelivery,
 * media:sync) may complete one record at once: each write is conditional on the version read (S3 If-Match /
 * If-None-Match, the folder's lock), and one that meets another's is read again, merged and retried. The record
 * is then read back: `listed` is what it holds, and an item missing from it makes the outcome `failed`. Logs one
 * `message_record` line; never throws.
 */
export async function recordMessage(input: RecordMessageInput): Promise<RecordedMessage> {
  const { store, accountSid, messageSid, log } = input;
  const items = input.kept.filter((k): k is KeptMedia & { key: string; mediaSid: string } =>
    Boolean(k.verified && k.key && k.mediaSid),
  );
  if (!accountSid || !messageSid || !SID.AC.test(accountSid) || !SID.MM.test(messageSid) || items.length === 0)
    return { outcome: 'none', listed: new Set() };
  const key = messageRecordKey(accountSid, messageSid);
  const line = (outcome: string, extra: LogRecord = {}) =>
    log({
      level: outcome === 'failed' ? 'error' : extra.problem ? 'warn' : 'info',
      event: 'message_record',
      outcome,
      messageSid,
      key: `${store.prefix}${key}`,
      ...extra,
    });
  try {
    for (let attempt = 1; attempt <= RECORD_ATTEMPTS; attempt += 1) {
      const { text, version } = await store.readVersioned(key, { signal: input.signal });
      const existing = text ? parseMessageRecord(text) : undefined;
      let repaired: LogRecord = {};
      if (text && !existing) {
        // Unreadable (cut, edited by hand): rewritten from what this writer kept, replacing it only if no other
        // writer has since; its text is set aside first, as it may list items no longer at Twilio.
        const aside = unreadableRecordKey(accountSid, messageSid);
        await store.writeText(aside, text, { signal: input.signal });
        repaired = {
          problem: `the stored record was not a message record; rewritten, its old text kept as ${store.prefix}${aside}`,
        };
      }
      const { record, changed } = mergeRecord(existing, items, input, store.prefix);
      if (!changed) {
        line('unchanged');
        return { outcome: 'unchanged', listed: new Set(record.media.map((m) => m.mediaSid)) };
      }
      const written = await store.writeTextIf(key, `${JSON.stringify(record, null, 2)}\n`, version, {
        signal: input.signal,
      });
      if (written === 'changed') continue; // another writer's record came first: merge with it
      const listed = listedIn(await store.readText(key, { signal: input.signal }));
      const missing = items.filter((k) => !listed.has(k.mediaSid)).map((k) => k.mediaSid);
      if (missing.length) {
        const problem = `read back, the record does not list ${missing.join(', ')}`;
        line('failed', { problem });
        return { outcome: 'failed', listed, problem };
      }
      line('written', {
        mediaCount: record.media.length,
        ...(attempt > 1 ? { attempts: attempt } : {}),
        ...repaired,
      });
      return { outcome: 'written', listed };
    }
    const problem = `the record changed under each of ${RECORD_ATTEMPTS} conditional writes`;
    line('failed', { problem });
    return { outcome: 'failed', listed: new Set(), problem };
  } catch (err) {
    const failure = storeFailure(err);
    line('failed', failure);
    return { outcome: 'failed', listed: new Set(), problem: failure.problem };
  }
}

/** The record with this run's items added to what is stored (nothing removed), and whether that changes it. */
function mergeRecord(
  existing: MessageRecord | undefined,
  items: (KeptMedia & { key: string; mediaSid: string })[],
  input: RecordMessageInput,
  prefix: string,
): { record: MessageRecord; changed: boolean } {
  const media = new Map((existing?.media ?? []).map((m) => [m.mediaSid, m]));
  let changed = !existing;
  for (const k of items) {
    // one entry per Media SID, whichever path kept it; a webhook's redelivery supplies an index media:sync lacked
    const listed = media.get(k.mediaSid);
    if (listed) {
      if (listed.index === undefined && k.index !== undefined) {
        media.set(k.mediaSid, { ...listed, index: k.index });
        changed = true;
      }
      continue;
    }
    media.set(k.mediaSid, {
      ...(k.index !== undefined ? { index: k.index } : {}),
      mediaSid: k.mediaSid,
      key: `${prefix}${k.key}`,
      bytes: k.bytes,
      contentType: k.contentType,
      sha256: k.sha256,
    });
    changed = true;
  }
  const record: MessageRecord = {
    accountSid: input.accountSid!,
    messageSid: input.messageSid!,
    receivedAt: existing?.receivedAt ?? isoWithOffset(input.receivedAt),
    // by index, the items whose index is unknown last, in the order they were kept
    media: [...media.values()].sort((a, b) => (a.index ?? Infinity) - (b.index ?? Infinity)),
  };
  for (const field of input.fields) {
    const value = input.params[field] ?? existing?.[field];
    if (value !== undefined) {
      if (existing?.[field] !== value) changed = true;
      record[field] = value;
    }
  }
  return { record, changed };
}
