import type { Manifest, ManifestEntry } from '../manifest';
import { parseMediaName } from '../media/name';
import { errorResponse, PlainResponse } from '../respond';
import { ifNoneMatchMatches } from './conditional';
import { assetBaseUrl, FlexConfigError, FlexEnv, parseAllowedOrigins, parseFlexConfig, DEFAULT_FLEX_ORIGINS } from './config';
import { corsHeaders, originOf } from './cors';
import { fetchServiceAsset } from './fetch-asset';
import { checkFlexToken, ValidateFn } from './token';

/**
 * POST /flex/asset {Token, name}: a Flex plugin's way to a protected or private asset. Order matters:
 * the token is checked before the name is looked up, so a caller without a valid token learns nothing about
 * which assets exist; every answer carries the CORS grant of the caller's origin.
 */
export interface FlexAssetRequest {
  env: FlexEnv;
  params: { Token?: unknown; name?: unknown };
  headers: Record<string, string | string[] | undefined>;
}

export interface FlexAssetDeps {
  manifest: () => Manifest;
  readPrivate: (entry: ManifestEntry) => Buffer;
  validate?: ValidateFn;
  fetchImpl?: typeof fetch;
  /** one JSON line per request; never the token or a signature */
  log?: (line: Record<string, unknown>) => void;
}

function contentDisposition(name: string): Record<string, string> {
  const base = name.split('/').pop() ?? '';
  // Only plain names go in the header; anything else would need RFC 6266 encoding for no real gain.
  return /^[A-Za-z0-9._-]{1,100}$/.test(base) ? { 'Content-Disposition': `inline; filename="${base}"` } : {};
}

/**
 * The CORS grant for a request, never throwing: when FLEX_ALLOWED_ORIGINS itself is malformed only the default
 * Flex origin is granted, so the plugin can still read the error that names the variable.
 */
export function flexCors(env: FlexEnv, headers: FlexAssetRequest['headers']): Record<string, string> {
  let allowed = DEFAULT_FLEX_ORIGINS;
  try {
    allowed = parseAllowedOrigins(env.FLEX_ALLOWED_ORIGINS);
  } catch {
    // keep the default
  }
  return corsHeaders(originOf(headers), allowed);
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
    if (!(err instanceof FlexConfigError)) throw err;
    log({ level: 'error', status: 500, reason: 'config', message: err.message });
    return errorResponse(500, err.message, flexCors(request.env, request.headers));
  }

  const fail = (status: number, reason: string, message: string, extra: Record<string, unknown> = {}) => {
    log({ level: status >= 500 ? 'error' : 'warn', status, reason, ...extra });
    return errorResponse(status, message, cors);
  };

  // A missing token is refused before anything else, without a call to Twilio.
  if (request.params.Token === undefined || request.params.Token === null || request.params.Token === '') {
    return fail(403, 'missing', 'parameter "Token" is required: send the agent\'s Flex token (manager.user.token) in the POST body');
  }
  const parsed = parseMediaName(request.params.name);
  if (!parsed.ok) return fail(parsed.status, 'name', parsed.message);

  const tokenStarted = Date.now();
  const verdict = await checkFlexToken(request.params.Token, request.env, { timeoutMs: config.tokenTimeoutMs, validate: deps.validate });
  const tokenMs = Date.now() - tokenStarted;
  if (!verdict.ok) {
    const extra: Record<string, string> = verdict.status === 503 ? { 'Retry-After': '5' } : {};
    log({ level: verdict.status >= 500 ? 'error' : 'warn', status: verdict.status, reason: verdict.reason, name: parsed.name, tokenMs });
    return errorResponse(verdict.status, verdict.message, { ...cors, ...extra });
  }

  const manifest = deps.manifest();
  const entry = Object.prototype.hasOwnProperty.call(manifest.entries, parsed.name) ? manifest.entries[parsed.name] : undefined;
  if (!entry) {
    return fail(404, 'unknown', `no asset named "${parsed.name}" in this build (parameter "name"), e.g. docs/agent-guide.pdf`, { name: parsed.name, tokenMs });
  }

  // What a 200 carries and a 304 repeats (RFC 9110 section 15.4.5).
  const headers: Record<string, string> = {
    ...cors,
    ETag: entry.etag,
    // private: the bytes are for this agent's browser only, never a shared cache.
    'Cache-Control': `private, ${entry.cacheControl}`,
    'Last-Modified': entry.lastModified,
  };
  if (ifNoneMatchMatches(request.headers['if-none-match'], entry.etag)) {
    log({ level: 'info', status: 304, name: entry.name, visibility: entry.visibility, identity: verdict.identity, tokenMs });
    return { status: 304, headers };
  }

  let body: Buffer;
  let fetchMs = 0;
  if (entry.visibility === 'private') {
    body = deps.readPrivate(entry);
  } else {
    let baseUrl: string;
    try {
      baseUrl = assetBaseUrl(request.env);
    } catch (err) {
      if (err instanceof FlexConfigError) return fail(500, 'config', err.message);
      throw err;
    }
    const fetched = await fetchServiceAsset(entry, {
      baseUrl,
      authToken: request.env.AUTH_TOKEN,
      timeoutMs: config.fetchTimeoutMs,
      fetchImpl: deps.fetchImpl,
    });
    fetchMs = fetched.ms;
    if (!fetched.ok) return fail(fetched.status, 'fetch', fetched.message, { name: entry.name, tokenMs, fetchMs });
    body = fetched.body;
  }
  log({ level: 'info', status: 200, name: entry.name, visibility: entry.visibility, identity: verdict.identity, bytes: body.length, tokenMs, fetchMs });
  return {
    status: 200,
    headers: {
      ...headers,
      'Content-Type': entry.contentType,
      'X-Content-Type-Options': 'nosniff',
      ...contentDisposition(entry.name),
    },
    body,
  };
}
