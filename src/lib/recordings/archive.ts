import { fetchMedia, FetchOutcome } from '../fetch/media-fetcher';
import { fetchSettingsFrom } from '../fetch/settings';
import { requireCredentials } from '../settings';
import type { LogRecord } from '../log';
import { twilioClientFrom } from './client';
import { ObjectStore, sha256Of } from '../storage/store';
import { metadataExpiry, RecordingLike, recordingMediaUrl, summarize, TwilioEnv, wavDeclaredBytes } from './model';

export const INDEX_NAME = 'index.jsonl';
export const LEDGER_NAME = 'purge-ledger.jsonl';

/** What the archiver and purger need from Twilio; twilioRecordingSource gives the real one. */
export interface RecordingSource {
  list(range: DateRange): Promise<RecordingLike[]>;
  download(recording: RecordingLike): Promise<FetchOutcome>;
  /** deletes the recording; 'already-gone' when Twilio answers 404 */
  remove(sid: string): Promise<'deleted' | 'already-gone'>;
}

/** recordings created at or after since and at or before until */
export interface DateRange {
  since?: Date;
  until?: Date;
}

export function twilioRecordingSource(
  env: TwilioEnv & { MEDIA_ALLOWED_HOSTS?: string },
  log: (r: LogRecord) => void,
  options: { downloadDeadlineMs?: number } = {},
): RecordingSource {
  const client = twilioClientFrom(env);
  const { accountSid, username, password } = requireCredentials(env);
  // the same allowlist as the Functions: the API, and for its redirects Twilio's media storage
  const { allowedHosts, redirectAllowedHosts } = fetchSettingsFrom({ MEDIA_ALLOWED_HOSTS: env.MEDIA_ALLOWED_HOSTS });
  const deadlineMs = options.downloadDeadlineMs ?? 120_000;
  return {
    // twilio-node pages through next_page_uri by itself; the API filters on DateCreated, and the bounds are
    // applied again here so both ends are inclusive whatever the API's rounding
    list: async (range) =>
      (
        await client.recordings.list({ dateCreatedAfter: range.since, dateCreatedBefore: range.until, pageSize: 1000 })
      ).filter((r) => (!range.since || r.dateCreated >= range.since) && (!range.until || r.dateCreated <= range.until)),
    download: (recording) =>
      fetchMedia({
        url: recordingMediaUrl(env, accountSid, recording.sid),
        auth: { username, password },
        allowedHosts,
        redirectAllowedHosts,
        // a recording right after its callback can answer 404 for a moment, like MMS media; a long recording
        // is a large file, so one attempt may use the whole deadline
        deadlineAt: Date.now() + deadlineMs,
        attemptTimeoutMs: deadlineMs,
        log,
        logContext: { source: 'recording_archive', recordingSid: recording.sid },
      }),
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

export interface IndexEntry {
  sid: string;
  key: string;
  bytes: number;
  sha256: string;
  archivedAt: string;
  callSid?: string;
  dateCreated: string;
  durationSeconds: number | null;
}

export interface LedgerEntry {
  sid: string;
  key: string;
  sha256: string;
  deletedAt: string;
  metadataExpiresAt: string;
  note?: string;
}

/** JSON-lines documents; the last line for a SID wins, so a re-run never duplicates an entry. */
export function parseJsonLines<T extends { sid: string }>(text: string): Map<string, T> {
  const map = new Map<string, T>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as T;
      if (entry && typeof entry.sid === 'string') map.set(entry.sid, entry);
    } catch {
      // a torn last line from an interrupted write is ignored; its recording is simply done again
    }
  }
  return map;
}

function toJsonLines(entries: Iterable<object>): string {
  return [...entries].map((e) => JSON.stringify(e)).join('\n') + '\n';
}

export function archiveKey(recording: RecordingLike): string {
  const d = recording.dateCreated;
  return `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${recording.sid}.wav`;
}

/**
 * A WAV download is complete when its RIFF header's size matches the bytes received: a connection cut
 * mid-body without a Content-Length would otherwise look like a short but valid file.
 */
export function wavComplete(body: Buffer): boolean {
  return wavDeclaredBytes(body) === body.length;
}

/** What archive and purge both work on: the recordings in a range, from Twilio to one destination. */
export interface ArchiveRunOptions {
  source: RecordingSource;
  destination: ObjectStore;
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

/**
 * Downloads every completed recording held by Twilio in the range, stores it, reads it back and compares the
 * sha256, and only then records it in the index. Re-running resumes: verified entries are skipped, anything
 * missing or unverified is done again, and the index keeps one line per recording.
 */
export async function archiveRecordings(options: ArchiveRunOptions): Promise<ArchiveResult> {
  const { source, destination, log } = options;
  const now = options.now ?? (() => new Date());
  const index = parseJsonLines<IndexEntry>(await destination.readText(INDEX_NAME));
  const result: ArchiveResult = { archived: [], alreadyArchived: [], skipped: [], failed: [] };
  for (const recording of await source.list(options.range)) {
    const summary = summarize(recording);
    if (summary.mediaLocation !== 'twilio') {
      const reason = {
        deleted: 'deleted at Twilio: metadata only',
        external: `audio is in your External Storage (${summary.mediaHost})`,
        none: `no audio (status ${recording.status})`,
        pending: `not complete yet (status ${recording.status})`,
        twilio: '',
      }[summary.mediaLocation];
      result.skipped.push({ sid: recording.sid, reason });
      continue;
    }
    const key = archiveKey(recording);
    const known = index.get(recording.sid);
    if (known) {
      const stored = await destination.inspect(known.key);
      if (stored && stored.sha256 === known.sha256 && stored.bytes === known.bytes) {
        result.alreadyArchived.push(recording.sid);
        continue;
      }
      log({
        level: 'warn',
        event: 'archive_reverify_failed',
        recordingSid: recording.sid,
        key: known.key,
        problem: stored ? 'stored copy differs from the index' : 'stored copy is missing',
      });
    }
    const outcome = await source.download(recording);
    if (!outcome.ok) {
      result.failed.push({ sid: recording.sid, reason: `download: ${outcome.reason}` });
      continue;
    }
    if (!wavComplete(outcome.body)) {
      result.failed.push({ sid: recording.sid, reason: `download: incomplete WAV (${outcome.body.length} bytes)` });
      continue;
    }
    const sha256 = sha256Of(outcome.body);
    try {
      await destination.put(key, outcome.body, { contentType: 'audio/wav' });
      const stored = await destination.inspect(key);
      if (!stored || stored.sha256 !== sha256 || stored.bytes !== outcome.body.length) {
        result.failed.push({
          sid: recording.sid,
          reason: `verification: the stored copy at ${key} does not match the download`,
        });
        continue;
      }
      index.set(recording.sid, {
        sid: recording.sid,
        key,
        bytes: stored.bytes,
        sha256,
        archivedAt: now().toISOString(),
        ...(summary.callSid ? { callSid: summary.callSid } : {}),
        dateCreated: summary.dateCreated,
        durationSeconds: summary.durationSeconds,
      });
      // written after each recording, so an interrupted run loses at most the one in flight
      await destination.writeText(INDEX_NAME, toJsonLines(index.values()));
      result.archived.push(recording.sid);
      log({
        level: 'info',
        event: 'recording_archived',
        recordingSid: recording.sid,
        key,
        bytes: stored.bytes,
        sha256,
      });
    } catch (err) {
      // the index in memory must say what the index on the destination says, or a later write would list it
      if (known) index.set(recording.sid, known);
      else index.delete(recording.sid);
      result.failed.push({ sid: recording.sid, reason: `store: ${(err as Error).message}` });
    }
  }
  return result;
}

export interface PurgeResult {
  dryRun: boolean;
  deleted: string[];
  wouldDelete: string[];
  refused: { sid: string; reason: string }[];
  ledgerAdded: string[];
}

/**
 * Deletes from Twilio only recordings whose archived copy is verified now (read back and hashed against the
 * index), and writes each deletion to the ledger with the date Twilio purges the metadata. Dry run unless
 * `yes`. Re-running resumes: a recording found already deleted but missing from the ledger is added to it.
 */
export async function purgeRecordings(options: ArchiveRunOptions & { yes: boolean }): Promise<PurgeResult> {
  const { source, destination, log } = options;
  const now = options.now ?? (() => new Date());
  const index = parseJsonLines<IndexEntry>(await destination.readText(INDEX_NAME));
  const ledger = parseJsonLines<LedgerEntry>(await destination.readText(LEDGER_NAME));
  const result: PurgeResult = { dryRun: !options.yes, deleted: [], wouldDelete: [], refused: [], ledgerAdded: [] };
  const record = async (sid: string, archived: IndexEntry, deletedAt: Date, note?: string) => {
    ledger.set(sid, {
      sid,
      key: archived.key,
      sha256: archived.sha256,
      deletedAt: deletedAt.toISOString(),
      metadataExpiresAt: metadataExpiry(deletedAt),
      ...(note ? { note } : {}),
    });
    await destination.writeText(LEDGER_NAME, toJsonLines(ledger.values()));
    result.ledgerAdded.push(sid);
  };
  for (const recording of await source.list(options.range)) {
    const archived = index.get(recording.sid);
    if (recording.status === 'deleted') {
      if (archived && !ledger.has(recording.sid) && options.yes) {
        await record(
          recording.sid,
          archived,
          recording.dateUpdated ?? now(),
          'found already deleted (an earlier run was interrupted after deleting)',
        );
      }
      continue;
    }
    if (summarize(recording).mediaLocation !== 'twilio') continue;
    if (!archived) {
      result.refused.push({ sid: recording.sid, reason: 'not archived' });
      continue;
    }
    const stored = await destination.inspect(archived.key);
    if (!stored) {
      result.refused.push({
        sid: recording.sid,
        reason: `archived copy ${archived.key} is missing from ${destination.description}`,
      });
      continue;
    }
    if (stored.sha256 !== archived.sha256 || stored.bytes !== archived.bytes) {
      result.refused.push({ sid: recording.sid, reason: `archived copy ${archived.key} does not match its checksum` });
      continue;
    }
    if (!options.yes) {
      result.wouldDelete.push(recording.sid);
      continue;
    }
    const outcome = await source.remove(recording.sid);
    result.deleted.push(recording.sid);
    await record(
      recording.sid,
      archived,
      now(),
      outcome === 'already-gone' ? 'Twilio answered 404: already deleted' : undefined,
    );
    log({ level: 'info', event: 'recording_deleted', recordingSid: recording.sid, key: archived.key });
  }
  return result;
}
