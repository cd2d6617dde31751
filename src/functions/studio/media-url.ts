import { studioMediaInfo } from '../../lib/media/studio';
import { loadManifest } from '../../runtime/assets';
import { baseUrlOf } from '../../runtime/context';
import { twilioFunction } from '../../runtime/function';

/** GET or POST /studio/media-url?name=...: {url, version, contentType, bytes} for a Studio Play widget. */
export const handler = twilioFunction<{ name: unknown }>('studio/media-url', ({ params, context }) =>
  studioMediaInfo(loadManifest(), params.name, baseUrlOf(context)),
);
