import { fetchMedia } from '../fetch/media-fetcher';
import { FetchEnv, fetchOptionsFor, fetchSettingsOrLog } from '../fetch/settings';
import { clip, isoWithOffset } from '../log';
import { SID } from '../sid';
import { errorResponse, jsonResponse, PlainResponse } from '../respond';
import { MediaStoreEnv, mediaStoreSettingsFrom, openMediaStore } from '../storage/media-store';
import type { SignedWebhookRequest } from '../webhook-signature';
import { isoDate, keepRecording } from '../keep/recording';
import { wavDeclaredBytes } from '../media/wav';
import { RecordingsEnv, recordingsSettingsFrom } from '../keep/recording-record';

export type RecordingStatusEnv = FetchEnv & MediaStoreEnv & RecordingsEnv;

/** Share of the fetch deadline the download may use; the rest is the store's (PUT, read back, record, DELETE). */
const DOWNLOAD_SHARE = 0.6;

export type RecordingStatusRequest = SignedWebhookRequest<RecordingStatusEnv>;

export const RECORDING_STATUSES = ['in-progress', 'completed', 'absent', 'failed'] as const;
/** A WAV header: enough to know the audio is there and is WAV, without downloading the recording. */
const WAV_HEADER_BYTES = 44;

/**
 * POST /recordings/status, the recording status callback, signature already verified
 * (src/runtime/signed-webhook.ts). On `completed`, with a media store, the recording is kept before the answer by the
 * one keep routine (src/lib/keep/recording.ts: fetch through the shared fetcher, spool, store, verify, record, and
 * with RECORDINGS_DELETE_AFTER_STORE delete Twilio's copy after); without a store its audio is only confirmed
 * available, reading the WAV header. `absent` and `failed` keep nothing and are logged with their ErrorCode. Every
 * outcome is one JSON log line; Twilio gets a 200 whatever happened, in time.
 */
export async function handleRecordingStatus(request: RecordingStatusRequest): Promise<PlainResponse> {
  const { env, log, params } = request;
  const recordingSid = params.RecordingSid;
  if (!recordingSid || !SID.RE.test(recordingSid)) {
    return errorResponse(
      400,
      `parameter "RecordingSid" ${recordingSid ? `("${clip(recordingSid)}") is not a Recording SID` : 'is missing'}`,
    );
  }
  if (!params.RecordingStatus) return errorResponse(400, 'parameter "RecordingStatus" is missing');
  // Every value echoed in the answer or the log is bounded: only the known statuses are short by construction.
  const status = clip(params.RecordingStatus, 32);
  const callSid = params.CallSid && clip(params.CallSid);
  const errorCode = params.ErrorCode ? clip(params.ErrorCode, 16) : undefined;
  const base = {
    recordingSid,
    callSid,
    status,
    callbackReceivedAt: isoWithOffset(request.receivedAt),
    ...(params.RecordingDuration ? { durationSeconds: Number(params.RecordingDuration) } : {}),
  };
  const done = (extra: object = {}) => jsonResponse(200, { recordingSid, status, ...extra });
  const report = (level: 'info' | 'warn' | 'error', fields: object = {}) =>
    log({ level, event: 'recording_status', ...base, ...fields });

  if (status === 'absent' || status === 'failed') {
    report('warn', {
      errorCode,
      problem: `recording ${status}${errorCode ? ` with error ${errorCode}` : ' (no ErrorCode given)'}`,
    });
    return done();
  }
  if (status !== 'completed') {
    const known = (RECORDING_STATUSES as readonly string[]).includes(status);
    report(known ? 'info' : 'warn', known ? {} : { problem: `unknown RecordingStatus "${status}"` });
    return done();
  }

  const config = fetchSettingsOrLog(env, log, { recordingSid });
  if (!config) return done({ available: 'unknown' });
  if (!params.RecordingUrl) {
    report('warn', { problem: 'parameter "RecordingUrl" is missing; availability not checked' });
    return done({ available: 'unknown' });
  }
  let keeping;
  try {
    const storeSettings = mediaStoreSettingsFrom(env);
    keeping = storeSettings && { store: openMediaStore(storeSettings.location), settings: recordingsSettingsFrom(env) };
  } catch (err) {
    report('error', { problem: (err as Error).message, event: 'config_error' });
    return done({ kept: 'store_failed' });
  }
  if (keeping) {
    // Kept before the answer: nothing runs after it (the Function's invocation ends with its callback).
    const fetchOptions = fetchOptionsFor(config, request.receivedAt);
    const kept = await keepRecording({
      store: keeping.store,
      settings: keeping.settings,
      recording: {
        accountSid: params.AccountSid ?? '',
        callSid: params.CallSid ?? '',
        recordingSid,
        mediaUrl: params.RecordingUrl,
        startTime: isoDate(params.RecordingStartTime),
        ...(params.RecordingDuration && /^\d{1,9}$/.test(params.RecordingDuration)
          ? { durationSeconds: Number(params.RecordingDuration) }
          : {}),
        ...(params.RecordingChannels === '1' || params.RecordingChannels === '2'
          ? { channels: Number(params.RecordingChannels) }
          : {}),
        ...(params.RecordingSource ? { source: clip(params.RecordingSource, 40) } : {}),
        ...(params.RecordingTrack ? { track: clip(params.RecordingTrack, 20) } : {}),
      },
      fetch: fetchOptions,
      fetchDeadlineAt: request.receivedAt + Math.round(config.deadlineMs * DOWNLOAD_SHARE),
      deadlineAt: fetchOptions.deadlineAt,
      keptBy: 'callback',
      receivedAt: request.receivedAt,
      log,
    });
    report(kept.outcome === 'stored' || kept.outcome === 'already_stored' ? 'info' : 'warn', {
      kept: kept.outcome,
      ...(kept.deleted ? { deleted: kept.deleted } : {}),
      ...(kept.problem ? { problem: kept.problem } : {}),
    });
    return done({ kept: kept.outcome, ...(kept.deleted ? { deleted: kept.deleted } : {}) });
  }

  const outcome = await fetchMedia({
    // RecordingUrl has no extension; .wav is the format Twilio stores
    ...fetchOptionsFor(config, request.receivedAt),
    url: `${params.RecordingUrl}.wav`,
    probeBytes: WAV_HEADER_BYTES,
    log,
    logContext: { source: 'recording_probe', recordingSid, callSid },
  });
  if (!outcome.ok) {
    report('warn', { available: false, problem: `the audio could not be fetched: ${outcome.reason}` });
    return done({ available: false });
  }
  // a RIFF header whose size field matches the whole file, as the archive will check after downloading it
  const declaredBytes = wavDeclaredBytes(outcome.body);
  const isWav = declaredBytes !== undefined;
  const consistent = isWav && (outcome.totalBytes === undefined || outcome.totalBytes === declaredBytes);
  report(consistent ? 'info' : 'warn', {
    available: true,
    bytes: outcome.totalBytes,
    contentType: outcome.contentType,
    ...(consistent
      ? {}
      : {
          problem: isWav
            ? `WAV header says ${declaredBytes} bytes, the host says ${outcome.totalBytes}`
            : 'the audio is not a WAV file',
        }),
  });
  return done({ available: true });
}
