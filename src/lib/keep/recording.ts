import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fetchMedia, FetchMediaOptions } from '../fetch/media-fetcher';
import { deleteTwilioCopy, DeleteOutcome, keepObject, KeepOutcome, OUTCOME_LEVEL } from './object';
import { SID } from '../sid';
import { clip, isoWithOffset, LogRecord } from '../log';
import type { ConditionalTextStore, ObjectStore } from '../storage/store';
import { wavDeclaredBytes } from '../media/wav';
import {
  CONTENT_TYPE,
  KeptBy,
  markDeleted,
  parseRecordingRecord,
  recordingAudioKey,
  RecordingRecord,
  recordingRecordKey,
  RecordingsSettings,
  recordMismatch,
} from './recording-record';

/**
 * Keeping one recording: fetch (through the shared fetcher: allowlist, Basic auth, the 404 retries), store
 * (spooled to a file as it downloads, then one atomic PUT whose sha256 the store checks), verify (read back and
 * hashed), record (the JSON record, read back), and only then, when configured, delete Twilio's copy and note it in
 * the record. The status callback and `npm run recordings -- archive` both call this; each step logs one
 * `recording_store` line (the shape media:report counts), with the outcomes of inbound media.
 *
 * Why spool to a file: S3 checks a PUT's sha256 only when the request says it up front (the signed
 * x-amz-content-sha256, x-amz-checksum-sha256), and a stream's hash is known only at its end. A trailing checksum
 * (aws-chunked encoding with x-amz-trailer) is not something aws4fetch or s3rver speak, and a multipart upload would
 * need per-part checksums, a completion call and an abort on every failure path to guarantee "no partial object".
 * Spooling to the Function's temporary disk keeps memory flat whatever the length (the file is written as the bytes
 * come, with backpressure), knows the hash before the PUT starts, and leaves the store one atomic PUT: the key holds
 * the whole object or nothing. A deployed Function may write under os.tmpdir() (/tmp), cleared between invocations
 * (twilio-labs/function-templates PR #33, whose pdf-email Function writes its file there); its size is not
 * documented, and a spool that cannot be written is a failed attempt like any other (store_failed, caught up later).
 */

export interface RecordingToKeep {
  accountSid: string;
  callSid: string;
  recordingSid: string;
  /** the recording's URL without extension (RecordingUrl; the Recording resource's URI without .json) */
  mediaUrl: string;
  startTime?: string;
  durationSeconds?: number;
  channels?: number;
  source?: string;
  track?: string;
}

export interface KeepRecordingInput {
  store: ObjectStore;
  settings: Pick<RecordingsSettings, 'format' | 'deleteAfterStore'>;
  recording: RecordingToKeep;
  fetch: Pick<FetchMediaOptions, 'auth' | 'allowedHosts' | 'redirectAllowedHosts' | 'debug' | 'receivedAt'>;
  /** epoch ms by which the download must have ended */
  fetchDeadlineAt: number;
  /** epoch ms by which everything (store, verify, record, delete) must have ended */
  deadlineAt: number;
  keptBy: KeptBy;
  /** when the callback arrived, or when the command started (epoch ms), for the log */
  receivedAt: number;
  log: (record: LogRecord) => void;
  now?: () => Date;
}

export interface KeptRecording {
  outcome: KeepOutcome;
  deleted?: DeleteOutcome;
  key?: string;
  record?: RecordingRecord;
  problem?: string;
}

/** A Twilio date (RFC 2822) or ISO text as ISO 8601, or undefined when it is neither. */
export function isoDate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

export async function keepRecording(input: KeepRecordingInput): Promise<KeptRecording> {
  const { store, recording, settings, log } = input;
  const now = input.now ?? (() => new Date());
  const format = settings.format;
  const line = (
    outcome: KeepOutcome | DeleteOutcome,
    fields: { key?: string; bytes?: number; sha256?: string; status?: number; problem?: string },
  ) =>
    log({
      level: OUTCOME_LEVEL[outcome],
      event: 'recording_store',
      outcome,
      recordingSid: clip(recording.recordingSid),
      callSid: clip(recording.callSid),
      ...(fields.key ? { key: `${store.prefix}${fields.key}` } : {}),
      ...(fields.bytes !== undefined ? { bytes: fields.bytes } : {}),
      ...(fields.sha256 ? { sha256: fields.sha256 } : {}),
      ...(fields.status !== undefined ? { status: fields.status } : {}),
      ...(fields.problem ? { problem: fields.problem } : {}),
      keptBy: input.keptBy,
      webhookReceivedAt: isoWithOffset(input.receivedAt),
    });
  const failed = (problem: string, key?: string): KeptRecording => {
    line('store_failed', { key, problem });
    return { outcome: 'store_failed', problem, ...(key ? { key } : {}) };
  };
  for (const [name, sid, pattern] of [
    ['AccountSid', recording.accountSid, SID.AC],
    ['CallSid', recording.callSid, SID.CA],
    ['RecordingSid', recording.recordingSid, SID.RE],
  ] as const) {
    if (!pattern.test(sid)) return failed(`${name} "${clip(sid)}" is not a ${name.slice(0, -3)} SID; nothing stored`);
  }
  const key = recordingAudioKey(recording.accountSid, recording.callSid, recording.recordingSid, format);
  const recordKey = recordingRecordKey(recording.accountSid, recording.recordingSid);
  const signal = AbortSignal.timeout(Math.max(1, input.deadlineAt - Date.now()));
  let spoolDir: string | undefined;
  try {
    let record: RecordingRecord | undefined;
    let outcome: KeepOutcome;
    const existing = parseRecordingRecord(await store.readText(recordKey, { signal }));
    const usable = existing && !recordMismatch(existing, recording) ? existing : undefined;
    const stored = usable ? await store.inspect(usable.key, { signal }) : undefined;
    if (usable && stored && stored.bytes === usable.bytes && stored.sha256 === usable.sha256) {
      // a redelivered callback, or a recording the callback kept before the archive ran: nothing fetched or stored
      record = usable;
      outcome = 'already_stored';
      line(outcome, { key: usable.key, bytes: usable.bytes, sha256: usable.sha256 });
    } else {
      spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-recording-'));
      const query = recording.channels === 2 ? '?RequestedChannels=2' : '';
      const fetched = await fetchMedia({
        ...input.fetch,
        // dual-channel recordings stay dual-channel: Twilio's download is mono unless RequestedChannels=2 is asked
        // (Twilio changelog "Dual-Channel Conference Recordings as default is now GA", 2025-09-15)
        url: `${recording.mediaUrl}.${format}${query}`,
        spoolTo: path.join(spoolDir, `${recording.recordingSid}.${format}`),
        deadlineAt: input.fetchDeadlineAt,
        // a recording is a large file: one attempt may use all the time left (a 404 still answers at once)
        attemptTimeoutMs: Math.max(1, input.fetchDeadlineAt - Date.now()),
        log,
        logContext: { source: 'recording', recordingSid: recording.recordingSid, callSid: recording.callSid },
      });
      if (!fetched.ok || !fetched.spooled)
        return failed(`the audio could not be fetched: ${fetched.ok ? 'no body' : fetched.reason}`, key);
      const spooled = fetched.spooled;
      if (format === 'wav') {
        // a WAV is whole when its RIFF header's size matches the bytes received
        const head = Buffer.alloc(12);
        const fd = fs.openSync(spooled.file, 'r');
        try {
          fs.readSync(fd, head, 0, 12, 0);
        } finally {
          fs.closeSync(fd);
        }
        const declared = wavDeclaredBytes(head);
        if (declared !== spooled.bytes)
          return failed(
            declared === undefined
              ? 'the audio is not a WAV file; nothing stored'
              : `the WAV header says ${declared} bytes, ${spooled.bytes} came; nothing stored`,
            key,
          );
      }
      const kept = await keepObject({
        store,
        key,
        body: spooled,
        contentType: CONTENT_TYPE[format],
        signal,
        metadata: {
          'account-sid': recording.accountSid,
          'call-sid': recording.callSid,
          'recording-sid': recording.recordingSid,
        },
      });
      line(kept.outcome, { key, bytes: kept.bytes, sha256: kept.sha256, status: kept.status, problem: kept.problem });
      if (!kept.verified) return { outcome: kept.outcome, key, ...(kept.problem ? { problem: kept.problem } : {}) };
      outcome = kept.outcome;
      record = {
        schema: 1,
        accountSid: recording.accountSid,
        recordingSid: recording.recordingSid,
        callSid: recording.callSid,
        key,
        format,
        contentType: CONTENT_TYPE[format],
        bytes: spooled.bytes,
        sha256: spooled.sha256,
        ...(recording.startTime ? { startTime: recording.startTime } : {}),
        ...(recording.durationSeconds !== undefined ? { durationSeconds: recording.durationSeconds } : {}),
        ...(recording.channels !== undefined ? { channels: recording.channels } : {}),
        ...(recording.source ? { source: recording.source } : {}),
        ...(recording.track ? { track: recording.track } : {}),
        keptAt: now().toISOString(),
        keptBy: input.keptBy,
      };
      const fresh = record;
      // another writer's record of this very object (a redelivery racing this one) is kept as it is
      const written = await writeRecord(store, recordKey, signal, (current) =>
        current && current.key === fresh.key && current.sha256 === fresh.sha256 ? current : fresh,
      );
      if (typeof written === 'string') return failed(written, key);
      record = written;
    }
    if (!settings.deleteAfterStore || record.deletedAt) return { outcome, key, record };
    // the copy verifies and its record is written (or was, and the copy verified again just now): Twilio's may go
    const deleted = await deleteTwilioCopy({
      url: `${recording.mediaUrl}.json`,
      auth: input.fetch.auth,
      allowedHosts: input.fetch.allowedHosts,
      signal,
      what: 'the recording',
    });
    if (deleted.outcome === 'delete_failed') {
      line('delete_failed', { key, status: deleted.status, problem: deleted.problem });
      return { outcome, deleted: 'delete_failed', key, record };
    }
    const kept = record;
    const deletedAt = now();
    const noted = await writeRecord(store, recordKey, signal, (current) => markDeleted(current ?? kept, deletedAt));
    line('deleted', {
      key,
      status: deleted.status,
      ...(typeof noted === 'string' ? { problem: `deleted at Twilio; the record could not note it: ${noted}` } : {}),
    });
    return {
      outcome,
      deleted: 'deleted',
      key,
      record: typeof noted === 'string' ? markDeleted(kept, deletedAt) : noted,
    };
  } catch (err) {
    return failed(clip((err as Error).message, 300), key);
  } finally {
    if (spoolDir) fs.rmSync(spoolDir, { recursive: true, force: true });
  }
}

/** How many times a record write meets another writer's before it gives up. */
const RECORD_ATTEMPTS = 3;

/**
 * Writes the record `next` makes of the one stored (none: undefined), and reads it back: the written record, or why
 * there is none. On a store with conditional writes (both of ours) it is a compare-and-swap on the version read, as
 * the message record's (src/lib/keep/media.ts): a writer that lost the race reads the winner's record and decides
 * again; on any other store, a plain write.
 */
export async function writeRecord(
  store: ObjectStore,
  recordKey: string,
  signal: AbortSignal,
  next: (current: RecordingRecord | undefined) => RecordingRecord,
): Promise<RecordingRecord | string> {
  const conditional = 'writeTextIf' in store ? (store as ObjectStore & ConditionalTextStore) : undefined;
  try {
    for (let attempt = 1; attempt <= RECORD_ATTEMPTS; attempt += 1) {
      let record: RecordingRecord;
      if (conditional) {
        const { text, version } = await conditional.readVersioned(recordKey, { signal });
        const current = parseRecordingRecord(text);
        record = next(current);
        if (current !== record) {
          const written = await conditional.writeTextIf(recordKey, `${JSON.stringify(record, null, 2)}\n`, version, {
            signal,
          });
          if (written === 'changed') continue;
        }
      } else {
        record = next(parseRecordingRecord(await store.readText(recordKey, { signal })));
        await store.writeText(recordKey, `${JSON.stringify(record, null, 2)}\n`, { signal });
      }
      const back = parseRecordingRecord(await store.readText(recordKey, { signal }));
      if (!back || back.sha256 !== record.sha256 || back.key !== record.key || back.deletedAt !== record.deletedAt)
        return 'the record read back differs from the one written';
      return back;
    }
    return `the record changed under each of ${RECORD_ATTEMPTS} conditional writes`;
  } catch (err) {
    return `the record could not be written: ${clip((err as Error).message, 300)}`;
  }
}
