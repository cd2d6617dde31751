import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';
import { BuildInfo, healthBody } from '../lib/build-info';
import { applyResponse, jsonResponse } from '../lib/respond';

declare const __BUILD_INFO__: BuildInfo | undefined;

export const handler: ServerlessFunctionSignature = (_context, _event, callback) => {
  const info = typeof __BUILD_INFO__ === 'undefined' ? undefined : __BUILD_INFO__;
  callback(null, applyResponse(new Twilio.Response(), jsonResponse(200, healthBody(info, new Date()))));
};
