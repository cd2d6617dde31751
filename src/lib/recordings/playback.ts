import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseFlexConfig } from '../flex/config';
import { corsHeaders, flexCors, originOf } from '../flex/cors';
import { tokenFromAuthorization, ValidateFn } from '../flex/token';
import { VerifiedTokenCache, verifyFlexToken } from '../flex/token-cache';
import { SID } from '../sid';
import { clip } from '../log';
import type { ManifestEntry } from '../manifest';
import { readFileRange } from '../media/read';
import { decideBytes } from '../media/serve';
import { errorResponse, jsonResponse, PlainResponse } from '../respond';
import { MAX_RESPONSE_BODY_BYTES } from '../response-limit';
import { credentialsFrom, ServiceEnv, SettingsError } from '../settings';
import { mediaStoreSettingsFrom, openMediaStore } from '../storage/media-store';
import { S3Store } from '../storage/s3-store';
import { LocalFolderStore, ObjectStore } from '../storage/store';
import {
  parseRecordingRecord,
  RecordingRecord,
  recordingRecordKey,
  recordingsSettingsFrom,
} from '../keep/recording-record';

/**
 * Playing a kept recording from the media store: GET /recordings/url-provider, the `url_provider` Flex Insights
 * calls (Twilio's page "Secure Playback of Recordings from Custom Storage",
 * https://www.twilio.com/docs/flex/developer/insights/playback-recordings-custom-storage: the Player sends the
 * agent's Flex token as `Authorization: Basic base64("token:" + token)`; the service validates it and answers the
 * link, which carries its own time-limited authorization, as JSON `{"media_url": LINK}`), and GET /recordings/audio,
 * what such a link names when the store is the local folder (an expiring HMAC instead of S3's presigned query).
 */

/** Bound on reading a recording's record from the store, so the Player gets an answer, never a hang. */
const RECORD_READ_TIMEOUT_MS = 3000;

export interface PlaybackDeps {
  log: (record: Record<string, unknown>) => void;
  validate?: ValidateFn;
  tokenCache?: VerifiedTokenCache;
  now?: () => number;
}

export interface UrlProviderRequest {
  env: ServiceEnv;
  params: { recording?: unknown };
  headers: Record<string, string | string[] | undefined>;
  /** the service's base URL (for a local folder store's link) */
  baseUrl: string;
}

function recordingSidParam(raw: unknown): { ok: true; sid: string } | { ok: false; message: string } {
  if (typeof raw !== 'string' || raw === '')
    return {
      ok: false,
      message: 'parameter "recording" is required: the Recording SID (RE followed by 32 hex digits)',
    };
  if (!SID.RE.test(raw))
    return { ok: false, message: `parameter "recording" ("${clip(raw)}") is not a Recording SID (RE + 32 hex digits)` };
  return { ok: true, sid: raw };
}

interface KeptRecording {
  store: ObjectStore;
  record: RecordingRecord;
}

/** The store and the record of a kept recording, or the answer saying why there is none. */
async function findKept(
  env: ServiceEnv,
  recordingSid: string,
): Promise<KeptRecording | { status: number; message: string }> {
  const storeSettings = mediaStoreSettingsFrom(env);
  if (!storeSettings)
    return { status: 500, message: 'MEDIA_STORE_URL is not set: this service keeps no recording to play' };
  const accountSid = env.ACCOUNT_SID?.trim() ?? '';
  if (!SID.AC.test(accountSid)) return { status: 500, message: 'ACCOUNT_SID is not set to an Account SID' };
  const store = openMediaStore(storeSettings.location);
  const text = await store.readText(recordingRecordKey(accountSid, recordingSid), {
    signal: AbortSignal.timeout(RECORD_READ_TIMEOUT_MS),
  });
  const record = parseRecordingRecord(text);
  if (!record || record.recordingSid !== recordingSid || record.accountSid !== accountSid)
    return { status: 404, message: `recording ${recordingSid} is not kept in the media store` };
  return { store, record };
}

/** `${recordingSid}.${expires}` signed with a key derived from the service's own credential secret. */
function linkSignature(secret: string, accountSid: string, recordingSid: string, expires: number): string {
  const key = createHmac('sha256', secret).update('twilio-media-assets/recording-link').digest();
  return createHmac('sha256', key).update(`${accountSid}\n${recordingSid}\n${expires}`).digest('hex');
}

function linkSecret(env: ServiceEnv): string {
  const credentials = credentialsFrom(env);
  if (!credentials)
    throw new SettingsError('AUTH_TOKEN', 'AUTH_TOKEN is not set: a local playback link cannot be signed');
  return credentials.password;
}

/** The time-limited link to a kept recording: S3's presigned GET, or for the folder store /recordings/audio. */
async function playbackLink(
  kept: KeptRecording,
  env: ServiceEnv,
  baseUrl: string,
  expiresAt: number,
  now: number,
): Promise<string> {
  const seconds = Math.round((expiresAt - now) / 1000);
  if (kept.store instanceof S3Store) return kept.store.signedGetUrl(kept.record.key, seconds);
  if (!(kept.store instanceof LocalFolderStore)) throw new Error('this store cannot make playback links');
  const expires = Math.floor(expiresAt / 1000);
  const url = new URL('/recordings/audio', baseUrl);
  url.searchParams.set('recording', kept.record.recordingSid);
  url.searchParams.set('expires', String(expires));
  url.searchParams.set(
    'signature',
    linkSignature(linkSecret(env), kept.record.accountSid, kept.record.recordingSid, expires),
  );
  return url.toString();
}

/**
 * GET /recordings/url-provider?recording=RE...: the agent's Flex token checked first (same validator, bound and
 * cache as /flex/asset), so a caller without one learns nothing about which recordings are kept; then the record,
 * and a link valid RECORDINGS_LINK_SECONDS. One `recording_played` line names who asked for what (the identity from
 * the token, never the token).
 */
export async function provideRecordingUrl(request: UrlProviderRequest, deps: PlaybackDeps): Promise<PlainResponse> {
  const { log } = deps;
  const now = (deps.now ?? Date.now)();
  let cors: Record<string, string>;
  let config;
  let linkSeconds: number;
  try {
    config = parseFlexConfig(request.env);
    cors = corsHeaders(originOf(request.headers), config.allowedOrigins);
    linkSeconds = recordingsSettingsFrom(request.env).linkSeconds;
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    log({ level: 'error', event: 'recording_play_refused', status: 500, reason: 'config', problem: err.message });
    return errorResponse(500, err.message, flexCors(request.env, request.headers));
  }
  const refuse = (status: number, reason: string, message: string, extra: Record<string, unknown> = {}) => {
    log({ level: status >= 500 ? 'error' : 'warn', event: 'recording_play_refused', status, reason, ...extra });
    return errorResponse(status, message, cors);
  };

  const fromHeader = tokenFromAuthorization(request.headers);
  if (!fromHeader.ok) return refuse(fromHeader.status, fromHeader.reason, fromHeader.message);
  const sid = recordingSidParam(request.params.recording);
  if (!sid.ok) return refuse(400, 'recording', sid.message);
  const { verdict, tokenMs, source: tokenCache } = await verifyFlexToken(fromHeader.token, request.env, config, deps);
  if (!verdict.ok) {
    log({
      level: verdict.status >= 500 ? 'error' : 'warn',
      event: 'recording_play_refused',
      status: verdict.status,
      reason: verdict.reason,
      recordingSid: sid.sid,
      tokenMs,
    });
    return errorResponse(verdict.status, verdict.message, {
      ...cors,
      ...(verdict.status === 503 ? { 'Retry-After': '5' } : {}),
    });
  }
  const who = {
    recordingSid: sid.sid,
    ...(verdict.identity ? { identity: verdict.identity } : {}),
    ...(verdict.workerSid ? { workerSid: verdict.workerSid } : {}),
    tokenMs,
    tokenCache,
  };
  try {
    const kept = await findKept(request.env, sid.sid);
    if ('status' in kept) return refuse(kept.status, kept.status === 404 ? 'not-kept' : 'config', kept.message, who);
    const expiresAt = now + linkSeconds * 1000;
    const link = await playbackLink(kept, request.env, request.baseUrl, expiresAt, now);
    log({
      level: 'info',
      event: 'recording_played',
      ...who,
      callSid: kept.record.callSid,
      key: `${kept.store.prefix}${kept.record.key}`,
      linkExpiresAt: new Date(expiresAt).toISOString(),
    });
    return jsonResponse(200, { media_url: link }, cors);
  } catch (err) {
    if (err instanceof SettingsError) return refuse(500, 'config', err.message, who);
    return refuse(503, 'store', `the media store could not be read: ${clip((err as Error).message, 200)}`, who);
  }
}

export interface AudioRequest {
  env: ServiceEnv;
  params: { recording?: unknown; expires?: unknown; signature?: unknown };
  headers: Record<string, string | string[] | undefined>;
}

/**
 * GET /recordings/audio?recording=&expires=&signature=: a kept recording from the local folder store, for the link
 * the url_provider answers when the store is a folder (local runtime only: a deploy refuses a folder store).
 * Preconditions and single ranges as /media serves private files (decideBytes), so a browser's <audio> can seek.
 */
export async function serveKeptAudio(request: AudioRequest, deps: PlaybackDeps): Promise<PlainResponse> {
  const { log } = deps;
  const now = (deps.now ?? Date.now)();
  const sid = recordingSidParam(request.params.recording);
  if (!sid.ok) return errorResponse(400, sid.message);
  const expires = typeof request.params.expires === 'string' ? Number(request.params.expires) : NaN;
  const signature = typeof request.params.signature === 'string' ? request.params.signature : '';
  if (!Number.isSafeInteger(expires) || !/^[0-9a-f]{64}$/.test(signature))
    return errorResponse(
      403,
      'parameters "expires" and "signature" are required: ask /recordings/url-provider for a link',
    );
  try {
    const expected = Buffer.from(
      linkSignature(linkSecret(request.env), request.env.ACCOUNT_SID?.trim() ?? '', sid.sid, expires),
      'hex',
    );
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      log({ level: 'warn', event: 'recording_audio_refused', recordingSid: sid.sid, reason: 'signature' });
      return errorResponse(403, 'parameter "signature" does not match this link');
    }
    if (expires * 1000 <= now) {
      log({ level: 'warn', event: 'recording_audio_refused', recordingSid: sid.sid, reason: 'expired' });
      return errorResponse(403, 'this link has expired: ask /recordings/url-provider for a new one');
    }
    const kept = await findKept(request.env, sid.sid);
    if ('status' in kept) return errorResponse(kept.status, kept.message);
    if (!(kept.store instanceof LocalFolderStore))
      return errorResponse(404, `recording ${sid.sid} is played from the bucket: ask /recordings/url-provider`);
    const { record } = kept;
    const entry: ManifestEntry = {
      name: `${record.recordingSid}.${record.format}`,
      visibility: 'private',
      path: record.key,
      version: record.sha256.slice(0, 12),
      bytes: record.bytes,
      contentType: record.contentType,
      etag: `"sha256-${record.sha256}"`,
      lastModified: new Date(record.keptAt).toUTCString(),
      sha256: record.sha256,
      cacheControl: 'no-store',
    };
    const decision = decideBytes(entry, request.headers, {
      cacheControl: 'private, no-store',
      maxBodyBytes: MAX_RESPONSE_BODY_BYTES,
      remedy: `ask for byte ranges of at most ${MAX_RESPONSE_BODY_BYTES} bytes, as a browser's <audio> does`,
    });
    if (decision.kind === 'response') return decision.response;
    const body = readFileRange(kept.store.pathOf(record.key), decision.start, decision.end, record.bytes);
    return { status: decision.status, headers: { ...decision.headers, 'X-Content-Type-Options': 'nosniff' }, body };
  } catch (err) {
    if (err instanceof SettingsError) return errorResponse(500, err.message);
    throw err;
  }
}
