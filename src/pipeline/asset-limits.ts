import type { LimitKey } from './media-config';

/**
 * Twilio's per-build limits for Serverless Assets and Functions. Some come from older versions of Twilio's
 * docs, so they are defaults that media.config.json "limits" can override. Sizes are decimal megabytes,
 * the smaller reading of Twilio's "25 MB", so a file we accept is never refused for size.
 */
export type AssetLimits = Record<LimitKey, number>;

export const MB = 1000 * 1000;

export const DEFAULT_ASSET_LIMITS: AssetLimits = {
  /** per public or protected asset */
  publicFileBytes: 25 * MB,
  /** public + protected asset versions in one build */
  publicFiles: 1000,
  /** per private asset */
  privateFileBytes: 10 * MB,
  /** private asset versions in one build (the generated manifest counts) */
  privateFiles: 50,
  /** Function versions in one build */
  functions: 50,
  /** longest deployed path; Twilio refuses 256 characters and more */
  pathLength: 255,
};

export function resolveLimits(overrides: Partial<AssetLimits>): AssetLimits {
  return { ...DEFAULT_ASSET_LIMITS, ...overrides };
}

export function humanBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < MB) return `${(bytes / 1000).toFixed(1)} kB`;
  if (bytes < 1000 * MB) return `${(bytes / MB).toFixed(1)} MB`;
  return `${(bytes / (1000 * MB)).toFixed(2)} GB`;
}
