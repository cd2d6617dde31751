import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BuildInfo } from '../lib/build-info';
import { stageAssets } from './assets-stage';
import { buildFunctions, listFunctions } from './functions';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export interface BuildOptions {
  projectRoot?: string;
  /** source media; default <root>/assets */
  assetsDir?: string;
  /** Function sources; default [<root>/src/functions] */
  functionDirs?: string[];
  /** output; default <root>/dist (dist/functions + dist/assets) */
  outDir?: string;
  log?: (line: string) => void;
}

export interface BuildResult {
  outDir: string;
  functionsDir: string;
  assetsDir: string;
  info: BuildInfo;
}

export async function buildProject(options: BuildOptions = {}): Promise<BuildResult> {
  const root = options.projectRoot ?? PROJECT_ROOT;
  const outDir = path.resolve(options.outDir ?? path.join(root, 'dist'));
  const functionsDir = path.join(outDir, 'functions');
  const assetsDir = path.join(outDir, 'assets');
  const log = options.log ?? (() => undefined);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };

  const assets = stageAssets(path.resolve(options.assetsDir ?? path.join(root, 'assets')), assetsDir);
  const functionDirs = (options.functionDirs ?? [path.join(root, 'src', 'functions')]).map((d) => path.resolve(d));
  const info: BuildInfo = {
    name: pkg.name,
    version: pkg.version,
    builtAt: new Date().toISOString(),
    functions: 0,
    assets: { ...assets, total: assets.public + assets.protected + assets.private },
  };
  // The Function count is known before bundling; bake it into the build info every Function carries.
  info.functions = listFunctions(functionDirs).length;
  const entries = await buildFunctions({
    projectRoot: root,
    functionDirs,
    outDir: functionsDir,
    define: { __BUILD_INFO__: JSON.stringify(info) },
  });
  log(`built ${entries.length} functions into ${path.relative(root, functionsDir) || functionsDir}`);
  log(`staged ${info.assets.total} assets into ${path.relative(root, assetsDir) || assetsDir}`);
  return { outDir, functionsDir, assetsDir, info };
}
