import { serveFlexAsset } from '../../lib/flex/asset';
import { flexCors } from '../../lib/flex/cors';
import { loadManifest, readPrivateRange } from '../../runtime/assets';
import { twilioFunction } from '../../runtime/function';

/** POST /flex/asset with Token and name: a private or protected asset for a Flex plugin (see docs/flex.md). */
export const handler = twilioFunction<{ Token: unknown; name: unknown; Range: unknown; 'If-Range': unknown }>(
  'flex/asset',
  ({ params, headers, context, log }) =>
    serveFlexAsset(
      {
        env: context,
        params: { Token: params.Token, name: params.name, Range: params.Range, 'If-Range': params['If-Range'] },
        headers,
      },
      { manifest: loadManifest, readPrivateRange, log },
    ),
  // Still no asset and no stack trace, but the allowed origin can read the error.
  { errorHeaders: ({ context, headers }) => flexCors(context, headers) },
);
