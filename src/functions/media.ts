import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';
import { decideMedia } from '../lib/media/serve';
import { applyResponse, errorResponse } from '../lib/respond';
import { loadManifest, readPrivateRange } from '../runtime/assets';
import { baseUrlOf, EventOf, requestHeadersOf, ServiceEnv } from '../runtime/context';

/** GET or POST /media?name=audio/greeting.wav[&v=VERSION]: the stable URL of a logical media file. */
export const handler: ServerlessFunctionSignature<ServiceEnv, EventOf<{ name?: unknown; v?: unknown }>> = (context, event, callback) => {
  const response = new Twilio.Response();
  try {
    const decision = decideMedia({
      manifest: loadManifest(),
      name: event.name,
      version: event.v,
      headers: requestHeadersOf(event),
      baseUrl: baseUrlOf(context),
    });
    if (decision.kind === 'response') return callback(null, applyResponse(response, decision.response));
    const body = readPrivateRange(decision.entry, decision.start, decision.end);
    return callback(null, applyResponse(response, { status: decision.status, headers: decision.headers, body }));
  } catch (err) {
    console.error(JSON.stringify({ level: 'error', fn: 'media', message: (err as Error).message }));
    return callback(null, applyResponse(response, errorResponse(500, 'media could not be served; see the service logs')));
  }
};
