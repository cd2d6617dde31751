import { builtinModules } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { RUNTIME_BUNDLE } from './bundle';
import { TWILIO_RUN_FOLDERS } from './layout';
import { typeCheck } from './typecheck';

export interface FunctionEntry {
  /** absolute path of the source: TypeScript or JavaScript */
  source: string;
  /** path of the built file relative to the functions output folder, e.g. mms/inbound.protected.js */
  output: string;
}

/** A file in a Functions folder that the build does not turn into a Function, and why (said in the build's log). */
export interface NotAFunction {
  source: string;
  reason: string;
}

/** Sources the build bundles into Functions: TypeScript, and JavaScript as Twilio's samples write it (CommonJS or ESM). */
const SOURCE_EXTENSION = /\.(ts|js|cjs|mjs)$/;
const TEST_FILE = /\.(test|spec)\.(ts|js|cjs|mjs)$/;

/** Why a file of a Functions folder is not a Function source, or null when it is one. */
function notAFunctionBecause(file: string): string | null {
  if (file.endsWith('.d.ts')) return 'type declarations';
  if (TEST_FILE.test(file)) return 'a test (tests belong in test/)';
  if (!SOURCE_EXTENSION.test(file)) return 'not .ts, .js, .cjs or .mjs; bundled into any Function that imports it';
  return null;
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

export interface FunctionScan {
  functions: FunctionEntry[];
  notFunctions: NotAFunction[];
}

/** Every file under the given folders: the Function sources, with route and visibility marker, and the rest. */
export function scanFunctions(functionDirs: string[]): FunctionScan {
  const functions: FunctionEntry[] = [];
  const notFunctions: NotAFunction[] = [];
  const seen = new Map<string, string>();
  for (const dir of functionDirs) {
    for (const source of walk(dir)) {
      const reason = notAFunctionBecause(source);
      if (reason) {
        notFunctions.push({ source, reason });
        continue;
      }
      const output = path.relative(dir, source).split(path.sep).join('/').replace(SOURCE_EXTENSION, '.js');
      const previous = seen.get(output);
      if (previous) {
        throw new Error(`Two Function sources build to the same file ${output}: ${previous} and ${source}`);
      }
      seen.set(output, source);
      functions.push({ source, output });
    }
  }
  return { functions, notFunctions };
}

/** Every Function source under the given folders, keeping its route and visibility marker. */
export function listFunctions(functionDirs: string[]): FunctionEntry[] {
  return scanFunctions(functionDirs).functions;
}

/** A Function source the build refuses: the message names the file (and line, where there is one). */
export class FunctionBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FunctionBuildError';
  }
}

export interface BuildFunctionsOptions {
  projectRoot: string;
  functionDirs: string[];
  outDir: string;
  /** compile-time constants, e.g. { __BUILD_INFO__: JSON.stringify(info) } */
  define?: Record<string, string>;
}

export interface BuiltFunctions {
  functions: FunctionEntry[];
  notFunctions: NotAFunction[];
  /** private modules with no handler: built and deployed for Runtime.getFunctions(), never a route */
  helpers: FunctionEntry[];
}

const shownFrom = (root: string) => (file: string) => path.relative(root, file).split(path.sep).join('/') || file;

/**
 * A module of a Functions folder with no `handler` would answer every request with twilio-run's "could not find a
 * handler" 500. Twilio keeps helpers as private Functions, "library files intended only for access via other
 * Functions" (https://www.twilio.com/docs/serverless/functions-assets/visibility), loaded through
 * Runtime.getFunctions() (https://www.twilio.com/docs/serverless/functions-assets/client): those are built and
 * named as helpers; a public or protected one is refused.
 */
function handlerProblems(
  functions: FunctionEntry[],
  exportsOf: (file: string) => string[],
  shown: (file: string) => string,
): { helpers: FunctionEntry[]; problems: string[] } {
  const helpers = functions.filter((f) => !exportsOf(f.source).includes('handler'));
  const problems = helpers
    .filter((f) => !/\.private\.js$/.test(f.output))
    .map(
      (f) =>
        `${shown(f.source)} exports no \`handler\`: a Function exports one (\`export const handler\`, or \`exports.handler\` in JavaScript). ` +
        'Move shared code to src/lib/, or name a helper module NAME.private.js/.ts.',
    );
  return { helpers, problems };
}

/** The npm package a bare import names: `@scope/name/sub` -> `@scope/name`, `twilio/lib/x` -> `twilio`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const BUILTINS = new Set(builtinModules);

/**
 * Every package a Function imports must be a `dependencies` entry of package.json, installed: a deploy sends only
 * those as the Build's dependencies (@twilio-labs/serverless-api, getDependencies in dist/api/dependencies.js reads
 * `pkgJson.dependencies` alone), so a devDependency or a package missing here would fail deployed, at load.
 */
function checkPackages(
  metafile: esbuild.Metafile,
  projectRoot: string,
  shown: (file: string) => string,
  dependencies: Record<string, string>,
  devDependencies: Record<string, string>,
): string[] {
  // what the bundle really requires: an input's import list also holds imports erased as types only
  const required = new Set(
    Object.values(metafile.outputs).flatMap(({ imports }) => imports.filter((i) => i.external).map((i) => i.path)),
  );
  const problems: string[] = [];
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    for (const imported of imports) {
      if (!required.has(imported.path) || /^(node:|<)/.test(imported.path) || BUILTINS.has(imported.path)) continue;
      const name = packageOf(imported.path);
      if (BUILTINS.has(name)) continue;
      const where = shown(path.resolve(projectRoot, input));
      if (!(name in dependencies)) {
        const why =
          name in devDependencies
            ? 'is only a devDependency: deployed Functions get the package.json `dependencies` only'
            : 'is not in package.json `dependencies`';
        problems.push(`${where} requires the package "${name}", which ${why}. Run \`npm install ${name}\`.`);
        continue;
      }
      // the folder, not require.resolve: a package whose `exports` hides package.json or has no CommonJS entry is
      // still installed
      if (!fs.existsSync(path.join(projectRoot, 'node_modules', name, 'package.json')))
        problems.push(`${where} requires the package "${name}", which is not installed. Run \`npm install\`.`);
    }
  }
  return [...new Set(problems)];
}

/**
 * npm packages stay external, as RUNTIME_BUNDLE's `packages: 'external'` keeps them, but through a plugin so that
 * one can be told apart: `import '@twilio-labs/serverless-runtime-types'`, as twilio-run's TypeScript template
 * writes it, only brings in the runtime's global types (its index.js is empty). It is erased, so a Function does
 * not require at load a devDependency that is not installed where it is deployed. (With `packages: 'external'`
 * esbuild marks a bare import external before any plugin sees it.)
 */
const PACKAGES_EXTERNAL: esbuild.Plugin = {
  name: 'packages-external',
  setup(build) {
    build.onResolve({ filter: /^@twilio-labs\/serverless-runtime-types$/ }, (args) => ({
      path: args.path,
      namespace: 'types-only',
    }));
    build.onLoad({ filter: /.*/, namespace: 'types-only' }, () => ({ contents: '', loader: 'js' }));
    // a bare specifier: not ./, ../ or an absolute path
    build.onResolve({ filter: /^[^./]|^\.[^./]|^\.\.[^/]/ }, (args) =>
      path.isAbsolute(args.path) ? undefined : { path: args.path, external: true },
    );
  },
};

function failureMessage(failure: esbuild.BuildFailure, shown: (file: string) => string, entry: string): string {
  return failure.errors
    .map((e) =>
      e.location
        ? `${shown(path.resolve(e.location.file))}:${e.location.line}:${e.location.column + 1}: ${e.text}`
        : `${shown(entry)}: ${e.text}`,
    )
    .join('\n');
}

/**
 * Type-checks, then bundles each Function into one self-contained CommonJS file: our own modules are
 * inlined so a deployed Function never needs a relative require; npm packages stay external because
 * Twilio installs the package.json dependencies next to the Functions.
 */
export async function buildFunctions(options: BuildFunctionsOptions): Promise<BuiltFunctions> {
  const { functions, notFunctions } = scanFunctions(options.functionDirs);
  const shown = shownFrom(options.projectRoot);
  const checked = typeCheck(
    functions.map((e) => e.source),
    options.projectRoot,
  );
  const { helpers, problems } = handlerProblems(functions, checked.exportsOf, shown);
  const pkg = JSON.parse(fs.readFileSync(path.join(options.projectRoot, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  fs.rmSync(options.outDir, { recursive: true, force: true });
  fs.mkdirSync(options.outDir, { recursive: true });
  await Promise.all(
    functions.map(async (entry) => {
      try {
        const result = await esbuild.build({
          entryPoints: [entry.source],
          outfile: path.join(options.outDir, entry.output),
          ...RUNTIME_BUNDLE,
          packages: undefined,
          absWorkingDir: options.projectRoot,
          metafile: true,
          plugins: [PACKAGES_EXTERNAL],
          sourcemap: false,
          define: options.define,
        });
        problems.push(
          ...checkPackages(
            result.metafile,
            options.projectRoot,
            shown,
            pkg.dependencies ?? {},
            pkg.devDependencies ?? {},
          ),
        );
      } catch (error) {
        if (!(error instanceof Error && 'errors' in error)) throw error;
        problems.push(failureMessage(error as esbuild.BuildFailure, shown, entry.source));
      }
    }),
  );
  if (problems.length > 0) throw new FunctionBuildError([...new Set(problems)].sort().join('\n'));
  return { functions, notFunctions, helpers };
}

// at the start of a line: a statement, not a mention in a comment or a message
const HANDLER_EXPORT =
  /^\s*((module\.)?exports\.handler\s*=|export\s+(const|let|var|async\s+function|function)\s+handler\b)/m;
const SKIPPED_FOLDERS = new Set(['node_modules', '.git']);

/**
 * Functions the build would otherwise never see: a twilio-run project's top-level functions/ (or static/) folder
 * copied in, and a module exporting a handler anywhere under src/ but the Functions folders (where `twilio
 * serverless:new` writes a template's Functions in this project: src/NAMESPACE/, its first match of "functions",
 * "src"). Each is named with where to move it; the build refuses them rather than deploy without them.
 */
export function misplacedFunctions(projectRoot: string, functionDirs: string[]): string[] {
  const problems: string[] = [];
  for (const [folder, target] of Object.entries(TWILIO_RUN_FOLDERS)) {
    if (fs.existsSync(path.join(projectRoot, folder)))
      problems.push(
        `${folder}/ is twilio-run's layout; this project builds ${folder === 'functions' ? 'Functions' : 'assets'} from ${target} only: move its files there (docs/functions.md).`,
      );
  }
  const built = [...functionDirs, path.join(projectRoot, 'src', 'functions')];
  const inFunctionDirs = (file: string) => built.some((dir) => file.startsWith(dir + path.sep));
  const visit = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) visit(full);
      } else if (entry.isFile() && SOURCE_EXTENSION.test(full) && !inFunctionDirs(full)) {
        if (HANDLER_EXPORT.test(fs.readFileSync(full, 'utf8'))) {
          const rel = path.relative(path.join(projectRoot, 'src'), full).split(path.sep).join('/');
          problems.push(
            `src/${rel} exports a handler outside src/functions/, so it would never be built: move it to src/functions/${rel} (docs/functions.md).`,
          );
        }
      }
    }
  };
  visit(path.join(projectRoot, 'src'));
  return problems;
}
