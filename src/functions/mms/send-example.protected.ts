import { outboundMms } from '../../lib/media/outbound-mms';
import { errorResponse, jsonResponse } from '../../lib/respond';
import { loadManifest } from '../../runtime/assets';
import { baseUrlOf } from '../../runtime/context';
import { twilioFunction } from '../../runtime/function';

/**
 * Outbound MMS example: POST To=+1555... [Media=images/logo.png] sends the media by its immutable URL from
 * MMS_FROM. Protected, so once deployed only requests signed by Twilio (a Studio flow, a webhook) can make it
 * send messages that cost money.
 */
export const handler = twilioFunction<{ To: string; Body: string; Media: string | string[] }>(
  'mms/send-example',
  async ({ params, context, log }) => {
    if (!params.To) return errorResponse(400, 'parameter "To" is required');
    if (!context.MMS_FROM) return errorResponse(500, 'environment variable MMS_FROM (the sending number) is not set');
    const media = params.Media === undefined ? ['images/logo.png'] : ([] as string[]).concat(params.Media);
    const baseUrl = baseUrlOf(context);
    let message;
    try {
      message = outboundMms(loadManifest(), baseUrl, {
        to: params.To,
        from: context.MMS_FROM,
        body: params.Body,
        media,
      });
    } catch (err) {
      return errorResponse(400, `parameter "Media": ${(err as Error).message}`);
    }
    try {
      const sent = await context.getTwilioClient().messages.create(message);
      return jsonResponse(201, { sid: sent.sid, mediaUrl: message.mediaUrl });
    } catch (err) {
      log({ level: 'error', event: 'message_refused', problem: (err as Error).message });
      return errorResponse(502, 'Twilio refused the message; see the service logs');
    }
  },
);
