import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';
import { clip, isoWithOffset } from '../lib/log';
import { errorResponse, PlainResponse } from '../lib/respond';
import type { ServiceEnv } from '../lib/settings';
import { checkSignature, postedParams, SignedWebhookRequest, webhookUrl } from '../lib/webhook-signature';
import { EventOf, twilioFunction } from './function';

/**
 * A Function for a Twilio webhook or callback at routePath, on the one Function edge: checks X-Twilio-Signature
 * over every posted parameter and the URL Twilio signed (403 and a warning line otherwise, the handler never
 * runs), so a handler only ever sees a verified request. Also locally, where twilio-run checks nothing.
 */
export function signedWebhook<Env>(
  routePath: string,
  handle: (request: SignedWebhookRequest<ServiceEnv & Env>) => Promise<PlainResponse>,
): ServerlessFunctionSignature<ServiceEnv & Env, EventOf<Record<string, unknown>>> {
  return twilioFunction<Record<string, unknown>, Env>(
    routePath.replace(/^\//, ''),
    async ({ params: event, headers, context, receivedAt, log }) => {
      const params = postedParams(event);
      const url = webhookUrl(context, routePath);
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
