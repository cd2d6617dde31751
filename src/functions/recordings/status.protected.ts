import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';
import { jsonLine } from '../../lib/log';
import { handleRecordingStatus, RecordingStatusEnv } from '../../lib/recordings/status-callback';
import { applyResponse } from '../../lib/respond';
import { postedParams, webhookUrl } from '../../lib/webhook-signature';
import { EventOf, requestHeadersOf, ServiceEnv } from '../../runtime/context';

/** Recording status callback: signature checked, a completed recording confirmed available, every outcome logged. */
export const handler: ServerlessFunctionSignature<ServiceEnv & RecordingStatusEnv, EventOf<Record<string, unknown>>> = async (context, event, callback) => {
  const receivedAt = Date.now();
  const response = await handleRecordingStatus({
    params: postedParams(event),
    signature: requestHeadersOf(event)['x-twilio-signature'],
    url: webhookUrl(context.DOMAIN_NAME, '/recordings/status', context.WEBHOOK_BASE_URL),
    env: context,
    receivedAt,
    log: (record) => console.log(jsonLine(record)),
  });
  callback(null, applyResponse(new Twilio.Response(), response));
};
