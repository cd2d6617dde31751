/**
 * The service's settings, read from a Function's context (the .env file locally, the service's environment
 * variables deployed) or from process.env in the commands. One rule per kind of value, each error naming the
 * variable at fault, so a typo fails loudly instead of falling back to something silently permissive.
 */

/** Every variable the project reads; all optional, documented in docs/environment.md. */
export interface ServiceEnv {
  /** set by the runtime: the service's domain, or localhost:PORT locally */
  DOMAIN_NAME?: string;
  ACCOUNT_SID?: string;
  AUTH_TOKEN?: string;
  API_KEY?: string;
  API_SECRET?: string;
  TWILIO_REGION?: string;
  /** public base URL of the service when Twilio reaches it through a tunnel, e.g. https://abc.ngrok.app */
  WEBHOOK_BASE_URL?: string;
  MEDIA_ALLOWED_HOSTS?: string;
  MEDIA_FETCH_DEADLINE_MS?: string;
  MEDIA_ATTEMPT_TIMEOUT_MS?: string;
  LOG_LEVEL?: string;
  MMS_FROM?: string;
  MMS_REPLY?: string;
  /** text of the /sms/reply example's <Message>; empty: no reply */
  SMS_REPLY?: string;
  FLEX_ALLOWED_ORIGINS?: string;
  FLEX_TOKEN_TIMEOUT_MS?: string;
  FLEX_ASSET_FETCH_TIMEOUT_MS?: string;
  PROTECTED_ASSET_BASE_URL?: string;
  FLEX_TOKEN_CACHE_SECONDS?: string;
  /** the deploying credentials of a CI job (the Twilio CLI's names); never uploaded, see credentialsFrom */
  TWILIO_ACCOUNT_SID?: string;
  TWILIO_API_KEY?: string;
  TWILIO_API_SECRET?: string;
  TWILIO_AUTH_TOKEN?: string;
  /** base URL of Twilio's REST API; only for proxies and tests, default https://api.twilio.com */
  TWILIO_API_BASE_URL?: string;
  /** base URL of Studio's API for flows:deploy and flows:pull; only for proxies and tests, default https://studio.twilio.com */
  TWILIO_STUDIO_BASE_URL?: string;
  /** base URL of the Serverless API for flows:deploy, flows:pull and media:report --service; only for proxies and tests, default https://serverless.twilio.com */
  TWILIO_SERVERLESS_BASE_URL?: string;
  /** where inbound MMS media is kept: s3://BUCKET[/PREFIX], or folder:PATH (local runtime only) */
  MEDIA_STORE_URL?: string;
  MEDIA_STORE_ENDPOINT?: string;
  MEDIA_STORE_REGION?: string;
  MEDIA_STORE_ACCESS_KEY_ID?: string;
  MEDIA_STORE_SECRET_ACCESS_KEY?: string;
  /** which of From, To, Body go in the message record (personal data: none by default) */
  MEDIA_STORE_MESSAGE_FIELDS?: string;
  /** true: delete each media item from Twilio once its stored copy is verified */
  MEDIA_DELETE_AFTER_STORE?: string;
  /** wav (default) or mp3: the format a recording is kept in */
  RECORDINGS_FORMAT?: string;
  /** true: delete each recording from Twilio once its kept copy verifies and its record is written */
  RECORDINGS_DELETE_AFTER_STORE?: string;
  /** life of a playback link answered by /recordings/url-provider (60 to 3600 seconds, default 600) */
  RECORDINGS_LINK_SECONDS?: string;
  [key: string]: string | undefined;
}

/** A setting that cannot be used; the message names the variable. */
export class SettingsError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'SettingsError';
  }
}

export interface WholeNumberRule {
  /** used when the variable is unset or empty */
  fallback: number;
  min?: number;
  max: number;
  /** what the number counts, for the message: "milliseconds", "seconds"... */
  unit?: string;
}

/**
 * The one number rule: decimal digits only, within [min, max]. "1e3", "0x400", "1.5" and " " are refused rather
 * than read as something the writer may not have meant (Number() would take the first two).
 */
export function wholeNumber(name: string, raw: string | undefined, rule: WholeNumberRule): number {
  if (raw === undefined || raw === '') return rule.fallback;
  const min = rule.min ?? 1;
  const text = raw.trim();
  const value = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= rule.max)) {
    throw new SettingsError(
      name,
      `${name} must be a whole number${rule.unit ? ` of ${rule.unit}` : ''} from ${min} to ${rule.max}, got "${text.slice(0, 40)}"`,
    );
  }
  return value;
}

/** The one yes/no rule: "true" or "false" (any case), unset or empty gives the fallback; anything else is refused. */
export function booleanSetting(name: string, raw: string | undefined, fallback: boolean): boolean {
  const text = raw?.trim().toLowerCase();
  if (!text) return fallback;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new SettingsError(name, `${name} must be true or false, got "${raw!.trim().slice(0, 40)}"`);
}

export type CredentialEnv = Pick<
  ServiceEnv,
  | 'ACCOUNT_SID'
  | 'AUTH_TOKEN'
  | 'API_KEY'
  | 'API_SECRET'
  | 'TWILIO_ACCOUNT_SID'
  | 'TWILIO_API_KEY'
  | 'TWILIO_API_SECRET'
  | 'TWILIO_AUTH_TOKEN'
>;

/** HTTP Basic credentials for Twilio's API and media URLs, and where they came from. */
export interface Credentials {
  accountSid?: string;
  username: string;
  password: string;
  /** API_KEY: an API key and its secret; AUTH_TOKEN: the account SID and its auth token */
  kind: 'API_KEY' | 'AUTH_TOKEN';
  /** the variables they were read from, for messages: "TWILIO_API_KEY" or "ACCOUNT_SID" style */
  from: 'TWILIO_*' | 'env file';
}

/**
 * What every credential message names: the variables looked for, in the order they are looked at. A deploying
 * machine (CI) sets the Twilio CLI's own variables; a laptop keeps ACCOUNT_SID with AUTH_TOKEN (or the Functions'
 * API_KEY and API_SECRET) in .env. docs/deploy.md ("Credentials") says the same.
 */
export const CREDENTIALS_LOOKED_FOR =
  'TWILIO_ACCOUNT_SID with TWILIO_API_KEY and TWILIO_API_SECRET (or TWILIO_AUTH_TOKEN) in the environment, then ACCOUNT_SID with API_KEY and API_SECRET or AUTH_TOKEN in the env files';

/** One pair of variables names, read by the same rule: the Twilio CLI's (TWILIO_*) or the env files'. */
interface CredentialNames {
  accountSid: keyof CredentialEnv;
  authToken: keyof CredentialEnv;
  apiKey: keyof CredentialEnv;
  apiSecret: keyof CredentialEnv;
}
const TWILIO_CLI_NAMES: CredentialNames = {
  accountSid: 'TWILIO_ACCOUNT_SID',
  authToken: 'TWILIO_AUTH_TOKEN',
  apiKey: 'TWILIO_API_KEY',
  apiSecret: 'TWILIO_API_SECRET',
};
const ENV_FILE_NAMES: CredentialNames = {
  accountSid: 'ACCOUNT_SID',
  authToken: 'AUTH_TOKEN',
  apiKey: 'API_KEY',
  apiSecret: 'API_SECRET',
};

function credentialsNamed(env: CredentialEnv, names: CredentialNames, from: Credentials['from']) {
  const apiKey = env[names.apiKey]?.trim();
  const apiSecret = env[names.apiSecret]?.trim();
  const accountSid = env[names.accountSid]?.trim() || undefined;
  if (apiKey || apiSecret) {
    if (!apiSecret)
      throw new SettingsError(
        names.apiSecret,
        `${names.apiSecret} is not set, but ${names.apiKey} is: set both, or neither`,
      );
    if (!apiKey)
      throw new SettingsError(
        names.apiKey,
        `${names.apiKey} is not set, but ${names.apiSecret} is: set both, or neither`,
      );
    return { accountSid, username: apiKey, password: apiSecret, kind: 'API_KEY' as const, from };
  }
  const authToken = env[names.authToken]?.trim();
  if (accountSid && authToken)
    return { accountSid, username: accountSid, password: authToken, kind: 'AUTH_TOKEN' as const, from };
  if (accountSid) {
    throw new SettingsError(
      names.authToken,
      `${names.authToken} is not set, but ${names.accountSid} is: set both (or ${names.apiKey} and ${names.apiSecret})`,
    );
  }
  if (authToken)
    throw new SettingsError(names.accountSid, `${names.accountSid} is not set, but ${names.authToken} is: set both`);
  return undefined;
}

/**
 * The one credential rule, for every caller: the Twilio CLI's variables when any is set (TWILIO_ACCOUNT_SID with
 * TWILIO_API_KEY and TWILIO_API_SECRET, or with TWILIO_AUTH_TOKEN: what a CI job holds, twilio-cli's documented
 * names: https://www.twilio.com/docs/twilio-cli/general-usage/profiles, "use environment variables"; Twilio recommends
 * the API key: https://www.twilio.com/docs/usage/requests-to-twilio), else the env files' (an API key, API_KEY with
 * API_SECRET, when one is set, else ACCOUNT_SID with AUTH_TOKEN). An API key needs no Auth Token anywhere. Half a pair is an error naming the missing half, never a
 * quiet fall back to the other pair or to no credentials. Nothing set at all gives undefined: the caller decides
 * whether it can go on without (an unauthenticated media fetch) or must refuse (requireCredentials). Explicit
 * flags, where a command has them, come before both (src/deploy/twilio-run-hook.ts for twilio-run's).
 * Deployed Functions never see TWILIO_*: a deploy refuses them as variables (src/deploy/variables.ts).
 */
export function credentialsFrom(env: CredentialEnv): Omit<Credentials, 'from'> | undefined {
  const credentials = credentialsWithSource(env);
  if (!credentials) return undefined;
  const { from: _from, ...rest } = credentials;
  return rest;
}

/** credentialsFrom, saying which layer the credentials came from. */
export function credentialsWithSource(env: CredentialEnv): Credentials | undefined {
  return credentialsNamed(env, TWILIO_CLI_NAMES, 'TWILIO_*') ?? credentialsNamed(env, ENV_FILE_NAMES, 'env file');
}

/** The credential rule for callers that cannot work without credentials and need the account SID. */
export function requireCredentials(env: CredentialEnv): Credentials & { accountSid: string } {
  const credentials = credentialsWithSource(env);
  if (!credentials) {
    throw new SettingsError(
      'ACCOUNT_SID',
      `ACCOUNT_SID is not set, nor any Twilio credential: looked for ${CREDENTIALS_LOOKED_FOR}`,
    );
  }
  if (!credentials.accountSid) {
    throw new SettingsError(
      'ACCOUNT_SID',
      'ACCOUNT_SID is not set: an API key needs the account it belongs to (TWILIO_ACCOUNT_SID or ACCOUNT_SID)',
    );
  }
  return { ...credentials, accountSid: credentials.accountSid };
}

const LOCAL_DOMAIN = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/** True in the local runtime (twilio-run sets DOMAIN_NAME to localhost:PORT), false deployed. */
export function isLocalRuntime(env: Pick<ServiceEnv, 'DOMAIN_NAME'>): boolean {
  return LOCAL_DOMAIN.test(env.DOMAIN_NAME?.trim() ?? '');
}

/**
 * The one base-URL rule: the override variable when set (an absolute http(s) URL, trailing slashes dropped),
 * else DOMAIN_NAME. Deployed, DOMAIN_NAME is the service's domain and Twilio only speaks https to it; locally
 * twilio-run sets it to "localhost:PORT", served over plain http.
 */
export function baseUrlFrom(env: ServiceEnv, overrideVariable: string): string {
  const override = env[overrideVariable]?.trim();
  if (override) {
    let url: URL | undefined;
    try {
      url = new URL(override);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new SettingsError(
        overrideVariable,
        `${overrideVariable} "${override.slice(0, 100)}" is not an absolute http(s) URL`,
      );
    }
    return override.replace(/\/+$/, '');
  }
  const domain = env.DOMAIN_NAME?.trim();
  if (!domain)
    throw new SettingsError('DOMAIN_NAME', 'DOMAIN_NAME is not set: cannot build absolute URLs of this service');
  return `${LOCAL_DOMAIN.test(domain) ? 'http' : 'https'}://${domain}`;
}
