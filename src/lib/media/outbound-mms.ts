import type { Manifest } from '../manifest';
import { mediaUrl } from './urls';

// Apart from twiml.ts so that a Function sending MMS does not load the TwiML builder at its cold start.
export interface OutboundMms {
  to: string;
  from: string;
  body?: string;
  mediaUrl: string[];
}

/**
 * Parameters of client.messages.create for an MMS carrying logical media names, each resolved to its immutable URL.
 * Twilio allows up to 10 media per message.
 */
export function outboundMms(
  manifest: Manifest,
  baseUrl: string,
  message: { to: string; from: string; body?: string; media: string[] },
): OutboundMms {
  if (message.media.length === 0 || message.media.length > 10)
    throw new Error(`an MMS carries 1 to 10 media, got ${message.media.length}`);
  return {
    to: message.to,
    from: message.from,
    body: message.body,
    mediaUrl: message.media.map((name) => mediaUrl(manifest, name, baseUrl)),
  };
}
