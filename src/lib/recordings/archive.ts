import type { FetchMediaOptions } from '../fetch/media-fetcher';
import { fetchSettingsFrom } from '../fetch/settings';
import { requireCredentials } from '../settings';
import type { LogRecord } from '../log';
import type { ObjectStore } from '../storage/store';
import { twilioClientFrom } from './client';
import { keepRecording, writeRecord } from '../keep/recording';
import { recordingMediaUrl, RecordingLike, summarize, TwilioEnv } from './model';
import {
  markDeleted,
  parseRecordingRecord,
  RecordingFormat,
  RecordingRecord,
  recordingRecordKey,
  recordMismatch,
} from '../keep/recording-record';

/**
 * The catch-up of what the status callback could not keep, into the same store with the same keys and records
 * (src/lib/keep/recording.ts), and the deletion from Twilio of what verifies there. Both resumable and idempotent:
 * a kept recording is skipped (its copy verified again), a deleted one is noted in its record.
 */

/** What the archiver and purger need from Twilio; twilioRecordingSource gives the real one. */
export interface RecordingSource {
  accountSid: string;
  list(range: DateRange): Promise<RecordingLike[]>;
  /** the recording's URL without extension, as RecordingUrl gives it */
  mediaUrlOf(sid: string): string;
  /** credentials and allowlists for the fetch (the same as the Functions') */
  fetch: Pick<FetchMediaOptions, 'auth' | 'allowedHosts' | 'redirectAllowedHosts'>;
  /** deletes the recording; 'already-gone' when Twilio answers 404 */
  remove(sid: string): Promise<'deleted' | 'already-gone'>;
}

/** recordings created at or after since and at or before until */
export interface DateRange {
  since?: Date;
  until?: Date;
}

export function twilioRecordingSource(env: TwilioEnv & { MEDIA_ALLOWED_HOSTS?: string }): RecordingSource {
  const client = twilioClientFrom(env);
  const { accountSid, username, password } = requireCredentials(env);
  // the same allowlist as the Functions: the API, and for its redirects Twilio's media storage
  const { allowedHosts, redirectAllowedHosts } = fetchSettingsFrom({ MEDIA_ALLOWED_HOSTS: env.MEDIA_ALLOWED_HOSTS });
  return {
    accountSid,
    // twilio-node pages through next_page_uri by itself; the API filters on DateCreated, and the bounds are
    // applied again here so both ends are inclusive whatever the API's rounding
    list: async (range) =>
      (
        await client.recordings.list({ dateCreatedAfter: range.since, dateCreatedBefore: range.until, pageSize: 1000 })
      ).filter((r) => (!range.since || r.dateCreated >= range.since) && (!range.until || r.dateCreated <= range.until)),
    mediaUrlOf: (sid) => recordingMediaUrl(env, accountSid, sid).replace(/\.wav$/, ''),
    fetch: { auth: { username, password }, allowedHosts, redirectAllowedHosts },
    remove: async (sid) => {
      try {
        await client.recordings(sid).remove();
        return 'deleted';
      } catch (err) {
        if ((err as { status?: number }).status === 404) return 'already-gone';
        throw err;
      }
    },
  };
}

/** The record of a recording in the store, when there is one that belongs to it. */
export async function recordOf(
  store: ObjectStore,
  accountSid: string,
  sid: string,
  signal?: AbortSignal,
): Promise<RecordingRecord | undefined> {
  return parseRecordingRecord(await store.readText(recordingRecordKey(accountSid, sid), signal ? { signal } : {}));
}

/** Bound on noting a deletion in a record: a store that never answers fails the run by name. */
const RECORD_WRITE_TIMEOUT_MS = 30_000;

/**
 * The default of `--timeout`: the time allowed per download (archive), and per read from the store (a record, or a
 * kept copy read back and hashed, which may be a long recording), so a store that never answers fails that
 * recording by name, and the run goes on.
 */
export const STORE_READ_TIMEOUT_MS = 120_000;

/** What archive and purge both work on: the recordings in a range, from Twilio to the store. */
export interface ArchiveRunOptions {
  source: RecordingSource;
  store: ObjectStore;
  range: DateRange;
  log: (r: LogRecord) => void;
  now?: () => Date;
}

export interface ArchiveResult {
  archived: string[];
  alreadyArchived: string[];
  skipped: { sid: string; reason: string }[];
  failed: { sid: string; reason: string }[];
}

const NOT_AT_TWILIO = {
  deleted: 'deleted at Twilio: metadata only',
  none: 'no audio',
  pending: 'not complete yet',
  twilio: '',
} as const;

/**
 * Keeps every completed recording held by Twilio in the range that the store does not hold verified, through the
 * callback's own keep routine (same key, same record; keptBy "archive"). Nothing is deleted here.
 */
export async function archiveRecordings(
  options: ArchiveRunOptions & { format: RecordingFormat; timeoutMs: number },
): Promise<ArchiveResult> {
  const { source, store, log } = options;
  const result: ArchiveResult = { archived: [], alreadyArchived: [], skipped: [], failed: [] };
  for (const recording of await source.list(options.range)) {
    const summary = summarize(recording);
    if (summary.mediaLocation !== 'twilio') {
      result.skipped.push({
        sid: recording.sid,
        reason:
          summary.mediaLocation === 'external'
            ? `audio is in your External Storage (${summary.mediaHost})`
            : `${NOT_AT_TWILIO[summary.mediaLocation]} (status ${recording.status})`,
      });
      continue;
    }
    const started = Date.now();
    const duration = Number(recording.duration);
    const kept = await keepRecording({
      store,
      settings: { format: options.format, deleteAfterStore: false },
      recording: {
        accountSid: source.accountSid,
        callSid: recording.callSid ?? '',
        recordingSid: recording.sid,
        mediaUrl: source.mediaUrlOf(recording.sid),
        startTime: recording.dateCreated.toISOString(),
        ...(Number.isFinite(duration) && duration >= 0 ? { durationSeconds: duration } : {}),
        ...(recording.channels ? { channels: recording.channels } : {}),
        ...(recording.source ? { source: recording.source } : {}),
      },
      fetch: { ...source.fetch, receivedAt: started },
      fetchDeadlineAt: started + options.timeoutMs,
      // the store's requests get the same time again after the download
      deadlineAt: started + 2 * options.timeoutMs,
      keptBy: 'archive',
      receivedAt: started,
      log,
      ...(options.now ? { now: options.now } : {}),
    });
    if (kept.outcome === 'stored') result.archived.push(recording.sid);
    else if (kept.outcome === 'already_stored') result.alreadyArchived.push(recording.sid);
    else result.failed.push({ sid: recording.sid, reason: `${kept.outcome}: ${kept.problem ?? 'not kept'}` });
  }
  return result;
}

export interface PurgeResult {
  dryRun: boolean;
  deleted: string[];
  wouldDelete: string[];
  refused: { sid: string; reason: string }[];
  /** recordings found deleted at Twilio whose record did not say so yet (an interrupted purge), now noted */
  noted: string[];
}

/**
 * Deletes from Twilio only recordings whose kept copy verifies now, and notes each deletion in the recording's
 * record (deletedAt, metadataPurgedAt = deletion + 40 days). Each record is tied to its recording before anything is
 * deleted: it must name this Recording SID, this account and the call Twilio names, and the object it verifies must
 * be the key the keep routine writes for those SIDs, so no record (copied, merged or edited by hand) can make the
 * purge delete one recording on the strength of another's copy. Dry run unless `yes`.
 */
export async function purgeRecordings(
  options: ArchiveRunOptions & { yes: boolean; timeoutMs?: number },
): Promise<PurgeResult> {
  const { source, store, log } = options;
  const now = options.now ?? (() => new Date());
  const readSignal = () => AbortSignal.timeout(options.timeoutMs ?? STORE_READ_TIMEOUT_MS);
  const result: PurgeResult = { dryRun: !options.yes, deleted: [], wouldDelete: [], refused: [], noted: [] };
  const note = async (record: RecordingRecord, deletedAt: Date) => {
    const noted = await writeRecord(
      store,
      recordingRecordKey(record.accountSid, record.recordingSid),
      AbortSignal.timeout(RECORD_WRITE_TIMEOUT_MS),
      (current) => markDeleted(current ?? record, deletedAt),
    );
    // the run stops here: the next one finds the recording deleted and notes it
    if (typeof noted === 'string') throw new Error(`${record.recordingSid} deleted at Twilio, but ${noted}`);
  };
  for (const recording of await source.list(options.range)) {
    let found: RecordingRecord | undefined;
    try {
      found = await recordOf(store, source.accountSid, recording.sid, readSignal());
    } catch (err) {
      result.refused.push({ sid: recording.sid, reason: `its record could not be read: ${(err as Error).message}` });
      continue;
    }
    const mismatch =
      found &&
      recordMismatch(found, { accountSid: source.accountSid, recordingSid: recording.sid, callSid: recording.callSid });
    const record = found && !mismatch ? found : undefined;
    if (recording.status === 'deleted') {
      if (record && !record.deletedAt && options.yes) {
        await note(record, recording.dateUpdated ?? now());
        result.noted.push(recording.sid);
      }
      continue;
    }
    if (summarize(recording).mediaLocation !== 'twilio') continue;
    if (!record) {
      result.refused.push({ sid: recording.sid, reason: mismatch ? `not kept: ${mismatch}` : 'not kept' });
      continue;
    }
    let stored: Awaited<ReturnType<ObjectStore['inspect']>>;
    try {
      stored = await store.inspect(record.key, { signal: readSignal() });
    } catch (err) {
      result.refused.push({
        sid: recording.sid,
        reason: `kept copy ${record.key} could not be read back: ${(err as Error).message}`,
      });
      continue;
    }
    if (!stored) {
      result.refused.push({
        sid: recording.sid,
        reason: `kept copy ${record.key} is missing from ${store.description}`,
      });
      continue;
    }
    if (stored.sha256 !== record.sha256 || stored.bytes !== record.bytes) {
      result.refused.push({ sid: recording.sid, reason: `kept copy ${record.key} does not match its record` });
      continue;
    }
    if (!options.yes) {
      result.wouldDelete.push(recording.sid);
      continue;
    }
    const outcome = await source.remove(recording.sid);
    result.deleted.push(recording.sid);
    await note(record, now());
    log({
      level: 'info',
      event: 'recording_store',
      outcome: 'deleted',
      recordingSid: recording.sid,
      callSid: record.callSid,
      key: `${store.prefix}${record.key}`,
      keptBy: 'archive',
      ...(outcome === 'already-gone' ? { problem: 'Twilio answered 404: already deleted' } : {}),
    });
  }
  return result;
}
