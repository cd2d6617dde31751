// A subpath, not the whole `twilio` library: loading all of it costs a Function hundreds of ms at every cold start.
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse';
import type { Manifest } from '../manifest';
import { mediaUrl } from './urls';

/** TwiML that plays a prompt from its content-addressed URL. */
export function playTwiml(manifest: Manifest, name: string, baseUrl: string): string {
  const response = new VoiceResponse();
  response.play(mediaUrl(manifest, name, baseUrl));
  return response.toString();
}
