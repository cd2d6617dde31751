import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  buildFunctions,
  FunctionBuildError,
  listFunctions,
  misplacedFunctions,
  scanFunctions,
} from '../../src/pipeline/functions';
import { buildInputs } from '../../src/pipeline/project';
import { inputEntries, staleBuildReason, writeBuildStamp } from '../../src/pipeline/stamp';
import { TypeCheckError } from '../../src/pipeline/typecheck';
import { PROJECT_ROOT } from '../support/paths';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tma-fn-'));
}

function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
}

/** A Functions folder inside the project (so TypeScript resolves the project's types), removed after the test. */
function functionsFolder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tmp-functions-'));
  writeTree(dir, files);
  return dir;
}

const made: string[] = [];
afterAll(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});
/** Builds the given files as a Functions folder, after the folders in `alongside` (each build costs seconds). */
function build(files: Record<string, string>, alongside: string[] = []) {
  const dir = functionsFolder(files);
  const out = tempDir();
  made.push(dir, out);
  const rel = path.relative(PROJECT_ROOT, dir).split(path.sep).join('/');
  const functionDirs = [...alongside, dir];
  return { dir, out, rel, built: buildFunctions({ projectRoot: PROJECT_ROOT, functionDirs, outDir: out }) };
}

/** Loads a built Function as twilio-run does and calls its handler, resolving with what it passes to the callback. */
function call(file: string, event: Record<string, unknown> = {}): Promise<unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as {
    handler: (c: unknown, e: unknown, cb: (err: Error | null, r: unknown) => void) => void;
  };
  return new Promise((resolve, reject) => mod.handler({}, event, (err, r) => (err ? reject(err) : resolve(r))));
}

/** The message a build failed with. */
const failure = (built: Promise<unknown>) =>
  built.then(
    () => '',
    (error: Error) => error.message,
  );

const SAMPLE_JS = `exports.handler = function (context, event, callback) {
  callback(null, { said: event.Body });
};
`;

describe('function build', () => {
  it('keeps each route and visibility marker, for TypeScript and JavaScript alike', () => {
    const dir = tempDir();
    made.push(dir);
    writeTree(dir, {
      'mms/inbound.protected.ts': 'export {};',
      'health.ts': 'export {};',
      'sms/reply.js': SAMPLE_JS,
      'sms/secret.protected.cjs': SAMPLE_JS,
      'esm.private.mjs': 'export const handler = () => undefined;',
    });
    expect(listFunctions([dir]).map((e) => e.output)).toEqual([
      'esm.private.js',
      'health.js',
      'mms/inbound.protected.js',
      'sms/reply.js',
      'sms/secret.protected.js',
    ]);
  });

  it('lists every file it does not turn into a Function, with the reason', () => {
    const dir = tempDir();
    made.push(dir);
    writeTree(dir, {
      'health.ts': 'export {};',
      'types.d.ts': 'export {};',
      'sms/reply.test.js': '',
      'sms/numbers.json': '{}',
      'README.md': '',
    });
    const scan = scanFunctions([dir]);
    expect(scan.functions.map((f) => path.relative(dir, f.source))).toEqual(['health.ts']);
    expect(scan.notFunctions.map((f) => [path.relative(dir, f.source), f.reason])).toEqual([
      ['README.md', expect.stringContaining('not .ts, .js, .cjs or .mjs')],
      ['sms/numbers.json', expect.stringContaining('not .ts, .js, .cjs or .mjs')],
      ['sms/reply.test.js', expect.stringContaining('a test')],
      ['types.d.ts', 'type declarations'],
    ]);
  });

  it('refuses two sources that would build to the same route, naming both', () => {
    const dir = tempDir();
    made.push(dir);
    writeTree(dir, { 'reply.ts': 'export {};', 'reply.js': SAMPLE_JS });
    expect(() => listFunctions([dir])).toThrow(/same file reply\.js: .*reply\.js and .*reply\.ts/);
  });

  it("bundles the project's Functions and JavaScript ones in Twilio's sample style (CommonJS and ESM) self-contained, their helpers inlined", async () => {
    const { out, built } = build(
      {
        'sms/reply.js': `const { shout } = require('../lib/shout.private.cjs');
exports.handler = function (context, event, callback) {
  callback(null, { said: shout(event.Body) });
};
`,
        'lib/shout.private.cjs': 'module.exports = { shout: (text) => String(text).toUpperCase() };',
        'esm.protected.mjs': `import { shout } from './lib/shout.private.cjs';
export const handler = (context, event, callback) => callback(null, { esm: shout(event.Body) });
`,
        // twilio-run's TypeScript template: its `import '@twilio-labs/serverless-runtime-types'` is types only
        'hello-template.ts': fs.readFileSync(
          path.join(PROJECT_ROOT, 'test/fixtures/team-functions/hello-template.ts'),
          'utf8',
        ),
        // not type-checked without // @ts-check: Math.max("a") would be a type error
        'loose.js': 'module.exports = { handler: (c, e, cb) => cb(null, Math.max("a")) };\n',
      },
      [path.join(PROJECT_ROOT, 'src', 'functions')],
    );
    const result = await built;
    const health = fs.readFileSync(path.join(out, 'health.js'), 'utf8');
    expect(health).not.toMatch(/require\(["']\.\.?\//);
    expect(health).toContain('exports');
    const replyJs = path.join(out, 'sms', 'reply.js');
    expect(fs.readFileSync(replyJs, 'utf8')).not.toMatch(/require\(["']\.\.?\//);
    await expect(call(replyJs, { Body: 'hi' })).resolves.toEqual({ said: 'HI' });
    await expect(call(path.join(out, 'esm.protected.js'), { Body: 'yo' })).resolves.toEqual({ esm: 'YO' });
    await expect(call(path.join(out, 'loose.js'))).resolves.toBeNaN();
    // erased, not required: a devDependency is not installed where the Function is deployed
    expect(fs.readFileSync(path.join(out, 'hello-template.js'), 'utf8')).not.toContain('require(');
    // a private module without a handler is built (Twilio's samples load such helpers via Runtime.getFunctions())
    expect(result.helpers.map((h) => h.output)).toEqual(['lib/shout.private.js']);
  });

  it('fails on a type error, a JavaScript syntax error or a // @ts-check error, naming each file and line', async () => {
    const { built, rel } = build({
      'broken.ts': 'export const x: number = 1;\nexport const y: number = "two";\n',
      'sms/reply.js': 'exports.handler = function (context, event, callback) {\n  const x = ;\n};\n',
      'strict.js': '// @ts-check\nexports.handler = (c, e, cb) => cb(null, Math.max("a"));\n',
    });
    await expect(built).rejects.toThrow(TypeCheckError);
    const message = await failure(built);
    expect(message).toContain(`${rel}/broken.ts(2,14): error TS2322`);
    expect(message).toContain(`${rel}/sms/reply.js(2,13): error TS1109: Expression expected.`);
    expect(message).toContain(`${rel}/strict.js(2,`);
  });

  it('fails on a package that is not a dependency and on a route with no handler, naming each file', async () => {
    const { built, rel } = build({
      'pad.js': `const pad = require('left-pad');\nexports.handler = (c, e, cb) => cb(null, pad('1', 3));\n`,
      'jestly.js': `const jest = require('jest');\nexports.handler = (c, e, cb) => cb(null, typeof jest);\n`,
      'ok.js': `const twilio = require('twilio');\nconst fs = require('node:fs');\nconst os = require('os');\nexports.handler = (c, e, cb) => cb(null, typeof twilio + typeof fs + typeof os);\n`,
      'util.js': 'module.exports = { add: (a, b) => a + b };\n',
      'shared.protected.ts': 'export const add = (a: number, b: number) => a + b;\n',
      'helper.private.js': 'module.exports = { add: (a, b) => a + b };\n',
    });
    await expect(built).rejects.toThrow(FunctionBuildError);
    const noHandler =
      '`handler`: a Function exports one (`export const handler`, or `exports.handler` in JavaScript). Move shared code to src/lib/, or name a helper module NAME.private.js/.ts.';
    expect((await failure(built)).split('\n')).toEqual([
      `${rel}/jestly.js requires the package "jest", which is only a devDependency: deployed Functions get the package.json \`dependencies\` only. Run \`npm install jest\`.`,
      `${rel}/pad.js requires the package "left-pad", which is not in package.json \`dependencies\`. Run \`npm install left-pad\`.`,
      `${rel}/shared.protected.ts exports no ${noHandler}`,
      `${rel}/util.js exports no ${noHandler}`,
    ]);
  });
  it('fails on a package listed in dependencies but not installed, naming it', async () => {
    // a project of its own, with nothing installed: a JavaScript Function is not type-checked, so no types are needed
    const root = tempDir();
    made.push(root);
    writeTree(root, {
      'package.json': JSON.stringify({ dependencies: { 'left-pad': '1.3.0' } }),
      'tsconfig.json': JSON.stringify({ compilerOptions: { types: [], noEmit: true } }),
      'src/functions/pad.js': `const pad = require('left-pad');\nexports.handler = (c, e, cb) => cb(null, pad('1', 3));\n`,
    });
    const built = buildFunctions({
      projectRoot: root,
      functionDirs: [path.join(root, 'src', 'functions')],
      outDir: path.join(root, 'dist'),
    });
    await expect(built).rejects.toThrow(
      new FunctionBuildError(
        'src/functions/pad.js requires the package "left-pad", which is not installed. Run `npm install`.',
      ),
    );
  });
});

describe('Functions the build would not see', () => {
  function project(files: Record<string, string>): string {
    const root = tempDir();
    made.push(root);
    writeTree(root, { 'package.json': '{}', 'src/functions/health.ts': 'export const handler = 1;', ...files });
    return root;
  }

  it('names a top-level functions/ or static/ folder (twilio-run layout) and where to move it', () => {
    const root = project({ 'functions/hello.js': SAMPLE_JS, 'static/logo.png': 'png' });
    expect(misplacedFunctions(root, [path.join(root, 'src', 'functions')])).toEqual([
      "functions/ is twilio-run's layout; this project builds Functions from src/functions/ only: move its files there (docs/functions.md).",
      "static/ is twilio-run's layout; this project builds assets from assets/ only: move its files there (docs/functions.md).",
    ]);
  });

  it('names a handler module elsewhere under src/ (where `twilio serverless:new` writes here) and where to move it', () => {
    const root = project({
      'src/hello-world/hello.js': SAMPLE_JS,
      'src/hello-world/greet.ts': 'export const handler = () => 1;',
      'src/lib/util.ts': '// a comment naming exports.handler = is no Function\nexport const util = 1;',
    });
    expect(misplacedFunctions(root, [path.join(root, 'src', 'functions')])).toEqual([
      'src/hello-world/greet.ts exports a handler outside src/functions/, so it would never be built: move it to src/functions/hello-world/greet.ts (docs/functions.md).',
      'src/hello-world/hello.js exports a handler outside src/functions/, so it would never be built: move it to src/functions/hello-world/hello.js (docs/functions.md).',
    ]);
  });

  it('finds nothing in the project itself', () => {
    expect(misplacedFunctions(PROJECT_ROOT, [path.join(PROJECT_ROOT, 'src', 'functions')])).toEqual([]);
  });

  it('makes a build stale when a JavaScript Function or a top-level functions/ folder appears after it', () => {
    const root = project({});
    const inputs = buildInputs({ projectRoot: root });
    const dist = path.join(root, 'dist');
    writeTree(root, { 'dist/functions/health.js': 'x' });
    writeBuildStamp(dist, inputEntries(inputs));
    expect(staleBuildReason(dist, inputs)).toBeNull();
    writeTree(root, { 'src/functions/sms/reply.js': SAMPLE_JS });
    expect(staleBuildReason(dist, inputs)).toBe(
      'the sources changed since dist/ was built: src/functions/sms/reply.js is new',
    );
    writeBuildStamp(dist, inputEntries(inputs));
    writeTree(root, { 'functions/hello.js': SAMPLE_JS });
    expect(staleBuildReason(dist, inputs)).toBe('the sources changed since dist/ was built: functions/hello.js is new');
  });
});
