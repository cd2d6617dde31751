import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MANIFEST_ASSET_PATH, MANIFEST_FILE_NAME } from '../../src/lib/manifest';
import { FakeServerlessApi, startFakeServerlessApi, Upload } from '../support/fake-serverless-api';
import { FUNCTION_VARIABLES, LOCAL_SETTINGS } from '../../src/deploy/variables';
import { PROJECT_ROOT, sharedBuildDir } from '../support/paths';

// Each deploy below is the real `twilio-run deploy` CLI in its own process, from a copy of the project as git
// would check it out (no dist/, no .env), against the fake Serverless API. A deploy may build first.
jest.setTimeout(300_000);

const PRELOAD = path.join(PROJECT_ROOT, 'test', 'support', 'serverless-api-redirect.cjs');
const TWILIO_RUN = require.resolve('twilio-run/bin/twilio-run.js', { paths: [PROJECT_ROOT] });
const CREDENTIALS = 'ACCOUNT_SID=AC00000000000000000000000000000000\nAUTH_TOKEN=test-token\n';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-deploy-'));

/** The project as a fresh clone has it: tracked and new files of the working tree, node_modules linked. */
function clone(name: string): string {
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
    fs.copyFileSync(from, path.join(dir, file));
  }
  fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

interface Run {
  code: number | null;
  /** stdout and stderr, with twilio-run's message boxes and line wrapping undone */
  output: string;
}

function expectExit(run: Run, code: number): void {
  if (run.code !== code) throw new Error(`twilio-run deploy exited with ${run.code}, expected ${code}:\n${run.output}`);
}

function twilioRunDeploy(cwd: string, api: FakeServerlessApi, args: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', PRELOAD, TWILIO_RUN, 'deploy', ...args], {
      cwd,
      env: { ...process.env, FAKE_SERVERLESS_API_URL: api.url, FORCE_COLOR: '0', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('close', (code) => resolve({ code, output: output.replace(/[│╭╮╰╯─]/g, ' ').replace(/\s+/g, ' ') }));
  });
}

function files(dir: string): string[] {
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
const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
const shown = (list: Upload[]) =>
  list.map(({ path: p, visibility, bytes, sha256: h }) => ({ path: p, visibility, bytes, sha256: h })).sort(byPath);

/** What twilio-run must upload from dist/: every built Function and every staged asset, derived independently. */
function expectedUploads(root: string) {
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

function setPin(root: string, version: string): void {
  const file = path.join(root, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  pkg.dependencies['@twilio/runtime-handler'] = version;
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
}

let api: FakeServerlessApi;
/** a fake per test; the fresh-clone tests share one, as one service deployed again and again */
function fakePerTest(): void {
  beforeEach(async () => {
    api = await startFakeServerlessApi();
  });
  afterEach(async () => {
    await api.close();
  });
}
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('a bare `twilio-run deploy` from a fresh clone', () => {
  const root = clone('fresh');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  let before = 0;
  const uploadsOfThisRun = () => api.uploads.slice(before);
  beforeAll(async () => {
    api = await startFakeServerlessApi();
  });
  afterAll(async () => {
    await api.close();
  });
  beforeEach(() => {
    before = api.uploads.length;
  });

  beforeAll(() => {
    fs.writeFileSync(
      path.join(root, '.env'),
      `${CREDENTIALS}MMS_REPLY=Thanks, we got it.\nLOG_LEVEL=debug\nMMS_FROM=\n`,
    );
    fs.writeFileSync(
      path.join(root, '.env.local'),
      'AWS_SECRET_ACCESS_KEY=local-secret\nS3_ENDPOINT=http://127.0.0.1:9000\n',
    );
  });

  it('builds dist/, then uploads exactly that build with an accepted handler, node22 and only Function variables', async () => {
    expect(fs.existsSync(path.join(root, 'dist'))).toBe(false);
    const run = await twilioRunDeploy(root, api);
    expectExit(run, 0);
    expect(run.output).toMatch(/Building before the deploy: dist\/ holds no complete build/);

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
  });

  it('after an edit, rebuilds and uploads the current sources', async () => {
    fs.writeFileSync(
      path.join(root, 'src', 'functions', 'added.ts'),
      "import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';\n\nexport const handler: ServerlessFunctionSignature = (_context, _event, callback) => callback(null, 'added');\n",
    );
    fs.writeFileSync(path.join(root, 'assets', 'notes.txt'), 'a new asset\n');
    const run = await twilioRunDeploy(root, api);
    expectExit(run, 0);
    expect(run.output).toMatch(
      /Building before the deploy: the sources changed since dist\/ was built: (src\/functions\/added\.ts|assets\/notes\.txt) is new/,
    );
    expect(api.builds.map((b) => b.runtime)).toEqual(['node22', 'node22']);
    const expected = expectedUploads(root);
    expect(shown(uploadsOfThisRun().filter((u) => u.kind === 'Functions'))).toEqual(expected.functions);
    expect(shown(uploadsOfThisRun().filter((u) => u.kind === 'Assets'))).toEqual(expected.assets);
    expect(expected.functions.map((f) => f.path)).toContain('/added');
    expect(expected.assets.map((a) => a.path)).toContainEqual(expect.stringMatching(/^\/notes\.[0-9a-f]{12}\.txt$/));
  });

  it('with dist/ current, deploys it without building again', async () => {
    const stamp = fs.statSync(path.join(root, 'dist', 'build-stamp.json')).mtimeMs;
    const run = await twilioRunDeploy(root, api);
    expectExit(run, 0);
    expect(run.output).toMatch(/dist\/ is the build of the current sources/);
    expect(fs.statSync(path.join(root, 'dist', 'build-stamp.json')).mtimeMs).toBe(stamp);
    const expected = expectedUploads(root);
    expect(shown(uploadsOfThisRun())).toEqual([...expected.functions, ...expected.assets].sort(byPath));
    expect(api.deployments).toBe(3);
  });
});

describe('a deploy Twilio would refuse stops before any request', () => {
  const root = clone('refused');
  const pristine = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
  fakePerTest();

  beforeEach(() => {
    fs.writeFileSync(path.join(root, 'package.json'), pristine);
    fs.writeFileSync(path.join(root, '.env'), CREDENTIALS);
  });

  const cases: [string, () => void, string[], RegExp][] = [
    [
      'a handler version Twilio does not list',
      () => setPin(root, '2.1.0'),
      [],
      /"@twilio\/runtime-handler": "2\.1\.0" is not a version Twilio's platform accepts[^\n]*2\.0\.1/,
    ],
    ['a handler range', () => setPin(root, '^2.0.1'), [], /"\^2\.0\.1" is not an exact version/],
    [
      'a runtime Twilio no longer supports',
      () => undefined,
      ['--runtime', 'node18'],
      /runtime "node18" is not one Twilio supports \(error 82007/,
    ],
    [
      'a local secret in .env',
      () => fs.appendFileSync(path.join(root, '.env'), 'AWS_SECRET_ACCESS_KEY=s3cr3t\n'),
      [],
      /AWS_SECRET_ACCESS_KEY is a setting of the local commands[^\n]*move it to \.env\.local/,
    ],
    [
      'a folder media store',
      () => fs.appendFileSync(path.join(root, '.env'), 'MEDIA_STORE_URL=folder:.media-store\n'),
      [],
      /MEDIA_STORE_URL is a folder store \("folder:\.media-store"\): a deployed Function's disk is temporary/,
    ],
    [
      'a variable over 450 bytes',
      () => fs.appendFileSync(path.join(root, '.env'), `MMS_REPLY=${'x'.repeat(451)}\n`),
      [],
      /the value of MMS_REPLY is 451 bytes; Twilio refuses more than 450 \(error 82006\)/,
    ],
  ];

  it.each(cases)('%s', async (_name, arrange, args, message) => {
    arrange();
    const run = await twilioRunDeploy(root, api, args);
    expectExit(run, 1);
    expect(run.output).toMatch(/Deploy refused, nothing was uploaded/);
    expect(run.output).toMatch(message);
    expect(api.requests).toEqual([]);
    expect(fs.existsSync(path.join(root, 'dist'))).toBe(false);
    expect(run.output).not.toContain('s3cr3t');
  });

  it("an asset tree over Twilio's limits fails the build, naming the file", async () => {
    const big = path.join(root, 'assets', 'video', 'huge.mp4');
    fs.mkdirSync(path.dirname(big), { recursive: true });
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 26_000_000);
    try {
      const run = await twilioRunDeploy(root, api);
      expect(run.code).toBe(1);
      expect(run.output).toMatch(/Deploy refused, nothing was uploaded/);
      expect(run.output).toMatch(/video\/huge\.mp4/);
      expect(api.requests).toEqual([]);
      expect(fs.existsSync(path.join(root, 'dist', 'assets'))).toBe(false);
    } finally {
      fs.rmSync(path.dirname(big), { recursive: true, force: true });
    }
  });
});

describe("the fake refuses what Twilio refuses, through twilio-run's own deploy code without the preflight", () => {
  // A plain JSON config runs no project code: this is what a deploy did before .twilioserverlessrc.js.
  const root = clone('unchecked');
  const pristine = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
  const plain = path.join(root, 'plain-config.json');
  fakePerTest();

  beforeAll(async () => {
    fs.writeFileSync(plain, JSON.stringify({ functionsFolder: 'dist/functions', assetsFolder: 'dist/assets' }));
    execFileSync(
      process.execPath,
      [require.resolve('tsx/cli', { paths: [PROJECT_ROOT] }), 'src/commands/cli.ts', 'build'],
      { cwd: root, stdio: 'ignore' },
    );
  });
  beforeEach(() => {
    fs.writeFileSync(path.join(root, 'package.json'), pristine);
    fs.writeFileSync(path.join(root, '.env'), CREDENTIALS);
  });

  it('answers 20001 to a Build with handler 2.1.0, after every file was uploaded', async () => {
    setPin(root, '2.1.0');
    const run = await twilioRunDeploy(root, api, ['--config', plain, '--runtime', 'node22']);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/20001/);
    expect(run.output).toMatch(/No matching version found for @twilio\/runtime-handler@2\.1\.0/);
    expect(api.uploads.length).toBeGreaterThan(0);
    expect(api.deployments).toBe(0);
  });

  it('answers 82007 to a Build without a runtime on a service last built on node18', async () => {
    const serviceSid = api.addService('twilio-media-assets', 'node18');
    const run = await twilioRunDeploy(root, api, ['--config', plain, '--service-sid', serviceSid]);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/82007/);
    expect(api.builds.map((b) => b.runtime)).toEqual([undefined]);
    expect(api.deployments).toBe(0);
  });

  it('answers 82006 to a variable over 450 bytes', async () => {
    fs.appendFileSync(path.join(root, '.env'), `MMS_REPLY=${'x'.repeat(451)}\n`);
    const run = await twilioRunDeploy(root, api, ['--config', plain, '--runtime', 'node22']);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/82006/);
    expect(api.variables.has('MMS_REPLY')).toBe(false);
  });

  it('accepts the project as pinned, with node22', async () => {
    const run = await twilioRunDeploy(root, api, ['--config', plain, '--runtime', 'node22']);
    expectExit(run, 0);
    expect(api.deployments).toBe(1);
  });
});

describe('the Function variables', () => {
  // the built Functions, the test fixtures left out: what a deploy uploads
  const bundles = () =>
    files(path.join(sharedBuildDir(), 'functions'))
      .filter((f) => !f.startsWith('diag/'))
      .map((f) => fs.readFileSync(path.join(sharedBuildDir(), 'functions', f), 'utf8'))
      .join('\n');

  it('are each read by some built Function, and no local setting is', () => {
    const code = bundles();
    expect(FUNCTION_VARIABLES.filter((name) => !code.includes(name))).toEqual([]);
    expect(LOCAL_SETTINGS.filter((name) => new RegExp(`\\b${name}\\b`).test(code))).toEqual([]);
  });
});
