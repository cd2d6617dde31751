import type { ServiceEnv } from '../settings';
import { DEFAULT_FLEX_ORIGINS, parseAllowedOrigins } from './config';

/**
 * CORS grant of /flex/asset. The platform answers OPTIONS preflights itself, permissively, without calling the
 * Function (twilio-run emulates it), so the only grant that counts is the Access-Control-Allow-Origin of the
 * actual response: an allowed origin gets it on every response, errors included (so the plugin can read why),
 * any other origin gets none and the browser keeps the body from the page.
 *
 * Hand-written rather than the `cors` middleware: that package wraps an Express (req, res, next) pipeline,
 * while a Function needs a header map computed from one header; the rule is these few lines.
 */
export function corsHeaders(origin: string | undefined, allowedOrigins: readonly string[]): Record<string, string> {
  // The answer depends on Origin whether or not it is granted, so every response says so to caches.
  const headers: Record<string, string> = { Vary: 'Origin' };
  if (origin && allowedOrigins.includes(origin)) {
    headers['Access-Control-Allow-Origin'] = origin;
    // None of these is a CORS-safelisted response header: without this the plugin could not keep the ETag for
    // If-None-Match and If-Range, place a range (Content-Range) or check the whole (Repr-Digest).
    headers['Access-Control-Expose-Headers'] = 'ETag, Content-Disposition, Content-Range, Accept-Ranges, Repr-Digest';
  }
  return headers;
}

/** The Origin request header, when sent exactly once. */
export function originOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const value = headers['origin'];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The CORS grant for a request to a Flex-facing Function (/flex/asset, /recordings/url-provider), never throwing:
 * when FLEX_ALLOWED_ORIGINS itself is malformed only the default Flex origin is granted, so the caller can still
 * read the error that names the variable.
 */
export function flexCors(
  env: ServiceEnv,
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  let allowed = DEFAULT_FLEX_ORIGINS;
  try {
    allowed = parseAllowedOrigins(env.FLEX_ALLOWED_ORIGINS);
  } catch {
    // keep the default
  }
  return corsHeaders(originOf(headers), allowed);
}
