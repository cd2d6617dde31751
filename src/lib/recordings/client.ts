import twilio from 'twilio';
import { baseUrlFrom, requireCredentials, ServiceEnv } from '../settings';
import type { TwilioEnv } from './model';

// Apart from model.ts so that the recording status Function, which reads WAV headers with model.ts, never loads
// the whole twilio library (hundreds of ms per cold start) for a client it does not use.

/** Twilio's API hosts a local command may be pointed elsewhere (a proxy, or a fake on loopback in tests). */
const HOST_OVERRIDES = [
  ['https://api.twilio.com', 'TWILIO_API_BASE_URL'],
  ['https://studio.twilio.com', 'TWILIO_STUDIO_BASE_URL'],
  ['https://serverless.twilio.com', 'TWILIO_SERVERLESS_BASE_URL'],
] as const;

export type TwilioClientEnv = TwilioEnv & Pick<ServiceEnv, 'TWILIO_STUDIO_BASE_URL' | 'TWILIO_SERVERLESS_BASE_URL'>;

/**
 * A twilio client from the environment. TWILIO_API_BASE_URL, TWILIO_STUDIO_BASE_URL and TWILIO_SERVERLESS_BASE_URL
 * go through twilio-node's documented custom HTTP client hook (`httpClient`): a RequestClient that rewrites the
 * origin, which is how tests reach fakes on loopback with the real client, paging included.
 */
export function twilioClientFrom(env: TwilioClientEnv): twilio.Twilio {
  const { accountSid, username, password } = requireCredentials(env);
  const rewrites = HOST_OVERRIDES.flatMap(([origin, variable]) => {
    if (!env[variable]?.trim()) return [];
    const base = baseUrlFrom(env, variable);
    return base === origin ? [] : [[origin, base] as const];
  });
  let httpClient: twilio.RequestClient | undefined;
  if (rewrites.length > 0) {
    const rewriting = new twilio.RequestClient();
    const request = rewriting.request.bind(rewriting);
    rewriting.request = (opts) => {
      const hit = rewrites.find(([origin]) => opts.uri.startsWith(`${origin}/`));
      return request(hit ? { ...opts, uri: hit[1] + opts.uri.slice(hit[0].length) } : opts);
    };
    httpClient = rewriting;
  }
  return twilio(username, password, { accountSid, ...(httpClient ? { httpClient } : {}) });
}
