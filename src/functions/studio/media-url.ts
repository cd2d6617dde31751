import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';
import { studioMediaInfo } from '../../lib/media/studio';
import { applyResponse } from '../../lib/respond';
import { loadManifest } from '../../runtime/assets';
import { baseUrlOf, EventOf, ServiceEnv } from '../../runtime/context';

/** GET or POST /studio/media-url?name=...: {url, version, contentType, bytes} for a Studio Play widget. */
export const handler: ServerlessFunctionSignature<ServiceEnv, EventOf<{ name?: unknown }>> = (context, event, callback) => {
  callback(null, applyResponse(new Twilio.Response(), studioMediaInfo(loadManifest(), event.name, baseUrlOf(context))));
};
