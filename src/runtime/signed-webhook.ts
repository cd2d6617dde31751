import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';
import { clip, isoWithOffset } from '../lib/log';
import { errorResponse, PlainResponse } from '../lib/respond';
import type { ServiceEnv } from '../lib/settings';
import { checkSignature, postedParams, SignedWebhookRequest } from '../lib/webhook-signature';
import { baseUrlOf } from './context';
import { EventOf, twilioFunction } from './function';

/**
 * A Function for a Twilio webhook or callback at routePath, on the one Function edge: checks X-Twilio-Signature
 * over every posted parameter and the URL Twilio signed (403 and a warning line otherwise, the handler never
 * runs), so a handler only ever sees a verified request. The platform's gateway (and ours locally) already
 * answers 400 to a bad signature on a protected Function; this check keeps a Function safe if it is ever public.
 */
export function signedWebhook<Env>(
  routePath: string,
  handle: (request: SignedWebhookRequest<ServiceEnv & Env>) => Promise<PlainResponse>,
): ServerlessFunctionSignature<ServiceEnv & Env, EventOf<Record<string, unknown>>> {
  return twilioFunction<Record<string, unknown>, Env>(
    routePath.replace(/^\//, ''),
    async ({ params: event, headers, context, receivedAt, log }) => {
      const params = postedParams(event);
      // The URL Twilio signed: the one it called. Deployed that is https://DOMAIN_NAME/path; locally twilio-run
      // sets DOMAIN_NAME to localhost:PORT; WEBHOOK_BASE_URL (a tunnel's public base) overrides both. Configure
      // webhooks without a query string: the runtime merges query and form parameters, so a signed query string
      // cannot be told apart from the body.
      const url = `${baseUrlOf(context)}${routePath}`;
      const verdict = checkSignature({
        authToken: context.AUTH_TOKEN,
        signature: headers['x-twilio-signature'],
        url,
        params,
      });
      if (!verdict.ok) {
        const sid = params.MessageSid ?? params.RecordingSid ?? params.CallSid;
        log({
          level: 'warn',
          event: 'webhook_rejected',
          reason: verdict.reason,
          // the caller's text, unverified: bounded like every echoed value
          ...(sid ? { sid: clip(sid) } : {}),
          receivedAt: isoWithOffset(receivedAt),
        });
        return errorResponse(verdict.status, verdict.reason);
      }
      return handle({ params, url, env: context, receivedAt, log });
    },
  );
}
