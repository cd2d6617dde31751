import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';
import { playTwiml } from '../../lib/media/twiml';
import { applyResponse } from '../../lib/respond';
import { loadManifest } from '../../runtime/assets';
import { baseUrlOf, ServiceEnv } from '../../runtime/context';

/** Voice webhook example: <Play> of audio/greeting.wav from its content-addressed, immutable URL. */
export const handler: ServerlessFunctionSignature<ServiceEnv> = (context, _event, callback) => {
  const twiml = playTwiml(loadManifest(), 'audio/greeting.wav', baseUrlOf(context));
  callback(null, applyResponse(new Twilio.Response(), { status: 200, headers: { 'Content-Type': 'text/xml; charset=utf-8', 'Cache-Control': 'no-store' }, body: twiml }));
};
