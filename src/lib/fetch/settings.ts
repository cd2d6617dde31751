import { DEFAULT_MEDIA_HOSTS, DEFAULT_REDIRECT_HOSTS, parseHostList } from './allowlist';

/** Functions are stopped after 10 s; stop fetching early enough to answer Twilio in time. */
export const DEFAULT_FETCH_DEADLINE_MS = 8000;
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 3000;

/** The environment of a Function that fetches Twilio media (webhooks and callbacks). */
export interface FetchEnv {
  ACCOUNT_SID?: string;
  AUTH_TOKEN?: string;
  API_KEY?: string;
  API_SECRET?: string;
  MEDIA_ALLOWED_HOSTS?: string;
  MEDIA_FETCH_DEADLINE_MS?: string;
  MEDIA_ATTEMPT_TIMEOUT_MS?: string;
  LOG_LEVEL?: string;
}

export interface FetchSettings {
  allowedHosts: string[];
  redirectAllowedHosts: string[];
  deadlineMs: number;
  attemptTimeoutMs: number;
  /** API key and secret when set, else the account credentials; undefined when neither is configured */
  auth?: { username: string; password: string };
  debug: boolean;
}

export function positiveInt(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > max) throw new Error(`${name} must be a whole number of milliseconds from 1 to ${max}, got "${value}"`);
  return n;
}

/** Fetch settings from the environment; throws an Error naming the variable at fault. */
export function fetchSettingsFrom(env: FetchEnv): FetchSettings {
  const hosts = parseHostList(env.MEDIA_ALLOWED_HOSTS);
  const username = env.API_KEY || env.ACCOUNT_SID;
  const password = env.API_KEY ? env.API_SECRET : env.AUTH_TOKEN;
  return {
    allowedHosts: hosts ?? DEFAULT_MEDIA_HOSTS,
    redirectAllowedHosts: hosts ?? DEFAULT_REDIRECT_HOSTS,
    deadlineMs: positiveInt(env.MEDIA_FETCH_DEADLINE_MS, 'MEDIA_FETCH_DEADLINE_MS', DEFAULT_FETCH_DEADLINE_MS, 9500),
    attemptTimeoutMs: positiveInt(env.MEDIA_ATTEMPT_TIMEOUT_MS, 'MEDIA_ATTEMPT_TIMEOUT_MS', DEFAULT_ATTEMPT_TIMEOUT_MS, 9500),
    ...(username && password ? { auth: { username, password } } : {}),
    debug: env.LOG_LEVEL === 'debug',
  };
}
