import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BuildInfo } from '../lib/build-info';
import { resolveLimits } from './asset-limits';
import { AssetCheck, AssetLimitError, checkAssets, formatUsage } from './asset-limits';
import { scanAssets } from './asset-scan';
import { stageAssets } from './asset-stage';
import { HashCache } from './hash-cache';
import { loadMediaConfig, MEDIA_CONFIG_FILE } from './media-config';
import { buildFunctions, FunctionBuildError, listFunctions, misplacedFunctions } from './functions';
import { buildTargets, checkFlowSources, FLOWS_DIR, listFlows } from './flows';
import { BuildInputs, inputEntries, writeBuildStamp } from './stamp';

import { PROJECT_ROOT } from './root';

export { PROJECT_ROOT };

export interface BuildOptions {
  projectRoot?: string;
  /** source media; default <root>/assets */
  assetsDir?: string;
  /** Function sources; default [<root>/src/functions] */
  functionDirs?: string[];
  /** output; default <root>/dist (dist/functions + dist/assets) */
  outDir?: string;
  log?: (line: string) => void;
  /** content hashes of earlier builds; default <root>/.build-cache/asset-hashes.json, null for none */
  hashCacheFile?: string | null;
  /** media.config.json to read; default <root>/media.config.json */
  configFile?: string;
  /** Studio flow definitions to check; default <root>/src/flows */
  flowsDir?: string;
}

export interface BuildResult {
  outDir: string;
  functionsDir: string;
  assetsDir: string;
  info: BuildInfo;
  check: AssetCheck;
  hashed: number;
  reused: number;
}

/** What a build reads; with no options, the project's own sources (what a deploy checks dist/ against). */
export function buildInputs(options: BuildOptions = {}): BuildInputs {
  const root = options.projectRoot ?? PROJECT_ROOT;
  return {
    projectRoot: root,
    functionDirs: (options.functionDirs ?? [path.join(root, 'src', 'functions')]).map((d) => path.resolve(d)),
    assetsDir: path.resolve(options.assetsDir ?? path.join(root, 'assets')),
    configFile: path.resolve(root, options.configFile ?? MEDIA_CONFIG_FILE),
  };
}

export async function buildProject(options: BuildOptions = {}): Promise<BuildResult> {
  const root = options.projectRoot ?? PROJECT_ROOT;
  const outDir = path.resolve(options.outDir ?? path.join(root, 'dist'));
  const inputs = buildInputs(options);
  // Taken before anything is read: a file edited during the build leaves the build stale, never current.
  const stampInputs = inputEntries(inputs);
  const functionsDir = path.join(outDir, 'functions');
  const assetsDir = path.join(outDir, 'assets');
  const log = options.log ?? (() => undefined);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };

  const config = loadMediaConfig(root, options.configFile);
  const functionDirs = inputs.functionDirs;
  // A Function the build would not see fails it, by name: never a deploy that silently lacks a route.
  const misplaced = misplacedFunctions(root, functionDirs);
  if (misplaced.length > 0) throw new FunctionBuildError(misplaced.join('\n'));
  const functions = listFunctions(functionDirs);
  const functionCount = functions.length;
  const scan = scanAssets(inputs.assetsDir, { within: [root] });
  // Limits first: nothing is written, let alone uploaded, for a tree Twilio would refuse.
  const check = checkAssets(scan, resolveLimits(config.limits), functionCount, config.notMedia);
  for (const skipped of check.skipped) log(`skipped ${skipped.rel}: ${skipped.reason}`);
  if (check.violations.length > 0) throw new AssetLimitError(check);
  // Flows next, against the Functions and media of this very build: a flow pointing at nothing fails here.
  const flows = checkFlowSources(
    listFlows(path.resolve(options.flowsDir ?? path.join(root, FLOWS_DIR))),
    buildTargets(functions, scan, config.notMedia),
  );
  check.usage.push({ visibility: 'flows', files: flows.length, bytes: 0, largest: 0 });

  const hashCacheFile =
    options.hashCacheFile === undefined ? path.join(root, '.build-cache', 'asset-hashes.json') : options.hashCacheFile;
  const started = Date.now();
  let lastProgress = started;
  const staged = await stageAssets({
    scan,
    outDir: assetsDir,
    cachePolicy: config.cachePolicy,
    notMedia: config.notMedia,
    hashCache: new HashCache(hashCacheFile ?? undefined),
    progress: (done, total, bytes, bytesToHash) => {
      const now = Date.now();
      if (now - lastProgress < 2000 && done < total) return;
      if (now - started < 2000) return;
      lastProgress = now;
      log(
        `assets: hashed ${done}/${total} new or changed files, ${Math.round((100 * bytes) / Math.max(bytesToHash, 1))}% of their bytes`,
      );
    },
  });
  // What is really deployed: every staged file plus the generated manifest (a private asset).
  const assets = { ...staged.counts, private: staged.counts.private + 1 };
  const info: BuildInfo = {
    name: pkg.name,
    version: pkg.version,
    builtAt: new Date().toISOString(),
    functions: functionCount,
    assets: { ...assets, total: assets.public + assets.protected + assets.private },
  };
  const built = await buildFunctions({
    projectRoot: root,
    functionDirs,
    outDir: functionsDir,
    define: { __BUILD_INFO__: JSON.stringify(info) },
  });
  const shown = (file: string) => path.relative(root, file).split(path.sep).join('/');
  for (const { source, reason } of built.notFunctions) log(`not a Function: ${shown(source)} (${reason})`);
  for (const { source } of built.helpers) log(`helper module, no handler: ${shown(source)} (private, no route)`);
  log(`built ${built.functions.length} functions into ${path.relative(root, functionsDir) || functionsDir}`);
  log(
    `staged ${info.assets.total} assets into ${path.relative(root, assetsDir) || assetsDir} (${staged.hashed} hashed, ${staged.reused} unchanged)`,
  );
  log(formatUsage(check));
  writeBuildStamp(outDir, stampInputs, info);
  return { outDir, functionsDir, assetsDir, info, check, hashed: staged.hashed, reused: staged.reused };
}
