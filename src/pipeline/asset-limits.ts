import * as path from 'node:path';
import { MANIFEST_ASSET_PATH, MANIFEST_FILE_NAME } from '../lib/manifest';
import { MAX_RESPONSE_BODY_BYTES } from '../lib/response-limit';
import { formatTable } from '../lib/text-table';
import {
  AssetScan,
  isNotMedia,
  SkippedFile,
  SourceAsset,
  twilioPathAndAccess,
  VERSION_LENGTH,
  versionedRel,
} from './asset-scan';
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

const VERSION_PLACEHOLDER = 'x'.repeat(VERSION_LENGTH);

export interface Violation {
  /** file at fault (relative to the assets folder), or the folder for count limits */
  file: string;
  rule: string;
  message: string;
}

export interface UsageRow {
  visibility: 'public+protected' | 'private' | 'functions' | 'flows';
  files: number;
  /** none for flows: Studio sets no limit per build */
  fileLimit?: number;
  bytes: number;
  largest: number;
  largestLimit?: number;
}

export interface AssetCheck {
  violations: Violation[];
  usage: UsageRow[];
  skipped: SkippedFile[];
}

const FORBIDDEN = /[#;,?:@+&$()'" ]/g;

/**
 * Checks what would really be deployed (the versioned copies and the generated manifest, not the sources)
 * against the limits, reporting every violation at once with the file, the rule, the value and the limit.
 */
export function checkAssets(
  scan: AssetScan,
  limits: AssetLimits,
  functionCount: number,
  notMedia: readonly string[] = [],
): AssetCheck {
  const violations: Violation[] = [];
  const add = (file: string, rule: string, message: string) => violations.push({ file, rule, message });
  const byPath = new Map<string, SourceAsset>();
  const tally = {
    public: { files: 0, bytes: 0, largest: 0, largestLimit: limits.publicFileBytes, rule: 'file-size' },
    // the generated manifest is one more private asset
    private: { files: 1, bytes: 0, largest: 0, largestLimit: limits.privateFileBytes, rule: 'private-file-size' },
  };
  for (const entry of scan.refused) add(entry.rel, entry.rule, entry.message);
  for (const file of scan.files) {
    const deployed =
      file.visibility === 'private'
        ? file.deployedPath
        : twilioPathAndAccess(versionedRel(file, VERSION_PLACEHOLDER)).path;
    const forbidden = file.deployedPath.match(FORBIDDEN);
    if (forbidden) {
      add(
        file.rel,
        'forbidden-character',
        `${file.rel}: path contains ${[...new Set(forbidden)].map((c) => JSON.stringify(c)).join(' ')}, which Twilio refuses in asset paths (# ; , ? : @ + & $ ( ) ' ")`,
      );
    }
    if (deployed.length > limits.pathLength) {
      add(
        file.rel,
        'path-length',
        `${file.rel}: deployed path is ${deployed.length} characters (with its ${VERSION_LENGTH}-character version), limit ${limits.pathLength}`,
      );
    }
    if (file.deployedPath === MANIFEST_ASSET_PATH) {
      add(
        file.rel,
        'reserved-path',
        `${file.rel}: deploys to ${MANIFEST_ASSET_PATH}, which the build reserves for the media manifest`,
      );
    }
    const other = byPath.get(file.deployedPath);
    if (other) {
      add(
        file.rel,
        'collision',
        `${file.rel}: deploys to the same path ${file.deployedPath} as ${other.rel}; rename one of them`,
      );
    } else {
      byPath.set(file.deployedPath, file);
    }
    const kind = tally[file.visibility === 'private' ? 'private' : 'public'];
    kind.files += 1;
    kind.bytes += file.bytes;
    kind.largest = Math.max(kind.largest, file.bytes);
    if (file.bytes > kind.largestLimit) {
      add(
        file.rel,
        kind.rule,
        `${file.rel}: ${file.visibility} asset is ${humanBytes(file.bytes)}, limit ${humanBytes(kind.largestLimit)}`,
      );
    }
    if (file.visibility === 'private') {
      // A private file has no URL: /media answers it whole from a Function, whose response is at most 4 MB.
      if (file.bytes > MAX_RESPONSE_BODY_BYTES && !isNotMedia(notMedia, file.name)) {
        add(
          file.rel,
          'private-media-size',
          `${file.rel}: private media is ${file.bytes} bytes, but /media serves it from a Function, whose answer is at most ${MAX_RESPONSE_BODY_BYTES} bytes ` +
            `(4,000,000 less a header margin): make it public or protected (Twilio's asset hosting serves those up to 25 MB), ` +
            `or, if only Functions read it, declare it in media.config.json "notMedia"`,
        );
      }
    } else if (isNotMedia(notMedia, file.name)) {
      add(
        file.rel,
        'not-media-visibility',
        `${file.rel}: matches media.config.json "notMedia", but only private files can be kept from being served; this ${file.visibility} file has a public URL`,
      );
    }
  }
  const where = path.relative(process.cwd(), scan.dir) || '.';
  if (tally.public.files > limits.publicFiles) {
    add(
      where,
      'file-count',
      `${where}/: ${tally.public.files} public and protected assets, limit ${limits.publicFiles} per build`,
    );
  }
  if (tally.private.files > limits.privateFiles) {
    add(
      where,
      'private-file-count',
      `${where}/: ${tally.private.files} private assets (including the generated ${MANIFEST_FILE_NAME}), limit ${limits.privateFiles} per build`,
    );
  }
  if (functionCount > limits.functions) {
    add(
      'src/functions',
      'function-count',
      `src/functions/: ${functionCount} Functions, limit ${limits.functions} per build`,
    );
  }
  return {
    violations,
    skipped: scan.skipped,
    usage: [
      { visibility: 'public+protected', fileLimit: limits.publicFiles, ...usageOf(tally.public) },
      { visibility: 'private', fileLimit: limits.privateFiles, ...usageOf(tally.private) },
      { visibility: 'functions', files: functionCount, fileLimit: limits.functions, bytes: 0, largest: 0 },
    ],
  };
}

function usageOf({
  files,
  bytes,
  largest,
  largestLimit,
}: {
  files: number;
  bytes: number;
  largest: number;
  largestLimit: number;
}) {
  return { files, bytes, largest, largestLimit };
}

const percent = (value: number, limit: number) => `${((100 * value) / limit).toFixed(1)}%`;

/** The summary table printed on every build and by assets:check. */
export function formatUsage(check: AssetCheck): string {
  const rows = [['kind', 'files', 'limit', 'used', 'bytes', 'largest', 'per-file limit', 'used']];
  for (const u of check.usage) {
    rows.push([
      u.visibility,
      String(u.files),
      u.fileLimit === undefined ? '-' : String(u.fileLimit),
      u.fileLimit === undefined ? '-' : percent(u.files, u.fileLimit),
      u.visibility === 'functions' || u.visibility === 'flows' ? '-' : humanBytes(u.bytes),
      u.visibility === 'functions' || u.visibility === 'flows' ? '-' : humanBytes(u.largest),
      u.largestLimit ? humanBytes(u.largestLimit) : '-',
      u.largestLimit ? percent(u.largest, u.largestLimit) : '-',
    ]);
  }
  return formatTable(rows);
}

export class AssetLimitError extends Error {
  constructor(readonly check: AssetCheck) {
    super(
      `the asset tree breaks ${check.violations.length} Twilio limit${check.violations.length === 1 ? '' : 's'}:\n` +
        check.violations.map((v) => `  [${v.rule}] ${v.message}`).join('\n'),
    );
  }
}
