import { ByteBudget, fetchMedia, FetchOutcome } from '../fetch/media-fetcher';
import { clip, LogRecord } from '../log';
import type { MediaStore, MessageField } from '../storage/media-store';
import type { StoredObject } from '../storage/store';
import {
  deleteTwilioMedia,
  keepMediaItem,
  KeptMedia,
  mediaKeyOf,
  MESSAGE_MEDIA_BYTES,
  messageRecordKey,
  parseMessageRecord,
  recordMessage,
} from '../keep/media';
import {
  JsonGet,
  listPages,
  MediaResource,
  mediaContentUrl,
  mediaListPath,
  MessageResource,
  messagesListPath,
  SentRange,
  sentAt,
  wantedMessage,
} from './twilio-messages';

/**
 * `npm run media:sync`: catches up what the inbound webhook did not keep. Lists the inbound messages with media
 * in a range through Twilio's REST API, and for each item: already in the store and verified -> skipped (nothing
 * downloaded); else downloaded and kept by the webhook's own routine (src/lib/keep/media.ts: same key, same
 * checksums, never an overwrite); with `delete`, every item is downloaded and compared with the stored copy, and
 * Twilio's copy is deleted only once the store holds exactly its bytes, verified.
 * Safe to interrupt and re-run: every object is written whole or not at all, and what is stored is skipped.
 */

/** What one run does to one media item (dry runs say what they would do). */
export type ItemAction =
  'stored' | 'already_stored' | 'would_store' | 'deleted' | 'would_delete' | 'conflict' | 'failed';

export interface ItemReport {
  messageSid: string;
  mediaSid?: string;
  /** the object's key in the store, prefix included */
  key?: string;
  actions: ItemAction[];
  /** what failed, for `failed` and `conflict` */
  problem?: string;
}

export interface SyncCounts {
  messages: number;
  media: number;
  stored: number;
  alreadyStored: number;
  deleted: number;
  failed: number;
  wouldStore: number;
  wouldDelete: number;
}

export interface SyncResult extends SyncCounts {
  dryRun: boolean;
  /** every failure and conflict, named */
  failures: ItemReport[];
  /** dry run: every item and what would happen to it */
  planned: ItemReport[];
}

export interface SyncOptions {
  accountSid: string;
  /** the REST API base (TWILIO_API_BASE_URL), for the media URLs */
  apiBase: string;
  get: JsonGet;
  store: MediaStore;
  range: SentRange;
  to?: string;
  dryRun: boolean;
  delete: boolean;
  /** messages worked on at once */
  concurrency: number;
  /** the media fetch and delete: credentials and allowlists (as the webhook's) */
  auth: { username: string; password: string };
  allowedHosts: string[];
  redirectAllowedHosts: string[];
  /** which message fields go in the message record (MEDIA_STORE_MESSAGE_FIELDS) */
  messageFields: MessageField[];
  /** one download's time, retries included */
  downloadTimeoutMs?: number;
  /**
   * the longest any other request may take (default 30 s): a Twilio DELETE, each step of the store (a read, a
   * keep, the record); one that takes longer fails its item by name and the run goes on
   */
  requestTimeoutMs?: number;
  pageSize?: number;
  log: (record: LogRecord) => void;
  /** called after each item */
  onProgress?: (counts: SyncCounts) => void;
}

/** The one fact the skip rests on: the sha256 the object was stored with, and its bytes hash to it now. */
export function verifiedInStore(stored: StoredObject | undefined, expectedSha256: string | undefined): boolean {
  const expected = expectedSha256 ?? stored?.metadata.sha256;
  return Boolean(stored && expected && stored.sha256 === expected);
}

/** The message record's sha256 of each Media SID; an unreadable record counts as none (recordMessage rewrites it). */
export function recordedSha256(recordText: string): Map<string, string> {
  const record = recordText ? parseMessageRecord(recordText) : undefined;
  return new Map((record?.media ?? []).map((m) => [m.mediaSid, m.sha256]));
}

/**
 * Runs fn over items with at most `limit` at once, in order of arrival, pulling the next item only when a slot
 * frees, so a long listing is never all in memory. Hand-written: ten lines, and p-limit/p-map are not direct
 * dependencies (and would need the whole listing up front).
 */
async function pool<T>(items: AsyncIterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const running = new Set<Promise<void>>();
  for await (const item of items) {
    const p: Promise<void> = fn(item).finally(() => running.delete(p));
    running.add(p);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
}

/** the default bound on each request of a run, other than a download (SyncOptions.requestTimeoutMs) */
export const REQUEST_TIMEOUT_MS = 30_000;

/** cuts one step of the store (a read, a keep, a record write) once it has taken requestTimeoutMs */
const stepSignal = (options: SyncOptions) => AbortSignal.timeout(options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);

async function* wantedMessages(options: SyncOptions): AsyncGenerator<MessageResource> {
  const first = messagesListPath(options.accountSid, options.range, options.to, options.pageSize);
  for await (const page of listPages<MessageResource>(options.get, first, 'messages')) {
    for (const message of page) if (wantedMessage(message, options.range)) yield message;
  }
}

export async function syncMedia(options: SyncOptions): Promise<SyncResult> {
  const { store, log } = options;
  const result: SyncResult = {
    dryRun: options.dryRun,
    messages: 0,
    media: 0,
    stored: 0,
    alreadyStored: 0,
    deleted: 0,
    failed: 0,
    wouldStore: 0,
    wouldDelete: 0,
    failures: [],
    planned: [],
  };
  const report = (item: ItemReport) => {
    for (const action of item.actions) {
      if (action === 'stored') result.stored += 1;
      if (action === 'already_stored') result.alreadyStored += 1;
      if (action === 'deleted') result.deleted += 1;
      if (action === 'would_store') result.wouldStore += 1;
      if (action === 'would_delete') result.wouldDelete += 1;
    }
    if (item.actions.includes('failed') || item.actions.includes('conflict')) {
      result.failed += 1;
      result.failures.push(item);
    }
    if (options.dryRun) result.planned.push(item);
    options.onProgress?.(result);
  };

  const syncMessage = async (message: MessageResource) => {
    result.messages += 1;
    const messageSid = message.sid;
    const receivedAt = sentAt(message)!.getTime();
    const media: MediaResource[] = [];
    try {
      for await (const page of listPages<MediaResource>(
        options.get,
        mediaListPath(options.accountSid, messageSid, options.pageSize),
        'media_list',
      ))
        media.push(...page);
    } catch (err) {
      result.media += 1;
      report({ messageSid, actions: ['failed'], problem: `listing its media: ${(err as Error).message}` });
      return;
    }
    // a message whose media were all deleted (by the webhook, or an earlier run) lists none: nothing to do
    let recorded = new Map<string, string>();
    try {
      recorded = recordedSha256(
        await store.readText(messageRecordKey(options.accountSid, messageSid), { signal: stepSignal(options) }),
      );
    } catch {
      // unreadable now: each item is then checked against its own metadata or its download
    }
    const budget = new ByteBudget(MESSAGE_MEDIA_BYTES);
    const entries: SyncedItem[] = [];
    // one message's items one after another: the message record is then written once, by one writer
    for (const item of media) {
      result.media += 1;
      entries.push(await syncItem(options, message, item, recorded, budget, receivedAt));
    }
    const kept = entries.flatMap((e) => (e.kept ? [e.kept] : []));
    if (!options.dryRun && kept.length) {
      const params: Partial<Record<MessageField, string>> = { From: message.from, To: message.to };
      if (message.body) params.Body = message.body;
      const record = await recordMessage({
        store,
        accountSid: options.accountSid,
        messageSid,
        receivedAt,
        kept,
        params,
        fields: options.messageFields,
        signal: stepSignal(options),
        log,
      });
      if (record.outcome === 'failed') {
        // items kept but a record that does not list them: a failure of the run, never a silent exit 0
        report({
          messageSid,
          key: `${store.prefix}${messageRecordKey(options.accountSid, messageSid)}`,
          actions: ['failed'],
          problem: `message record: ${record.problem ?? 'not written'}`,
        });
      }
      // Twilio's copy goes only once the stored record lists the item (deleteTwilioMedia checks `listed`)
      if (options.delete)
        for (const entry of entries)
          if (entry.kept && entry.deleteUrl) await deleteItem(options, entry, record.listed, receivedAt);
    }
    for (const entry of entries) report(entry.report);
  };

  await pool(wantedMessages(options), Math.max(1, options.concurrency), syncMessage);
  return result;
}

/** One item after its keep: what to report, what was kept, and the media URL to delete when the run deletes. */
interface SyncedItem {
  report: ItemReport;
  kept?: KeptMedia;
  deleteUrl?: string;
}

/** Deletes Twilio's copy of a kept item once its record lists it; the report says `deleted`, or why not. */
async function deleteItem(
  options: SyncOptions,
  entry: SyncedItem,
  listed: ReadonlySet<string>,
  receivedAt: number,
): Promise<void> {
  let problem = 'Twilio did not delete it';
  const deleted = await deleteTwilioMedia({
    kept: entry.kept!,
    listed,
    mediaUrl: entry.deleteUrl!,
    auth: options.auth,
    allowedHosts: options.allowedHosts,
    prefix: options.store.prefix,
    receivedAt,
    timeoutMs: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    // the routine logs why a delete failed; the summary names it too
    log: (record) => {
      if (record.outcome === 'delete_failed' && typeof record.problem === 'string') problem = record.problem;
      options.log(record);
    },
  });
  if (deleted === 'deleted') entry.report.actions.push('deleted');
  else {
    entry.report.actions.push('failed');
    entry.report.problem = `delete: ${problem}`;
  }
}

async function syncItem(
  options: SyncOptions,
  message: MessageResource,
  item: MediaResource,
  recorded: Map<string, string>,
  budget: ByteBudget,
  receivedAt: number,
): Promise<SyncedItem> {
  const { store, log } = options;
  const messageSid = message.sid;
  const url = mediaContentUrl(options.apiBase, item);
  const named = mediaKeyOf(options.accountSid, messageSid, url, item.content_type);
  if ('problem' in named)
    return { report: { messageSid, mediaSid: clip(item.sid), actions: ['failed'], problem: named.problem } };
  const { key, mediaSid } = named;
  const fullKey = `${store.prefix}${key}`;
  const base = { messageSid, mediaSid, key: fullKey };

  let kept: KeptMedia | undefined;
  let stored: StoredObject | undefined;
  try {
    stored = await store.inspect(key, { signal: stepSignal(options) });
  } catch (err) {
    return { report: { ...base, actions: ['failed'], problem: `reading the store: ${(err as Error).message}` } };
  }
  const actions: ItemAction[] = [];
  // Skipping the download rests on the store agreeing with itself. Before Twilio's copy is deleted, the stored
  // bytes are compared with Twilio's own (downloaded again, judged by keepMediaItem): the only copy left must be
  // the one Twilio had, not merely a consistent object under the same key.
  const skipDownload = stored && verifiedInStore(stored, recorded.get(mediaSid)) && (!options.delete || options.dryRun);
  if (skipDownload && stored) {
    kept = {
      outcome: 'already_stored',
      accountSid: options.accountSid,
      messageSid,
      mediaSid,
      // Media.json names no MediaUrlN number: the item's index stays unknown rather than its place in the list
      index: undefined,
      key,
      bytes: stored.bytes,
      sha256: stored.sha256,
      contentType: stored.contentType ?? item.content_type,
      verified: true,
    };
    actions.push('already_stored');
  } else if (options.dryRun) {
    // an object without a checksum to hold it to is checked against the download in a real run
    actions.push('would_store');
    if (options.delete) actions.push('would_delete');
    return { report: { ...base, actions } };
  } else {
    const outcome: FetchOutcome = await fetchMedia({
      url,
      auth: options.auth,
      allowedHosts: options.allowedHosts,
      redirectAllowedHosts: options.redirectAllowedHosts,
      deadlineAt: Date.now() + (options.downloadTimeoutMs ?? 60_000),
      attemptTimeoutMs: options.downloadTimeoutMs ?? 60_000,
      budget,
      log,
      logContext: { source: 'media_sync', messageSid, mediaSid },
      receivedAt,
    });
    if (!outcome.ok) return { report: { ...base, actions: ['failed'], problem: `download: ${outcome.reason}` } };
    kept = await keepMediaItem({
      store,
      accountSid: options.accountSid,
      messageSid,
      index: undefined,
      mediaUrl: url,
      contentType: outcome.contentType,
      body: outcome.body,
      receivedAt,
      signal: stepSignal(options),
      log,
    });
    if (kept.outcome === 'stored' || kept.outcome === 'already_stored') actions.push(kept.outcome);
    else {
      return {
        report: {
          ...base,
          key: kept.key ? `${store.prefix}${kept.key}` : fullKey,
          actions: [kept.outcome === 'conflict' ? 'conflict' : 'failed'],
          problem: `${kept.outcome === 'conflict' ? 'conflict' : 'store'}: ${kept.problem ?? kept.outcome}`,
        },
      };
    }
  }
  if (options.dryRun) {
    if (options.delete && kept.verified) actions.push('would_delete');
    return { report: { ...base, actions } };
  }
  return { report: { ...base, actions }, kept, ...(options.delete && kept.verified ? { deleteUrl: url } : {}) };
}
