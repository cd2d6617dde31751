import { BuildInfo, healthBody } from '../lib/build-info';
import { jsonResponse } from '../lib/respond';
import { twilioFunction } from '../runtime/function';

declare const __BUILD_INFO__: BuildInfo | undefined;

export const handler = twilioFunction('health', () => {
  const info = typeof __BUILD_INFO__ === 'undefined' ? undefined : __BUILD_INFO__;
  return jsonResponse(200, healthBody(info, new Date()));
});
