import { booleanSetting, ServiceEnv, SettingsError, wholeNumber } from '../settings';

/**
 * What the project keeps of one recording, beside its audio in the media store: the keys, the record that outlives
 * Twilio's metadata, and the recordings' own settings. The status callback and `npm run recordings -- archive` write
 * the same keys and the same record; the url_provider and `purge` read them.
 */

/** Twilio keeps a deleted recording's metadata (not its audio) for 40 days. */
export const METADATA_RETENTION_DAYS = 40;
const DAY_MS = 86_400_000;

/** When Twilio purges the metadata of a recording deleted at deletedAt. */
export function metadataExpiry(deletedAt: Date): string {
  return new Date(deletedAt.getTime() + METADATA_RETENTION_DAYS * DAY_MS).toISOString();
}

export type RecordingFormat = 'wav' | 'mp3';

export const CONTENT_TYPE: Record<RecordingFormat, string> = { wav: 'audio/wav', mp3: 'audio/mpeg' };

/** Who kept the copy: the status callback (src/functions/recordings/status) or the catch-up command. */
export type KeptBy = 'callback' | 'archive';

/**
 * `PREFIX/AccountSid/recordings/RecordingSid.json` (the prefix is the store's): the record of one kept recording,
 * addressed by the Recording SID alone, since that is all the url_provider (`?recording=RE...`) and the Recording
 * resource's list give. The audio it names sits under the call: `AccountSid/CallSid/RecordingSid.wav`.
 */
export interface RecordingRecord {
  schema: 1;
  accountSid: string;
  recordingSid: string;
  callSid: string;
  /** the audio's key inside the store (without the store's prefix) */
  key: string;
  format: RecordingFormat;
  contentType: string;
  bytes: number;
  sha256: string;
  /** RecordingStartTime (or the resource's start_time / date_created), ISO 8601 */
  startTime?: string;
  durationSeconds?: number;
  /** 1 or 2: dual-channel recordings stay dual-channel */
  channels?: number;
  /** RecordingSource: RecordVerb, DialVerb, StartCallRecordingAPI, Conference, ... */
  source?: string;
  /** RecordingTrack: inbound, outbound or both */
  track?: string;
  keptAt: string;
  keptBy: KeptBy;
  /** when Twilio's copy was deleted (RECORDINGS_DELETE_AFTER_STORE, or `purge --yes`) */
  deletedAt?: string;
  /** when Twilio purges the deleted recording's metadata: deletedAt + 40 days */
  metadataPurgedAt?: string;
}

export function recordingAudioKey(
  accountSid: string,
  callSid: string,
  recordingSid: string,
  format: RecordingFormat,
): string {
  return `${accountSid}/${callSid}/${recordingSid}.${format}`;
}

export function recordingRecordKey(accountSid: string, recordingSid: string): string {
  return `${accountSid}/recordings/${recordingSid}.json`;
}

/**
 * The reason a record cannot be trusted for this recording, or undefined when it is its own: the SIDs it names are
 * the recording's, and its audio key is the one the archive and the callback write for those SIDs. A record copied
 * or edited by hand to name another recording's object is refused (issue 26 item 12: purge must never delete B on
 * the strength of A's copy).
 */
export function recordMismatch(
  record: RecordingRecord,
  expected: { accountSid: string; recordingSid: string; callSid?: string | null },
): string | undefined {
  if (record.recordingSid !== expected.recordingSid)
    return `its record names recording ${String(record.recordingSid).slice(0, 40)}`;
  if (record.accountSid !== expected.accountSid)
    return `its record names account ${String(record.accountSid).slice(0, 40)}`;
  if (expected.callSid && record.callSid !== expected.callSid)
    return `its record names call ${String(record.callSid).slice(0, 40)}, Twilio says ${expected.callSid}`;
  if (record.format !== 'wav' && record.format !== 'mp3') return 'its record names no known format';
  const key = recordingAudioKey(record.accountSid, record.callSid, record.recordingSid, record.format);
  if (record.key !== key) return `its record names the object ${String(record.key).slice(0, 120)}, not ${key}`;
  return undefined;
}

/** A stored record, parsed; undefined when the text is not a record of this shape. */
export function parseRecordingRecord(text: string): RecordingRecord | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<RecordingRecord>;
    if (
      value &&
      value.schema === 1 &&
      typeof value.recordingSid === 'string' &&
      typeof value.accountSid === 'string' &&
      typeof value.callSid === 'string' &&
      typeof value.key === 'string' &&
      typeof value.sha256 === 'string' &&
      typeof value.bytes === 'number'
    )
      return value as RecordingRecord;
  } catch {
    // not JSON: treated as no record, and rewritten by the next keep
  }
  return undefined;
}

/** The record once Twilio's copy is deleted at deletedAt. */
export function markDeleted(record: RecordingRecord, deletedAt: Date): RecordingRecord {
  return { ...record, deletedAt: deletedAt.toISOString(), metadataPurgedAt: metadataExpiry(deletedAt) };
}

export type RecordingsEnv = Pick<
  ServiceEnv,
  'RECORDINGS_FORMAT' | 'RECORDINGS_DELETE_AFTER_STORE' | 'RECORDINGS_LINK_SECONDS'
>;

export const DEFAULT_LINK_SECONDS = 600;
export const MAX_LINK_SECONDS = 3600;

export interface RecordingsSettings {
  /** wav (what Twilio stores, the default) or mp3 (what Twilio serves at .mp3, about a quarter of the bytes) */
  format: RecordingFormat;
  /** delete Twilio's copy once the kept copy verifies and its record is written */
  deleteAfterStore: boolean;
  /** life of a playback link the url_provider answers */
  linkSeconds: number;
}

/** The recordings' settings; throws a SettingsError naming the variable at fault. */
export function recordingsSettingsFrom(env: RecordingsEnv): RecordingsSettings {
  const rawFormat = env.RECORDINGS_FORMAT?.trim().toLowerCase() || 'wav';
  if (rawFormat !== 'wav' && rawFormat !== 'mp3')
    throw new SettingsError(
      'RECORDINGS_FORMAT',
      `RECORDINGS_FORMAT must be wav or mp3, got "${env.RECORDINGS_FORMAT!.trim().slice(0, 20)}"`,
    );
  return {
    format: rawFormat,
    deleteAfterStore: booleanSetting('RECORDINGS_DELETE_AFTER_STORE', env.RECORDINGS_DELETE_AFTER_STORE, false),
    linkSeconds: wholeNumber('RECORDINGS_LINK_SECONDS', env.RECORDINGS_LINK_SECONDS, {
      fallback: DEFAULT_LINK_SECONDS,
      min: 60,
      max: MAX_LINK_SECONDS,
      unit: 'seconds',
    }),
  };
}
