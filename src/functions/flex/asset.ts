import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';
import { FlexEnv } from '../../lib/flex/config';
import { flexCors, serveFlexAsset } from '../../lib/flex/asset';
import { applyResponse, errorResponse } from '../../lib/respond';
import { loadManifest, readPrivateRange } from '../../runtime/assets';

type FlexEvent = {
  Token?: unknown;
  name?: unknown;
  Range?: unknown;
  'If-Range'?: unknown;
  request: { cookies: Record<string, string>; headers: Record<string, string | string[] | undefined> };
};

/** POST /flex/asset with Token and name: a private or protected asset for a Flex plugin (see README). */
export const handler: ServerlessFunctionSignature<FlexEnv, FlexEvent> = async (context, event, callback) => {
  const response = new Twilio.Response();
  // Without @twilio/runtime-handler pinned there is no event.request (see README); treat as no headers.
  const headers = event.request?.headers ?? {};
  try {
    const plain = await serveFlexAsset(
      { env: context, params: { Token: event.Token, name: event.name, Range: event.Range, 'If-Range': event['If-Range'] }, headers },
      { manifest: loadManifest, readPrivateRange, log: (line) => console.log(JSON.stringify({ fn: 'flex/asset', ...line })) },
    );
    return callback(null, applyResponse(response, plain));
  } catch (err) {
    console.error(JSON.stringify({ level: 'error', fn: 'flex/asset', message: (err as Error).message }));
    // Still no asset and no stack trace, but the allowed origin can read the error.
    return callback(null, applyResponse(response, errorResponse(500, 'the asset could not be served; see the service logs', flexCors(context, headers))));
  }
};
