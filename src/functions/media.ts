import { decideMedia } from '../lib/media/serve';
import { loadManifest, readPrivateRange } from '../runtime/assets';
import { baseUrlOf } from '../runtime/context';
import { twilioFunction } from '../runtime/function';

/** GET or POST /media?name=audio/greeting.wav[&v=VERSION]: the stable URL of a logical media file. */
export const handler = twilioFunction<{ name: unknown; v: unknown }>('media', ({ params, headers, context }) => {
  const decision = decideMedia({
    manifest: loadManifest(),
    name: params.name,
    version: params.v,
    headers,
    baseUrl: baseUrlOf(context),
  });
  if (decision.kind === 'response') return decision.response;
  const body = readPrivateRange(decision.entry, decision.start, decision.end);
  return { status: decision.status, headers: decision.headers, body };
});
