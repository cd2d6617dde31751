import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_ASSET_PATH, MANIFEST_FILE_NAME } from '../../src/lib/manifest';
import { FAKE_ACCOUNT } from './fake-serverless-api';
import type { FakeServerlessApi, Upload } from './fake-serverless-api';
import { PROJECT_ROOT } from './paths';
import { twilioCli } from './twilio-cli';

// What the deploy tests share: a copy of the project as a fresh clone has it, the real `twilio-run deploy` run in
// it against the fake Serverless API, and what that deploy must upload, derived from dist/ independently.

export const SERVERLESS_API_PRELOAD = path.join(PROJECT_ROOT, 'test', 'support', 'serverless-api-redirect.cjs');
const TWILIO_RUN = require.resolve('twilio-run/bin/twilio-run.js', { paths: [PROJECT_ROOT] });
const TSX = require.resolve('tsx/cli', { paths: [PROJECT_ROOT] });
export const CREDENTIALS = 'ACCOUNT_SID=AC00000000000000000000000000000000\nAUTH_TOKEN=test-token\n';
/** What a CI job holds instead (the Twilio CLI's variables, an API key): no Auth Token anywhere. */
export const CI_ENV = {
  TWILIO_ACCOUNT_SID: FAKE_ACCOUNT.sid,
  TWILIO_API_KEY: FAKE_ACCOUNT.apiKey,
  TWILIO_API_SECRET: FAKE_ACCOUNT.apiSecret,
};

/** The project as a fresh clone has it: tracked and new files of the working tree, node_modules linked. */
export function clone(work: string, name: string): string {
  const dir = path.join(work, name);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    const from = path.join(PROJECT_ROOT, file);
    if (!fs.existsSync(from)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    try {
      fs.copyFileSync(from, path.join(dir, file));
    } catch (error) {
      // a test running at the same time (another jest worker) removed its temporary file since the listing
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Pins @twilio/runtime-handler in the copy's package.json to `version`, e.g. one Twilio refuses. */
export function setPin(root: string, version: string): void {
  const file = path.join(root, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  pkg.dependencies['@twilio/runtime-handler'] = version;
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
}

export interface Run {
  code: number | null;
  /** stdout and stderr, with twilio-run's message boxes and line wrapping undone */
  output: string;
}

export function expectExit(run: Run, code: number, what = 'twilio-run deploy'): void {
  if (run.code !== code) throw new Error(`${what} exited with ${run.code}, expected ${code}:\n${run.output}`);
}

/** twilio-run's boxes and wrapping undone, so a message can be matched whole. */
export const unboxed = (output: string) => output.replace(/[│╭╮╰╯─]/g, ' ').replace(/\s+/g, ' ');

export function twilioRunDeploy(
  cwd: string,
  api: FakeServerlessApi,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Run> {
  return twilioRun(cwd, api, ['deploy', ...args], env);
}

/** Any `twilio-run COMMAND ARGS...` (promote, env import...) against the fake, as twilioRunDeploy runs deploy. */
export function twilioRun(
  cwd: string,
  api: FakeServerlessApi,
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  return runNode(cwd, ['-r', SERVERLESS_API_PRELOAD, TWILIO_RUN, ...args], {
    ...env,
    FAKE_SERVERLESS_API_URL: api.url,
  });
}

/** `npm run SCRIPT -- ARGS`: the project's `tsx src/commands/FILE ARGS...`, with the fake's preload for any
 * twilio-run it starts. */
export function npmScript(
  cwd: string,
  api: FakeServerlessApi,
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  return runNode(cwd, [TSX, ...args], {
    ...env,
    NODE_OPTIONS: `-r ${SERVERLESS_API_PRELOAD}`,
    FAKE_SERVERLESS_API_URL: api.url,
  });
}

/** node ARGS in cwd to its end, stdout and stderr together, no colours, stdin closed. */
function runNode(cwd: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, ...env, FORCE_COLOR: '0', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('close', (code) => resolve({ code, output: unboxed(output) }));
  });
}

/**
 * `twilio serverless:deploy`: the real Twilio CLI running @twilio-labs/plugin-serverless and its bundled twilio-run
 * 3.x, all in one process, so NODE_OPTIONS gives it (and the preflight it spawns) the same preload as above.
 */
export function cliDeploy(
  cwd: string,
  api: FakeServerlessApi,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Run> {
  return cliRun(cwd, api, ['serverless:deploy', ...args], env);
}

/** Any `twilio serverless:COMMAND ARGS...` against the fake, as cliDeploy runs serverless:deploy. */
export async function cliRun(
  cwd: string,
  api: FakeServerlessApi,
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  const run = await twilioCli(args, {
    cwd,
    env: { ...env, NODE_OPTIONS: `-r ${SERVERLESS_API_PRELOAD}`, FAKE_SERVERLESS_API_URL: api.url },
  });
  return { code: run.code, output: unboxed(`${run.stdout}\n${run.stderr}`) };
}

export type Deploy = typeof twilioRunDeploy;
export const DEPLOY_COMMANDS: [name: string, deploy: Deploy][] = [
  ['twilio-run deploy', twilioRunDeploy],
  ['twilio serverless:deploy', cliDeploy],
];

/** The .env and .env.local of a fresh-clone deploy: what only Function variables may be uploaded from. */
export function writeFreshEnv(root: string): void {
  fs.writeFileSync(path.join(root, '.env'), `${CREDENTIALS}MMS_REPLY=Thanks, we got it.\nLOG_LEVEL=debug\nMMS_FROM=\n`);
  fs.writeFileSync(
    path.join(root, '.env.local'),
    'AWS_SECRET_ACCESS_KEY=local-secret\nS3_ENDPOINT=http://127.0.0.1:9000\n',
  );
}

/**
 * The first deploy of a fresh clone (with writeFreshEnv): the preflight built dist/, and exactly that build went
 * up with an accepted handler, node22 and only the Function variables, then one Deployment.
 */
export function expectFreshDeploy(root: string, api: FakeServerlessApi, run: Run): void {
  expect(run.output).toMatch(/Building before the deploy: dist\/ holds no complete build/);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  expect(api.builds).toHaveLength(1);
  const [build] = api.builds;
  expect(build.runtime).toBe('node22');
  expect(build.dependencies).toEqual(Object.entries(pkg.dependencies).map(([name, version]) => ({ name, version })));
  expect(build.dependencies).toContainEqual({ name: '@twilio/runtime-handler', version: '2.0.1' });

  const expected = expectedUploads(root);
  expect(shown(api.uploads.filter((u) => u.kind === 'Functions'))).toEqual(expected.functions);
  expect(shown(api.uploads.filter((u) => u.kind === 'Assets'))).toEqual(expected.assets);
  expect(expected.assets).toHaveLength(expected.assetFiles);
  expect(build.functionVersions).toHaveLength(expected.functions.length);
  expect(build.assetVersions).toHaveLength(expected.assets.length);
  expect(expected.functions.map((f) => `${f.path} ${f.visibility}`)).toEqual(
    expect.arrayContaining(['/health public', '/mms/inbound protected']),
  );

  // .env minus the credentials and empty values; nothing of .env.local
  expect(Object.fromEntries(api.variables)).toEqual({ MMS_REPLY: 'Thanks, we got it.', LOG_LEVEL: 'debug' });
  expect(api.deployments).toBe(1);
}

export function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.relative(dir, path.join(d, e.name)).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
export const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
export const shown = (list: Upload[]) =>
  list.map(({ path: p, visibility, bytes, sha256: h }) => ({ path: p, visibility, bytes, sha256: h })).sort(byPath);

/** What twilio-run must upload from dist/: every built Function and every staged asset, derived independently. */
export function expectedUploads(root: string) {
  const functionsDir = path.join(root, 'dist', 'functions');
  const functions = files(functionsDir).map((rel) => {
    const marker = /\.(protected|private)\.js$/.exec(rel);
    return {
      path: `/${rel.replace(/(\.(protected|private))?\.js$/, '')}`,
      visibility: marker ? marker[1] : 'public',
      bytes: fs.statSync(path.join(functionsDir, rel)).size,
      sha256: sha256(path.join(functionsDir, rel)),
    };
  });
  const manifestFile = path.join(root, 'dist', 'assets', MANIFEST_FILE_NAME);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as {
    entries: Record<string, { path: string; visibility: string; bytes: number; sha256: string }>;
  };
  const assets = [
    ...Object.values(manifest.entries).map((e) => ({
      path: e.path,
      visibility: e.visibility,
      bytes: e.bytes,
      sha256: e.sha256,
    })),
    {
      path: MANIFEST_ASSET_PATH,
      visibility: 'private',
      bytes: fs.statSync(manifestFile).size,
      sha256: sha256(manifestFile),
    },
  ];
  return {
    functions: functions.sort(byPath),
    assets: assets.sort(byPath),
    assetFiles: files(path.join(root, 'dist', 'assets')).length,
  };
}
