import picomatch from 'picomatch';

/**
 * The cache policy of stable media URLs: glob patterns over logical names (e.g. "audio/**") mapped to
 * "no-cache" (revalidate on every use: the default) or "max-age=N" (time-based, N seconds).
 * Resolved at build time into each manifest entry, so Functions never match globs at run time.
 */
export type CacheDirective = 'no-cache' | `max-age=${number}`;

export interface CachePolicyRule {
  match: string;
  cache: CacheDirective;
}

export const DEFAULT_CACHE_DIRECTIVE: CacheDirective = 'no-cache';

/** Validates the "cachePolicy" value of the config; every message names the file and the rule at fault. */
export function parseCachePolicy(value: unknown, file: string): CachePolicyRule[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new Error(
      `${file}: "cachePolicy" must be an array of {"match": "<glob>", "cache": "no-cache" | "max-age=N"}`,
    );
  }
  return value.map((rule: unknown, i) => {
    const where = `${file}: cachePolicy[${i}]`;
    if (!rule || typeof rule !== 'object' || Array.isArray(rule)) throw new Error(`${where} must be an object`);
    const { match, cache, ...rest } = rule as Record<string, unknown>;
    const unknownKeys = Object.keys(rest);
    if (unknownKeys.length) throw new Error(`${where} has unknown key "${unknownKeys[0]}" (allowed: match, cache)`);
    if (typeof match !== 'string' || match.trim() === '')
      throw new Error(`${where}.match must be a non-empty glob such as "audio/**"`);
    if (match.startsWith('/'))
      throw new Error(`${where}.match "${match}" must be a logical name pattern without a leading "/"`);
    if (typeof cache !== 'string') throw new Error(`${where}.cache must be "no-cache" or "max-age=N"`);
    if (cache === 'no-cache') return { match, cache };
    const maxAge = /^max-age=(\d{1,10})$/.exec(cache);
    if (!maxAge) throw new Error(`${where}.cache "${cache}" is not "no-cache" or "max-age=N" (N whole seconds)`);
    const seconds = Number(maxAge[1]);
    if (seconds > 31536000)
      throw new Error(`${where}.cache "${cache}": max-age above one year (31536000) is not allowed`);
    return { match, cache: `max-age=${seconds}` as CacheDirective };
  });
}

/** First matching rule wins; no match means the default, no-cache. */
export function resolveCacheControl(rules: CachePolicyRule[], logicalName: string): CacheDirective {
  for (const rule of rules) {
    if (picomatch.isMatch(logicalName, rule.match, { dot: true })) return rule.cache;
  }
  return DEFAULT_CACHE_DIRECTIVE;
}
