import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';
import { requestArrival } from '../lib/http/arrival';
import { jsonLine } from '../lib/log';
import { applyResponse, PlainResponse } from '../lib/respond';
import { postedParams, SignedWebhookRequest, webhookUrl } from '../lib/webhook-signature';
import { EventOf, requestHeadersOf, ServiceEnv } from './context';

/**
 * A Function for a Twilio webhook or callback at routePath: hands the posted parameters, the signature header,
 * the URL Twilio signed and the context to a src/lib handler, logs its JSON lines, and sends its response.
 */
export function signedWebhook<Env>(
  routePath: string,
  handle: (request: SignedWebhookRequest<Env>) => Promise<PlainResponse>,
): ServerlessFunctionSignature<ServiceEnv & Env, EventOf<Record<string, unknown>>> {
  return async (context, event, callback) => {
    const receivedAt = requestArrival(requestHeadersOf(event), Date.now());
    const response = await handle({
      params: postedParams(event),
      signature: requestHeadersOf(event)['x-twilio-signature'],
      url: webhookUrl(context.DOMAIN_NAME, routePath, context.WEBHOOK_BASE_URL),
      env: context,
      receivedAt,
      log: (record) => console.log(jsonLine(record)),
    });
    callback(null, applyResponse(new Twilio.Response(), response));
  };
}
