import twilio from 'twilio';
import { requireCredentials } from '../settings';
import { TWILIO_API_BASE, TwilioEnv } from './model';

// Apart from model.ts so that the recording status Function, which reads WAV headers with model.ts, never loads
// the whole twilio library (hundreds of ms per cold start) for a client it does not use.

/**
 * A twilio client from the environment. TWILIO_API_BASE_URL goes through twilio-node's documented custom HTTP
 * client hook (`httpClient`): a RequestClient that rewrites the API origin, which is how tests reach a fake
 * REST API on loopback with the real client, paging included.
 */
export function twilioClientFrom(env: TwilioEnv): twilio.Twilio {
  const { accountSid, username, password } = requireCredentials(env);
  const base = env.TWILIO_API_BASE_URL?.replace(/\/+$/, '');
  let httpClient: twilio.RequestClient | undefined;
  if (base && base !== TWILIO_API_BASE) {
    const rewriting = new twilio.RequestClient();
    const request = rewriting.request.bind(rewriting);
    rewriting.request = (opts) => request({ ...opts, uri: opts.uri.replace(/^https:\/\/api\.twilio\.com/, base) });
    httpClient = rewriting;
  }
  return twilio(username, password, { accountSid, ...(httpClient ? { httpClient } : {}) });
}
