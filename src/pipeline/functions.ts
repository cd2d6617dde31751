import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { RUNTIME_BUNDLE } from './bundle';
import { typeCheck } from './typecheck';

export interface FunctionEntry {
  /** absolute path of the TypeScript source */
  source: string;
  /** path of the built file relative to the functions output folder, e.g. mms/inbound.protected.js */
  output: string;
}

const SOURCE_EXTENSION = /\.ts$/;

function isFunctionSource(file: string): boolean {
  return SOURCE_EXTENSION.test(file) && !file.endsWith('.d.ts') && !/\.(test|spec)\.ts$/.test(file);
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

/** Every Function source under the given folders, keeping its route and visibility marker. */
export function listFunctions(functionDirs: string[]): FunctionEntry[] {
  const entries: FunctionEntry[] = [];
  const seen = new Map<string, string>();
  for (const dir of functionDirs) {
    for (const source of walk(dir).filter(isFunctionSource)) {
      const output = path.relative(dir, source).split(path.sep).join('/').replace(SOURCE_EXTENSION, '.js');
      const previous = seen.get(output);
      if (previous) {
        throw new Error(`Two Function sources build to the same file ${output}: ${previous} and ${source}`);
      }
      seen.set(output, source);
      entries.push({ source, output });
    }
  }
  return entries;
}

export interface BuildFunctionsOptions {
  projectRoot: string;
  functionDirs: string[];
  outDir: string;
  /** compile-time constants, e.g. { __BUILD_INFO__: JSON.stringify(info) } */
  define?: Record<string, string>;
}

/**
 * Type-checks, then bundles each Function into one self-contained CommonJS file: our own modules are
 * inlined so a deployed Function never needs a relative require; npm packages stay external because
 * Twilio installs the package.json dependencies next to the Functions.
 */
export async function buildFunctions(options: BuildFunctionsOptions): Promise<FunctionEntry[]> {
  const entries = listFunctions(options.functionDirs);
  typeCheck(
    entries.map((e) => e.source),
    options.projectRoot,
  );
  fs.rmSync(options.outDir, { recursive: true, force: true });
  fs.mkdirSync(options.outDir, { recursive: true });
  await Promise.all(
    entries.map((entry) =>
      esbuild.build({
        entryPoints: [entry.source],
        outfile: path.join(options.outDir, entry.output),
        ...RUNTIME_BUNDLE,
        sourcemap: false,
        define: options.define,
      }),
    ),
  );
  return entries;
}
