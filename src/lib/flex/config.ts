import { baseUrlFrom, ServiceEnv, SettingsError, wholeNumber } from '../settings';

/**
 * Settings of POST /flex/asset, read from the Function's context (the .env file locally, the service's
 * environment variables deployed). Every value is checked up front so a typo fails with a message naming the
 * variable, never with a hang or a silently permissive default.
 */
export const DEFAULT_FLEX_ORIGINS = ['https://flex.twilio.com'];
/** Bound on the Flex token check (Twilio IAM). */
export const DEFAULT_TOKEN_TIMEOUT_MS = 3000;
/** Bound on fetching a public or protected asset from the service's own domain. */
export const DEFAULT_ASSET_FETCH_TIMEOUT_MS = 5000;
/**
 * A Function runs at most 10 s; both bounds together must leave time to answer, so each is capped and their
 * sum must stay below this.
 */
export const MAX_TOTAL_BOUND_MS = 9000;
/** How long a warm instance remembers a token IAM verified (never past the token's expiration); 0 turns it off. */
export const DEFAULT_TOKEN_CACHE_SECONDS = 60;
export const MAX_TOKEN_CACHE_SECONDS = 300;

export interface FlexConfig {
  allowedOrigins: string[];
  tokenTimeoutMs: number;
  fetchTimeoutMs: number;
  tokenCacheMs: number;
}

/** Serialized origin (scheme://host[:port], lower case, default port dropped) as browsers send it in Origin. */
export function normalizeOrigin(raw: string): string | null {
  try {
    const url = new URL(raw.trim());
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) return null;
    return url.origin;
  } catch {
    return null;
  }
}

export function parseAllowedOrigins(raw: unknown): string[] {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === ''))
    return [...DEFAULT_FLEX_ORIGINS];
  if (typeof raw !== 'string')
    throw new SettingsError('FLEX_ALLOWED_ORIGINS', 'FLEX_ALLOWED_ORIGINS must be a comma-separated list of origins');
  const origins: string[] = [];
  for (const part of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    // "*" is refused on purpose: the asset is private to agents, and a wildcard would hand any page the
    // error details and, with a stolen token, the bytes.
    const origin = normalizeOrigin(part);
    if (!origin)
      throw new SettingsError(
        'FLEX_ALLOWED_ORIGINS',
        `FLEX_ALLOWED_ORIGINS: "${part}" is not an origin like https://flex.twilio.com (scheme and host, no path, no "*")`,
      );
    origins.push(origin);
  }
  return origins;
}

function parseBound(name: string, raw: string | undefined, fallback: number): number {
  return wholeNumber(name, raw, { fallback, max: MAX_TOTAL_BOUND_MS, unit: 'milliseconds' });
}

export function parseFlexConfig(env: ServiceEnv): FlexConfig {
  const tokenTimeoutMs = parseBound('FLEX_TOKEN_TIMEOUT_MS', env.FLEX_TOKEN_TIMEOUT_MS, DEFAULT_TOKEN_TIMEOUT_MS);
  const fetchTimeoutMs = parseBound(
    'FLEX_ASSET_FETCH_TIMEOUT_MS',
    env.FLEX_ASSET_FETCH_TIMEOUT_MS,
    DEFAULT_ASSET_FETCH_TIMEOUT_MS,
  );
  if (tokenTimeoutMs + fetchTimeoutMs > MAX_TOTAL_BOUND_MS) {
    throw new SettingsError(
      'FLEX_ASSET_FETCH_TIMEOUT_MS',
      `FLEX_TOKEN_TIMEOUT_MS + FLEX_ASSET_FETCH_TIMEOUT_MS = ${tokenTimeoutMs + fetchTimeoutMs} ms leaves no time to answer within the 10 s Function limit (at most ${MAX_TOTAL_BOUND_MS})`,
    );
  }
  const tokenCacheSeconds = wholeNumber('FLEX_TOKEN_CACHE_SECONDS', env.FLEX_TOKEN_CACHE_SECONDS, {
    fallback: DEFAULT_TOKEN_CACHE_SECONDS,
    min: 0,
    max: MAX_TOKEN_CACHE_SECONDS,
    unit: 'seconds',
  });
  return {
    allowedOrigins: parseAllowedOrigins(env.FLEX_ALLOWED_ORIGINS),
    tokenTimeoutMs,
    fetchTimeoutMs,
    tokenCacheMs: tokenCacheSeconds * 1000,
  };
}

/**
 * Base URL public and protected assets are fetched from: the service's own domain (https when deployed, http
 * for twilio-run's localhost:PORT), or PROTECTED_ASSET_BASE_URL when set (a tunnel, or a fake host in tests).
 */
export function assetBaseUrl(env: ServiceEnv): string {
  return baseUrlFrom(env, 'PROTECTED_ASSET_BASE_URL');
}
