import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';
import { jsonLine } from '../../lib/log';
import { handleInboundMms, InboundEnv } from '../../lib/mms/inbound';
import { applyResponse } from '../../lib/respond';
import { postedParams, webhookUrl } from '../../lib/webhook-signature';
import { EventOf, requestHeadersOf, ServiceEnv } from '../../runtime/context';

/** Inbound MMS webhook: signature checked, media fetched through transient 404s, TwiML 200 in time. */
export const handler: ServerlessFunctionSignature<ServiceEnv & InboundEnv, EventOf<Record<string, unknown>>> = async (context, event, callback) => {
  const receivedAt = Date.now();
  const response = await handleInboundMms({
    params: postedParams(event),
    signature: requestHeadersOf(event)['x-twilio-signature'],
    url: webhookUrl(context.DOMAIN_NAME, '/mms/inbound', context.WEBHOOK_BASE_URL),
    env: context,
    receivedAt,
    log: (record) => console.log(jsonLine(record)),
  });
  callback(null, applyResponse(new Twilio.Response(), response));
};
