import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';
import { outboundMms } from '../../lib/media/outbound-mms';
import { applyResponse, errorResponse, jsonResponse } from '../../lib/respond';
import { loadManifest } from '../../runtime/assets';
import { baseUrlOf, EventOf, ServiceEnv } from '../../runtime/context';

/**
 * Outbound MMS example: POST To=+1555... [Media=images/logo.png] sends the media by its immutable URL from
 * MMS_FROM. Protected, so once deployed only requests signed by Twilio (a Studio flow, a webhook) can make it
 * send messages that cost money.
 */
export const handler: ServerlessFunctionSignature<ServiceEnv, EventOf<{ To?: string; Body?: string; Media?: string | string[] }>> = async (context, event, callback) => {
  const response = new Twilio.Response();
  if (!event.To) return callback(null, applyResponse(response, errorResponse(400, 'parameter "To" is required')));
  if (!context.MMS_FROM) return callback(null, applyResponse(response, errorResponse(500, 'environment variable MMS_FROM (the sending number) is not set')));
  const media = event.Media === undefined ? ['images/logo.png'] : ([] as string[]).concat(event.Media);
  let params;
  try {
    params = outboundMms(loadManifest(), baseUrlOf(context), { to: event.To, from: context.MMS_FROM, body: event.Body, media });
  } catch (err) {
    return callback(null, applyResponse(response, errorResponse(400, `parameter "Media": ${(err as Error).message}`)));
  }
  try {
    const message = await context.getTwilioClient().messages.create(params);
    return callback(null, applyResponse(response, jsonResponse(201, { sid: message.sid, mediaUrl: params.mediaUrl })));
  } catch (err) {
    console.error(JSON.stringify({ level: 'error', fn: 'mms/send-example', message: (err as Error).message }));
    return callback(null, applyResponse(response, errorResponse(502, 'Twilio refused the message; see the service logs')));
  }
};
