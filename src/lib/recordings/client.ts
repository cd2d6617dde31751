import twilio from 'twilio';
import { baseUrlFrom, requireCredentials, ServiceEnv } from '../settings';
import type { TwilioEnv } from './model';

// Apart from model.ts so that the recording status Function, which reads WAV headers with model.ts, never loads
// the whole twilio library (hundreds of ms per cold start) for a client it does not use.

/** Twilio's API products a local command may be pointed elsewhere (a proxy, or a fake on loopback in tests). */
const HOST_OVERRIDES = [
  ['api', 'https://api.twilio.com', 'TWILIO_API_BASE_URL'],
  ['studio', 'https://studio.twilio.com', 'TWILIO_STUDIO_BASE_URL'],
  ['serverless', 'https://serverless.twilio.com', 'TWILIO_SERVERLESS_BASE_URL'],
] as const;

export type TwilioClientEnv = TwilioEnv & Pick<ServiceEnv, 'TWILIO_STUDIO_BASE_URL' | 'TWILIO_SERVERLESS_BASE_URL'>;

export interface TwilioClientOptions {
  /** retry a 429 with twilio-node's own exponential backoff (the Serverless Logs API allows 5 requests/s) */
  autoRetry?: boolean;
}

/**
 * A twilio client from the environment. TWILIO_API_BASE_URL, TWILIO_STUDIO_BASE_URL and TWILIO_SERVERLESS_BASE_URL
 * go through twilio-node's documented custom HTTP client hook (`httpClient`): a RequestClient that rewrites the
 * origin, which is how tests reach fakes on loopback with the real client, paging included. The origin is matched
 * with any region and edge twilio-node puts in the host name (TWILIO_REGION, TWILIO_EDGE).
 */
export function twilioClientFrom(env: TwilioClientEnv, options: TwilioClientOptions = {}): twilio.Twilio {
  const { accountSid, username, password } = requireCredentials(env);
  const rewrites = HOST_OVERRIDES.flatMap(([product, origin, variable]) => {
    if (!env[variable]?.trim()) return [];
    const base = baseUrlFrom(env, variable);
    return base === origin ? [] : [[originOf(product), base] as const];
  });
  const autoRetry = options.autoRetry ?? false;
  let httpClient: twilio.RequestClient | undefined;
  if (rewrites.length > 0) {
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
