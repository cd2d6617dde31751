import twilio from 'twilio';
import { AllowedOrigin, onApiOrigin } from '../http/api-origin';
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
 * with any region and edge twilio-node puts in the host name (TWILIO_REGION, TWILIO_EDGE). The same hook refuses a
 * request to any other origin (a next page naming a foreign host), naming the host, before anything is sent.
 */
export function twilioClientFrom(env: TwilioClientEnv, options: TwilioClientOptions = {}): twilio.Twilio {
  const { accountSid, username, password } = requireCredentials(env);
  // Per product: Twilio's own origin (any region and edge), and the override that replaces it, if any.
  const products = HOST_OVERRIDES.map(([product, origin, variable]) => {
    const base = env[variable]?.trim() ? baseUrlFrom(env, variable) : origin;
    return { twilio: originOf(product), origin, override: base === origin ? undefined : base };
  });
  // Every request goes through onApiOrigin, first pages and the next pages twilio-node follows by itself: each
  // product's configured origin (its override, or else Twilio's own host) and nowhere else.
  const allowed: AllowedOrigin[] = products.map((p) => p.override ?? { pattern: p.twilio, name: p.origin });
  const autoRetry = options.autoRetry ?? false;
  const httpClient = new twilio.RequestClient({ autoRetry });
  const request = httpClient.request.bind(httpClient);
  // async: a refusal becomes the rejected promise twilio-node expects of request()
  httpClient.request = async (opts) => {
    const rewritten = products.reduce((u, p) => (p.override ? u.replace(p.twilio, p.override) : u), opts.uri);
    return request({ ...opts, uri: onApiOrigin(rewritten, allowed) });
  };
  return twilio(username, password, { accountSid, autoRetry, httpClient });
}

/** https://PRODUCT.twilio.com, with or without the edge and region twilio-node may insert. */
const originOf = (product: string) => new RegExp(`^https://${product}(\\.[a-z0-9-]+){0,2}\\.twilio\\.com(?=/|$)`);
