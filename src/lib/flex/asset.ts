import type { Manifest, ManifestEntry } from '../manifest';
import { parseMediaName } from '../media/name';
import { errorResponse, PlainResponse } from '../respond';
import { decideBytes } from '../media/serve';
import { lookupEntry, NotMediaError } from '../media/urls';
import { MAX_RESPONSE_BODY_BYTES } from '../response-limit';
import { ServiceEnv, SettingsError } from '../settings';
import { assetBaseUrl, parseFlexConfig } from './config';
import { corsHeaders, flexCors, originOf } from './cors';
import { fetchServiceAsset } from './fetch-asset';
import { tokenFromBody, ValidateFn } from './token';
import { VerifiedTokenCache, verifyFlexToken } from './token-cache';

/**
 * POST /flex/asset {Token, name}: a Flex plugin's way to a protected or private asset. Order matters:
 * the token is checked before the name is looked up, so a caller without a valid token learns nothing about
 * which assets exist; every answer carries the CORS grant of the caller's origin.
 */
export interface FlexAssetRequest {
  env: ServiceEnv;
  /**
   * Range and If-Range may come as body parameters with the header syntax: twilio-run's own preflight answer
   * does not allow those request headers, so a browser can only send them in the body; the headers win.
   */
  params: { Token?: unknown; name?: unknown; Range?: unknown; 'If-Range'?: unknown };
  headers: Record<string, string | string[] | undefined>;
}

export interface FlexAssetDeps {
  manifest: () => Manifest;
  /** bytes start..end (inclusive) of a private asset, from the runtime's asset map */
  readPrivateRange: (entry: ManifestEntry, start: number, end: number) => Buffer;
  validate?: ValidateFn;
  fetchImpl?: typeof fetch;
  /** one JSON line per request; never the token or a signature */
  log?: (line: Record<string, unknown>) => void;
  /** verified tokens of this instance; default the module's */
  tokenCache?: VerifiedTokenCache;
}

/** Range / If-Range from the header, else from the body parameter of the same name (see FlexAssetRequest). */
function rangeHeaders(
  request: FlexAssetRequest,
): { ok: true; headers: FlexAssetRequest['headers'] } | { ok: false; message: string } {
  const headers = { ...request.headers };
  for (const [param, header] of [
    ['Range', 'range'],
    ['If-Range', 'if-range'],
  ] as const) {
    const value = request.params[param];
    if (value === undefined || value === '' || headers[header] !== undefined) continue;
    if (typeof value !== 'string' || value.length > 200)
      return {
        ok: false,
        message: `parameter "${param}" must be sent once, as in the ${param} header (e.g. bytes=0-3899999)`,
      };
    headers[header] = value;
  }
  return { ok: true, headers };
}

function contentDisposition(name: string): Record<string, string> {
  const base = name.split('/').pop() ?? '';
  // Only plain names go in the header; anything else would need RFC 6266 encoding for no real gain.
  return /^[A-Za-z0-9._-]{1,100}$/.test(base) ? { 'Content-Disposition': `inline; filename="${base}"` } : {};
}

export async function serveFlexAsset(request: FlexAssetRequest, deps: FlexAssetDeps): Promise<PlainResponse> {
  const log = deps.log ?? (() => undefined);
  const origin = originOf(request.headers);
  let cors: Record<string, string>;
  let config;
  try {
    config = parseFlexConfig(request.env);
    cors = corsHeaders(origin, config.allowedOrigins);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    log({ level: 'error', status: 500, reason: 'config', message: err.message });
    return errorResponse(500, err.message, flexCors(request.env, request.headers));
  }

  const fail = (status: number, reason: string, message: string, extra: Record<string, unknown> = {}) => {
    log({ level: status >= 500 ? 'error' : 'warn', status, reason, ...extra });
    return errorResponse(status, message, cors);
  };

  // The token is refused before anything else when missing, too long or not from the body: no call to Twilio.
  const fromBody = tokenFromBody(request.params.Token, request.headers);
  if (!fromBody.ok) return fail(fromBody.status, fromBody.reason, fromBody.message);
  const parsed = parseMediaName(request.params.name);
  if (!parsed.ok) return fail(parsed.status, 'name', parsed.message);
  const withRange = rangeHeaders(request);
  if (!withRange.ok) return fail(400, 'range', withRange.message);

  const {
    verdict,
    source: tokenCache,
    tokenMs,
  } = await verifyFlexToken(fromBody.token, request.env, config, {
    validate: deps.validate,
    tokenCache: deps.tokenCache,
  });
  if (!verdict.ok) {
    const extra: Record<string, string> = verdict.status === 503 ? { 'Retry-After': '5' } : {};
    log({
      level: verdict.status >= 500 ? 'error' : 'warn',
      status: verdict.status,
      reason: verdict.reason,
      name: parsed.name,
      tokenMs,
    });
    return errorResponse(verdict.status, verdict.message, { ...cors, ...extra });
  }

  const manifest = deps.manifest();
  const entry = lookupEntry(manifest, parsed.name);
  if (!entry) {
    return fail(
      404,
      'unknown',
      `no asset named "${parsed.name}" in this build (parameter "name"), e.g. docs/agent-guide.pdf`,
      { name: parsed.name, tokenMs },
    );
  }
  if (entry.notMedia) {
    return fail(403, 'not-media', new NotMediaError(entry.name).message, { name: entry.name, tokenMs });
  }

  const decision = decideBytes(entry, withRange.headers, {
    // private: the bytes are for this agent's browser only, never a shared cache.
    cacheControl: `private, ${entry.cacheControl}`,
    always: cors,
    maxBodyBytes: MAX_RESPONSE_BODY_BYTES,
    remedy: `ask for byte ranges of at most ${MAX_RESPONSE_BODY_BYTES} bytes (Range: bytes=0-${MAX_RESPONSE_BODY_BYTES - 1}, then the rest), as the plugin client src/client/flex-asset-client.ts does`,
  });
  const done = { name: entry.name, visibility: entry.visibility, identity: verdict.identity, tokenMs, tokenCache };
  if (decision.kind === 'response') {
    const { status } = decision.response;
    log({ level: status >= 400 ? 'warn' : 'info', status, ...done });
    return decision.response;
  }

  let body: Buffer;
  let fetchMs = 0;
  const { start, end } = decision;
  if (entry.visibility === 'private') {
    body = deps.readPrivateRange(entry, start, end);
  } else {
    let baseUrl: string;
    try {
      baseUrl = assetBaseUrl(request.env);
    } catch (err) {
      if (err instanceof SettingsError) return fail(500, 'config', err.message);
      throw err;
    }
    const fetched = await fetchServiceAsset(entry, {
      baseUrl,
      authToken: request.env.AUTH_TOKEN,
      timeoutMs: config.fetchTimeoutMs,
      fetchImpl: deps.fetchImpl,
      range: { start, end },
    });
    fetchMs = fetched.ms;
    if (!fetched.ok) return fail(fetched.status, 'fetch', fetched.message, { name: entry.name, tokenMs, fetchMs });
    body = fetched.body;
  }
  log({ level: 'info', status: decision.status, ...done, start, end, bytes: body.length, fetchMs });
  return {
    status: decision.status,
    headers: { ...decision.headers, 'X-Content-Type-Options': 'nosniff', ...contentDisposition(entry.name) },
    body,
  };
}
