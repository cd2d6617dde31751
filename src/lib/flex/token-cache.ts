import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { checkFlexToken, TokenCredentials, TokenVerdict, ValidateFn } from './token';

/** Most verified tokens one warm instance remembers; the least recently used is forgotten first. */
const TOKEN_CACHE_MAX_ENTRIES = 1000;

type Verified = Extract<TokenVerdict, { ok: true }>;

export interface TokenCacheLookup {
  verdict: TokenVerdict;
  /** "hit": remembered; "shared": joined a check already in flight; "miss": asked IAM */
  source: 'hit' | 'shared' | 'miss';
}

/**
 * Flex tokens this warm instance verified with Twilio IAM, so a download in several ranges costs one IAM call,
 * not one per range. Keyed by a sha256 of the token (with the account and region it was checked for), never
 * the token itself; each entry lives at most `ttlMs` and never past the token's own expiration; only valid
 * verdicts are kept, so a refused or failed check is asked again next time. Concurrent checks of one token
 * share a single IAM call.
 *
 * lru-cache bounds the size; the time rule is checked here against an injectable clock, because the entry's
 * life depends on the token's expiration and tests need to move time.
 */
export class VerifiedTokenCache {
  private readonly entries = new LRUCache<string, { verdict: Verified; until: number }>({
    max: TOKEN_CACHE_MAX_ENTRIES,
  });
  private readonly inFlight = new Map<string, Promise<TokenVerdict>>();

  constructor(private readonly now: () => number = Date.now) {}

  static key(token: string, accountSid: string, realm: string): string {
    return createHash('sha256').update(`${accountSid}\0${realm}\0${token}`).digest('hex');
  }

  get size(): number {
    return this.entries.size;
  }

  async check(key: string, ttlMs: number, verify: () => Promise<TokenVerdict>): Promise<TokenCacheLookup> {
    const kept = this.entries.get(key);
    if (kept && kept.until > this.now()) return { verdict: kept.verdict, source: 'hit' };
    if (kept) this.entries.delete(key);
    const pending = this.inFlight.get(key);
    if (pending) return { verdict: await pending, source: 'shared' };
    const asked = verify();
    this.inFlight.set(key, asked);
    try {
      const verdict = await asked;
      if (verdict.ok && ttlMs > 0) {
        const until = Math.min(this.now() + ttlMs, verdict.expiresAt ?? Number.POSITIVE_INFINITY);
        if (until > this.now()) this.entries.set(key, { verdict, until });
      }
      return { verdict, source: 'miss' };
    } finally {
      this.inFlight.delete(key);
    }
  }
}

/**
 * The warm instance's cache of verified tokens, shared by /flex/asset and /recordings/url-provider. Held on
 * globalThis rather than in module scope: twilio-run's live mode reloads every module on each request, and the
 * cache must live as long as the process, as it does deployed.
 */
const CACHE_KEY = Symbol.for('twilio-media-assets/flex/verified-tokens');
export function instanceTokenCache(): VerifiedTokenCache {
  const holder = globalThis as { [CACHE_KEY]?: VerifiedTokenCache };
  return (holder[CACHE_KEY] ??= new VerifiedTokenCache());
}

/** The one way a Function checks a Flex token: through the instance's cache, then Twilio IAM within the bound. */
export async function verifyFlexToken(
  token: string,
  credentials: TokenCredentials,
  config: { tokenTimeoutMs: number; tokenCacheMs: number },
  deps: { validate?: ValidateFn; tokenCache?: VerifiedTokenCache } = {},
): Promise<TokenCacheLookup & { tokenMs: number }> {
  const started = Date.now();
  const cache = deps.tokenCache ?? instanceTokenCache();
  const key = VerifiedTokenCache.key(token, credentials.ACCOUNT_SID ?? '', credentials.TWILIO_REGION ?? '');
  const lookup = await cache.check(key, config.tokenCacheMs, () =>
    checkFlexToken(token, credentials, { timeoutMs: config.tokenTimeoutMs, validate: deps.validate }),
  );
  return { ...lookup, tokenMs: Date.now() - started };
}
