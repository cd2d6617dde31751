import type { ServiceEnv } from '../settings';
import { metadataExpiry } from '../keep/recording-record';

/** The fields of a Recording resource we use (twilio-node's RecordingInstance has them all). */
export interface RecordingLike {
  sid: string;
  accountSid: string;
  callSid?: string | null;
  dateCreated: Date;
  dateUpdated?: Date | null;
  duration?: string | null;
  status: string;
  source?: string | null;
  channels?: number | null;
  errorCode?: number | null;
  mediaUrl?: string | null;
}

export type MediaLocation = 'twilio' | 'external' | 'deleted' | 'none' | 'pending';

export interface RecordingSummary {
  sid: string;
  callSid?: string;
  dateCreated: string;
  durationSeconds: number | null;
  status: string;
  source?: string;
  errorCode?: number;
  /** where the audio is: at Twilio, in your External Storage, gone (deleted), none (absent/failed), pending (in progress) */
  mediaLocation: MediaLocation;
  mediaHost?: string;
  /** when a deleted recording's metadata is purged by Twilio (deletion + 40 days) */
  metadataPurgedAt?: string;
}

/**
 * Where the audio of a recording lives. With External Storage, media_url points at your storage, and Twilio
 * keeps no copy; otherwise it is on Twilio's API host.
 */
export function summarize(recording: RecordingLike, twilioApiHosts: string[] = ['api.twilio.com']): RecordingSummary {
  let mediaLocation: MediaLocation;
  let mediaHost: string | undefined;
  if (recording.status === 'deleted') mediaLocation = 'deleted';
  else if (recording.status === 'absent' || recording.status === 'failed') mediaLocation = 'none';
  else if (recording.status !== 'completed') mediaLocation = 'pending';
  else {
    try {
      mediaHost = recording.mediaUrl ? new URL(recording.mediaUrl).host : undefined;
    } catch {
      mediaHost = undefined;
    }
    mediaLocation = !mediaHost || twilioApiHosts.includes(mediaHost) ? 'twilio' : 'external';
  }
  const duration = recording.duration === undefined || recording.duration === null ? NaN : Number(recording.duration);
  return {
    sid: recording.sid,
    ...(recording.callSid ? { callSid: recording.callSid } : {}),
    dateCreated: recording.dateCreated.toISOString(),
    durationSeconds: Number.isFinite(duration) && duration >= 0 ? duration : null,
    status: recording.status,
    ...(recording.source ? { source: recording.source } : {}),
    ...(recording.errorCode ? { errorCode: recording.errorCode } : {}),
    mediaLocation,
    ...(mediaHost && mediaLocation === 'external' ? { mediaHost } : {}),
    ...(recording.status === 'deleted' && recording.dateUpdated
      ? { metadataPurgedAt: metadataExpiry(recording.dateUpdated) }
      : {}),
  };
}

export type TwilioEnv = Pick<
  ServiceEnv,
  'ACCOUNT_SID' | 'AUTH_TOKEN' | 'API_KEY' | 'API_SECRET' | 'TWILIO_API_BASE_URL'
>;

export const TWILIO_API_BASE = 'https://api.twilio.com';

/** The audio download URL of a recording held by Twilio. */
export function recordingMediaUrl(
  env: TwilioEnv,
  accountSid: string,
  sid: string,
  format: 'wav' | 'mp3' = 'wav',
): string {
  const base = env.TWILIO_API_BASE_URL?.replace(/\/+$/, '') || TWILIO_API_BASE;
  return `${base}/2010-04-01/Accounts/${accountSid}/Recordings/${sid}.${format}`;
}
