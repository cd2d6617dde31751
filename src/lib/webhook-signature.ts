// A subpath, not the whole `twilio` library: loading all of it costs a Function hundreds of ms at every cold start.
import { validateRequest } from 'twilio/lib/webhooks/webhooks';
import type { LogRecord } from './log';

/** Every posted parameter, minus what the runtime adds to the event itself. */
export function postedParams(event: object): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(event)) {
    if (key === 'request') continue;
    if (typeof value === 'string') params[key] = value;
    else if (Array.isArray(value))
      params[key] = value as unknown as string; // validateRequest signs each value of a repeated key
    else if (value !== undefined && value !== null) params[key] = String(value);
  }
  return params;
}

/**
 * What a handler of a signed Twilio webhook or callback gets from its Function, once the signature over these
 * parameters and this URL has been verified (src/runtime/signed-webhook.ts).
 */
export interface SignedWebhookRequest<Env> {
  /** every posted parameter, see postedParams */
  params: Record<string, string>;
  /** the URL Twilio called, see webhookUrl */
  url: string;
  env: Env;
  /** epoch ms when the request arrived (src/lib/http/arrival.ts); deadlines count from it */
  receivedAt: number;
  log: (record: LogRecord) => void;
}

export type SignatureCheck = { ok: true } | { ok: false; status: 403; reason: string };

/**
 * Checks X-Twilio-Signature with the twilio library over every posted parameter, also locally, where twilio-run
 * does not check protected Functions. Missing token or header, or a mismatch: 403.
 */
export function checkSignature(input: {
  authToken: string | undefined;
  signature: string | string[] | undefined;
  url: string;
  params: Record<string, string>;
}): SignatureCheck {
  if (!input.authToken)
    return { ok: false, status: 403, reason: 'AUTH_TOKEN is not configured, so no signature can be checked' };
  const signature = Array.isArray(input.signature) ? input.signature[0] : input.signature;
  if (!signature) return { ok: false, status: 403, reason: 'header "X-Twilio-Signature" is missing' };
  if (!validateRequest(input.authToken, signature, input.url, input.params)) {
    return { ok: false, status: 403, reason: `header "X-Twilio-Signature" does not match the request to ${input.url}` };
  }
  return { ok: true };
}
