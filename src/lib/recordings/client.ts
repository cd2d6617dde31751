import twilio from 'twilio';
import { requireCredentials } from '../settings';
import { TWILIO_API_BASE, TwilioEnv } from './model';

// Apart from model.ts so that the recording status Function, which reads WAV headers with model.ts, never loads
// the whole twilio library (hundreds of ms per cold start) for a client it does not use.

export interface TwilioClientOptions {
  /** base URL replacing https://serverless.twilio.com (media:report's TWILIO_SERVERLESS_BASE_URL) */
  serverlessBaseUrl?: string;
  /** retry a 429 with twilio-node's own exponential backoff (the Serverless Logs API allows 5 requests/s) */
  autoRetry?: boolean;
}

/**
 * A twilio client from the environment. TWILIO_API_BASE_URL (and `serverlessBaseUrl`) go through twilio-node's
 * documented custom HTTP client hook (`httpClient`): a RequestClient that rewrites the API origin, which is how
 * tests reach a fake REST API on loopback with the real client, paging included. The origin is matched with any
 * region and edge twilio-node puts in the host name (TWILIO_REGION, TWILIO_EDGE).
 */
export function twilioClientFrom(env: TwilioEnv, options: TwilioClientOptions = {}): twilio.Twilio {
  const { accountSid, username, password } = requireCredentials(env);
  const rewrites: [RegExp, string][] = [];
  const apiBase = env.TWILIO_API_BASE_URL?.replace(/\/+$/, '');
  if (apiBase && apiBase !== TWILIO_API_BASE) rewrites.push([originOf('api'), apiBase]);
  const serverlessBase = options.serverlessBaseUrl?.replace(/\/+$/, '');
  if (serverlessBase) rewrites.push([originOf('serverless'), serverlessBase]);
  const autoRetry = options.autoRetry ?? false;
  let httpClient: twilio.RequestClient | undefined;
  if (rewrites.length) {
    const rewriting = new twilio.RequestClient({ autoRetry });
    const request = rewriting.request.bind(rewriting);
    rewriting.request = (opts) =>
      request({ ...opts, uri: rewrites.reduce((uri, [from, to]) => uri.replace(from, to), opts.uri) });
    httpClient = rewriting;
  }
  return twilio(username, password, { accountSid, autoRetry, ...(httpClient ? { httpClient } : {}) });
}

/** https://PRODUCT.twilio.com, with or without the edge and region twilio-node may insert. */
const originOf = (product: string) => new RegExp(`^https://${product}(\\.[a-z0-9-]+){0,2}\\.twilio\\.com(?=/|$)`);
