import { SID } from '../sid';

/**
 * One entry of a TaskRouter task's `conversations.media`: how Flex Insights finds a recording kept outside Twilio.
 * The Player calls `url_provider` with the agent's Flex token and plays the link it answers (Twilio's pages "Custom
 * Media attached to Conversations" and "Secure Playback of Recordings from Custom Storage").
 */
export interface VoiceRecordingMedia {
  type: 'VoiceRecording';
  url_provider: string;
}

/** The `conversations.media` entry for a kept recording, served by this service's /recordings/url-provider. */
export function voiceRecordingMedia(serviceBaseUrl: string, recordingSid: string): VoiceRecordingMedia {
  if (!SID.RE.test(recordingSid)) throw new Error(`"${recordingSid.slice(0, 40)}" is not a Recording SID`);
  let base: URL;
  try {
    base = new URL(serviceBaseUrl);
  } catch {
    throw new Error(`"${serviceBaseUrl.slice(0, 100)}" is not the service's base URL (https://DOMAIN)`);
  }
  const url = new URL('/recordings/url-provider', base);
  url.searchParams.set('recording', recordingSid);
  return { type: 'VoiceRecording', url_provider: url.toString() };
}

/**
 * Task attributes with the recording's entry added to `conversations.media` (kept as they are otherwise; an entry
 * with the same url_provider is not added twice), ready for a TaskRouter Task update's `Attributes`.
 */
export function withVoiceRecording(
  attributes: Record<string, unknown>,
  serviceBaseUrl: string,
  recordingSid: string,
): Record<string, unknown> {
  const entry = voiceRecordingMedia(serviceBaseUrl, recordingSid);
  const conversations = (attributes.conversations ?? {}) as Record<string, unknown>;
  const media = Array.isArray(conversations.media) ? (conversations.media as unknown[]) : [];
  const present = media.some(
    (m) => typeof m === 'object' && m !== null && (m as VoiceRecordingMedia).url_provider === entry.url_provider,
  );
  return { ...attributes, conversations: { ...conversations, media: present ? media : [...media, entry] } };
}
