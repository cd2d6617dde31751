import { validator as flexTokenValidator } from 'twilio-flex-token-validator';
import { Credentials, requireCredentials, ServiceEnv, SettingsError } from '../settings';

/**
 * The Flex token check. twilio-flex-token-validator POSTs the token to Twilio IAM
 * (https://iam.twilio.com/v1/Accounts/{AccountSid}/Tokens/validate, or iam.{region}.twilio.com) with
 * https.request and no timeout of its own, and rejects with a bare string: IAM's message for a refused token,
 * the socket error's message when IAM cannot be reached. This module adds what the Function needs on top:
 * a hard bound on the wait, and a verdict that tells a refused token (403) from a token service that did
 * not answer (503/504), so the agent is not told their session is bad when Twilio is unreachable.
 */
export type ValidateFn = (
  token: string,
  accountSid: string,
  authToken?: string,
  realm?: string,
  apiCredentials?: { Sid: string; Secret: string },
) => Promise<object>;

export type TokenFailure = 'missing' | 'invalid' | 'expired' | 'timeout' | 'unreachable' | 'config';

export type TokenVerdict =
  | {
      ok: true;
      identity?: string;
      workerSid?: string;
      roles?: string[];
      /** epoch ms of the token's expiration, when IAM gave one */ expiresAt?: number;
    }
  | { ok: false; status: 403 | 500 | 503 | 504; reason: TokenFailure; message: string };

export type TokenCredentials = Pick<
  ServiceEnv,
  'ACCOUNT_SID' | 'AUTH_TOKEN' | 'API_KEY' | 'API_SECRET' | 'TWILIO_REGION'
>;

export interface CheckOptions {
  timeoutMs: number;
  /** the validator to call; default twilio-flex-token-validator's */
  validate?: ValidateFn;
  now?: () => number;
}

// Node's socket error codes as they appear in err.message, which is all the validator passes on.
const UNREACHABLE =
  /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ECONNABORTED|ERR_TLS\w*|CERT_\w+)\b|socket hang up/i;
// JSON.parse's messages: IAM (or a proxy before it) answered something that is not a verdict.
const NOT_A_VERDICT = /JSON|Unexpected (token|end)/;

function failure(status: 403 | 500 | 503 | 504, reason: TokenFailure, message: string): TokenVerdict {
  return { ok: false, status, reason, message };
}

/** Turns the validator's rejection (a string, sometimes an Error) into a verdict. */
export function classifyRejection(rejection: unknown): TokenVerdict {
  const text = (rejection instanceof Error ? rejection.message : typeof rejection === 'string' ? rejection : '').slice(
    0,
    200,
  );
  if (UNREACHABLE.test(text))
    return failure(503, 'unreachable', 'the Flex token service (Twilio IAM) could not be reached; try again shortly');
  if (NOT_A_VERDICT.test(text))
    return failure(503, 'unreachable', 'the Flex token service (Twilio IAM) gave no usable answer; try again shortly');
  // IAM answers 401 {"message": "Authenticate"} when the service's own credentials are wrong: not the agent's fault.
  if (text === 'Authenticate')
    return failure(
      500,
      'config',
      "Twilio IAM refused this service's credentials (ACCOUNT_SID with AUTH_TOKEN or API_KEY/API_SECRET)",
    );
  if (/expired/i.test(text))
    return failure(
      403,
      'expired',
      'the Flex token has expired: the plugin must send a fresh token (manager.user.token)',
    );
  return failure(403, 'invalid', `the Flex token was refused${text ? `: ${text}` : ''}`);
}

function expirationOf(result: Record<string, unknown>): number | undefined {
  const expiration = result.expiration;
  if (typeof expiration !== 'string' && typeof expiration !== 'number') return undefined;
  const at = new Date(expiration).getTime();
  return Number.isFinite(at) ? at : undefined;
}

/**
 * Longest Token accepted, in characters. A Flex token is a JWT of a few hundred to about two thousand
 * characters; anything far longer is not one, and is refused before it is sent anywhere (IAM included).
 */
export const MAX_TOKEN_CHARS = 8192;
/** A JWT is base64url segments joined by dots; printable ASCII without spaces is allowed, nothing else. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

export type TokenFromBody =
  | { ok: true; token: string }
  | { ok: false; status: 400 | 403; reason: TokenFailure | 'url' | 'too-long'; message: string };

/** Why `text` cannot be a Flex token (too long, or characters no JWT has), naming where it came from. */
function unlikeAToken(text: string, where: string): Extract<TokenFromBody, { ok: false }> | undefined {
  if (text.length > MAX_TOKEN_CHARS)
    return {
      ok: false,
      status: 400,
      reason: 'too-long',
      message: `${where} is ${text.length} characters, longer than any Flex token (at most ${MAX_TOKEN_CHARS}); it was not checked`,
    };
  if (!TOKEN_CHARS.test(text))
    return {
      ok: false,
      status: 400,
      reason: 'invalid',
      message: `${where} is not a Flex token (printable characters without spaces only)`,
    };
  return undefined;
}

/**
 * The Token parameter, accepted only from a POST body and only when it is plausibly a token. The runtime merges
 * query and body parameters into one event and gives no URL, so a token sent in the URL (which lands in access
 * logs and browser history) is recognised by the request: it has no form or JSON body, or a body shorter than the
 * token itself (Content-Length counts the body only). Checked before any call, so neither a URL token nor a
 * 5 MB one ever reaches Twilio IAM.
 */
export function tokenFromBody(raw: unknown, headers: Record<string, string | string[] | undefined>): TokenFromBody {
  if (raw === undefined || raw === null || raw === '') {
    return {
      ok: false,
      status: 403,
      reason: 'missing',
      message: 'parameter "Token" is required: send the agent\'s Flex token (manager.user.token) in the POST body',
    };
  }
  if (typeof raw !== 'string')
    return { ok: false, status: 400, reason: 'invalid', message: 'parameter "Token" must be sent once, as a string' };
  const unlike = unlikeAToken(raw, 'parameter "Token"');
  if (unlike) return unlike;
  const type = typeof headers['content-type'] === 'string' ? headers['content-type'].toLowerCase() : '';
  const length = typeof headers['content-length'] === 'string' ? Number(headers['content-length']) : undefined;
  const hasBody = /^(application\/x-www-form-urlencoded|application\/json)\s*(;|$)/.test(type);
  // "Token=" and the token at least; a JSON body needs more ("Token":"..."), so this bound holds for both.
  if (!hasBody || (length !== undefined && !(length >= raw.length + 'Token='.length))) {
    return {
      ok: false,
      status: 400,
      reason: 'url',
      message:
        'parameter "Token" must be sent in the POST body (form or JSON), never in the URL: URLs are kept in access logs',
    };
  }
  return { ok: true, token: raw };
}

/** Asks Twilio IAM about a token that tokenFromBody has already accepted as plausibly one. */
export async function checkFlexToken(
  token: string,
  credentials: TokenCredentials,
  options: CheckOptions,
): Promise<TokenVerdict> {
  let service: Credentials & { accountSid: string };
  try {
    service = requireCredentials(credentials);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    return failure(500, 'config', `${err.message}: the Flex token cannot be checked`);
  }
  // Same region rule as the validator's own functionValidator: "ie1-..." -> iam.ie1.twilio.com.
  const realm = credentials.TWILIO_REGION ? credentials.TWILIO_REGION.split('-')[0] : '';
  const validate = options.validate ?? flexTokenValidator;
  const pending =
    service.kind === 'AUTH_TOKEN'
      ? validate(token, service.accountSid, service.password, realm)
      : validate(token, service.accountSid, undefined, realm, { Sid: service.username, Secret: service.password });
  // The validator offers no way to abort its request; past the bound it is abandoned (its late outcome is
  // ignored, never unhandled) and the Function answers at once.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
  });
  pending.catch(() => undefined);
  try {
    const outcome = await Promise.race([pending.then((result) => ({ result })), timedOut]);
    if (outcome === 'timeout') {
      return failure(
        504,
        'timeout',
        `the Flex token service (Twilio IAM) did not answer within ${options.timeoutMs} ms; try again shortly`,
      );
    }
    const result = (outcome.result ?? {}) as Record<string, unknown>;
    if (result.valid !== true) return classifyRejection(typeof result.message === 'string' ? result.message : '');
    const expiresAt = expirationOf(result);
    // A token IAM calls valid but whose expiration has passed is refused as well (belt and braces).
    if (expiresAt !== undefined && expiresAt <= (options.now ?? Date.now)()) return classifyRejection('Expired token');
    return {
      ok: true,
      expiresAt,
      identity: typeof result.identity === 'string' ? result.identity : undefined,
      workerSid: typeof result.worker_sid === 'string' ? result.worker_sid : undefined,
      roles: Array.isArray(result.roles) ? result.roles.filter((r): r is string => typeof r === 'string') : undefined,
    };
  } catch (rejection) {
    return classifyRejection(rejection);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The Flex token of a request from the Flex Insights Player to a recording's url_provider. Twilio's page "Secure
 * Playback of Recordings from Custom Storage" (https://www.twilio.com/docs/flex/developer/insights/playback-recordings-custom-storage)
 * shows the Player's request as a GET carrying `Authorization: Basic base64("token:" + the Flex JWE token)`; the
 * same checks as tokenFromBody apply to what it holds, before any call to Twilio IAM. A deployed Function sees the
 * Authorization header in event.request.headers (Twilio's page "Headers and cookies", runtime handler 1.2.0 or later).
 */
export function tokenFromAuthorization(headers: Record<string, string | string[] | undefined>): TokenFromBody {
  const header = headers['authorization'];
  if (header === undefined || header === '')
    return {
      ok: false,
      status: 403,
      reason: 'missing',
      message: 'header "Authorization" is required: Basic with user "token" and the agent\'s Flex token',
    };
  const match = typeof header === 'string' ? /^Basic\s+([A-Za-z0-9+/=]{1,16384})\s*$/i.exec(header) : null;
  const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (!match || colon < 0 || decoded.slice(0, colon) !== 'token')
    return {
      ok: false,
      status: 403,
      reason: 'invalid',
      message: 'header "Authorization" must be Basic with user "token" and the Flex token as password',
    };
  const token = decoded.slice(colon + 1);
  if (token === '')
    return { ok: false, status: 403, reason: 'missing', message: 'header "Authorization" holds no Flex token' };
  const unlike = unlikeAToken(token, 'the token in header "Authorization"');
  if (unlike) return unlike;
  return { ok: true, token };
}
