import { credentialsFrom, ServiceEnv, wholeNumber } from '../settings';
import type { FetchMediaOptions } from './media-fetcher';
import { DEFAULT_MEDIA_HOSTS, DEFAULT_REDIRECT_HOSTS, parseHostList } from './allowlist';

/** Functions are stopped after 10 s; stop fetching early enough to answer Twilio in time. */
export const DEFAULT_FETCH_DEADLINE_MS = 8000;
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 3000;

/** The environment of a Function that fetches Twilio media (webhooks and callbacks). */
export type FetchEnv = Pick<
  ServiceEnv,
  | 'ACCOUNT_SID'
  | 'AUTH_TOKEN'
  | 'API_KEY'
  | 'API_SECRET'
  | 'MEDIA_ALLOWED_HOSTS'
  | 'MEDIA_FETCH_DEADLINE_MS'
  | 'MEDIA_ATTEMPT_TIMEOUT_MS'
  | 'LOG_LEVEL'
>;

export interface FetchSettings {
  allowedHosts: string[];
  redirectAllowedHosts: string[];
  deadlineMs: number;
  attemptTimeoutMs: number;
  /** see credentialsFrom: undefined when no credential is configured at all */
  auth?: { username: string; password: string };
  debug: boolean;
}

/** A fetch must end before the Function's 10 s limit with time left to answer. */
const MS = { unit: 'milliseconds', max: 9500 };

/** Fetch settings from the environment; throws a SettingsError naming the variable at fault. */
export function fetchSettingsFrom(env: FetchEnv): FetchSettings {
  const hosts = parseHostList(env.MEDIA_ALLOWED_HOSTS);
  const credentials = credentialsFrom(env);
  return {
    allowedHosts: hosts ?? DEFAULT_MEDIA_HOSTS,
    redirectAllowedHosts: hosts ?? DEFAULT_REDIRECT_HOSTS,
    deadlineMs: wholeNumber('MEDIA_FETCH_DEADLINE_MS', env.MEDIA_FETCH_DEADLINE_MS, {
      ...MS,
      fallback: DEFAULT_FETCH_DEADLINE_MS,
    }),
    attemptTimeoutMs: wholeNumber('MEDIA_ATTEMPT_TIMEOUT_MS', env.MEDIA_ATTEMPT_TIMEOUT_MS, {
      ...MS,
      fallback: DEFAULT_ATTEMPT_TIMEOUT_MS,
    }),
    ...(credentials ? { auth: { username: credentials.username, password: credentials.password } } : {}),
    debug: env.LOG_LEVEL === 'debug',
  };
}

/**
 * The fetch settings of a webhook or callback, or undefined once the variable at fault is logged: the handler
 * still answers Twilio, which would otherwise retry a request that cannot succeed until the setting is fixed.
 */
export function fetchSettingsOrLog(
  env: FetchEnv,
  log: (record: Record<string, unknown>) => void,
  logContext: Record<string, unknown>,
): FetchSettings | undefined {
  try {
    return fetchSettingsFrom(env);
  } catch (err) {
    log({ level: 'error', event: 'config_error', ...logContext, problem: (err as Error).message });
    return undefined;
  }
}

/**
 * The fetcher options these settings give a webhook or callback that arrived at receivedAt: its deadline
 * counts from then. The caller adds the URL, its log and what is its own (budget, probe, log context).
 */
export function fetchOptionsFor(
  settings: FetchSettings,
  receivedAt: number,
): Pick<
  FetchMediaOptions,
  'auth' | 'allowedHosts' | 'redirectAllowedHosts' | 'deadlineAt' | 'attemptTimeoutMs' | 'receivedAt' | 'debug'
> {
  return {
    auth: settings.auth,
    allowedHosts: settings.allowedHosts,
    redirectAllowedHosts: settings.redirectAllowedHosts,
    deadlineAt: receivedAt + settings.deadlineMs,
    attemptTimeoutMs: settings.attemptTimeoutMs,
    receivedAt,
    debug: settings.debug,
  };
}
