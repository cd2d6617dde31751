import * as fs from 'node:fs';
import * as path from 'node:path';
import { CachePolicyRule, parseCachePolicy } from '../lib/cache-policy';
import { parseJsonFile } from '../lib/json';

/**
 * media.config.json at the project root: the one documented place for the asset limits (overrides of
 * Twilio's published defaults, for when Twilio changes them) and the cache policy of stable media URLs.
 * The file is optional; every error names the file and the key at fault.
 */
export const MEDIA_CONFIG_FILE = 'media.config.json';

export const LIMIT_KEYS = [
  'publicFileBytes',
  'publicFiles',
  'privateFileBytes',
  'privateFiles',
  'functions',
  'pathLength',
] as const;
export type LimitKey = (typeof LIMIT_KEYS)[number];

export interface MediaConfig {
  /** absolute path of the file read, or undefined when the project has none */
  file?: string;
  limits: Partial<Record<LimitKey, number>>;
  cachePolicy: CachePolicyRule[];
  /** glob patterns over logical names of private files that are not media: read by Functions only, never served */
  notMedia: string[];
}

export class MediaConfigError extends Error {}

export function loadMediaConfig(projectRoot: string, fileName = MEDIA_CONFIG_FILE): MediaConfig {
  const file = path.resolve(projectRoot, fileName);
  if (!fs.existsSync(file)) return { limits: {}, cachePolicy: [], notMedia: [] };
  return parseMediaConfig(fs.readFileSync(file, 'utf8'), file);
}

export function parseMediaConfig(text: string, file: string): MediaConfig {
  const data = parseJsonFile(text, file, (message) => new MediaConfigError(message));
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw new MediaConfigError(`${file}: expected a JSON object`);
  const { limits, cachePolicy, notMedia, $comment: _comment, ...rest } = data as Record<string, unknown>;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length) {
    throw new MediaConfigError(
      `${file}: unknown key "${unknownKeys[0]}" (allowed: limits, cachePolicy, notMedia, $comment)`,
    );
  }
  try {
    return {
      file,
      limits: parseLimits(limits, file),
      cachePolicy: parseCachePolicy(cachePolicy, file),
      notMedia: parseNotMedia(notMedia, file),
    };
  } catch (err) {
    if (err instanceof MediaConfigError) throw err;
    throw new MediaConfigError((err as Error).message);
  }
}

function parseLimits(value: unknown, file: string): Partial<Record<LimitKey, number>> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new MediaConfigError(`${file}: "limits" must be an object`);
  const limits: Partial<Record<LimitKey, number>> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) {
      throw new MediaConfigError(`${file}: limits.${key} is not a known limit (known: ${LIMIT_KEYS.join(', ')})`);
    }
    if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw <= 0) {
      throw new MediaConfigError(`${file}: limits.${key} must be a positive whole number, got ${JSON.stringify(raw)}`);
    }
    limits[key as LimitKey] = raw;
  }
  return limits;
}

function parseNotMedia(value: unknown, file: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new MediaConfigError(
      `${file}: "notMedia" must be an array of glob patterns over logical names, e.g. ["data/**"]`,
    );
  return value.map((pattern: unknown, i) => {
    if (typeof pattern !== 'string' || pattern.trim() === '')
      throw new MediaConfigError(`${file}: notMedia[${i}] must be a non-empty glob such as "data/**"`);
    if (pattern.startsWith('/'))
      throw new MediaConfigError(
        `${file}: notMedia[${i}] "${pattern}" must be a logical name pattern without a leading "/"`,
      );
    return pattern;
  });
}
