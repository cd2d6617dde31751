import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeServerlessApi } from '../support/fake-serverless-api';
import type { FakeServerlessApi } from '../support/fake-serverless-api';
import { FUNCTION_VARIABLES, LOCAL_SETTINGS } from '../../src/deploy/variables';
import { PROJECT_ROOT, sharedBuildDir } from '../support/paths';
import {
  byPath,
  clone as cloneProject,
  CREDENTIALS,
  DEPLOY_COMMANDS,
  expectedUploads,
  expectExit,
  expectFreshDeploy,
  files,
  shown,
  twilioRunDeploy,
  writeFreshEnv,
} from '../support/deploy-run';

// Each deploy below is the real `twilio-run deploy` CLI in its own process, from a copy of the project as git
// would check it out (no dist/, no .env), against the fake Serverless API. A deploy may build first.
jest.setTimeout(300_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-deploy-'));
const clone = (name: string) => cloneProject(work, name);

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

  beforeAll(() => writeFreshEnv(root));

  it('builds dist/, then uploads exactly that build with an accepted handler, node22 and only Function variables', async () => {
    expect(fs.existsSync(path.join(root, 'dist'))).toBe(false);
    const run = await twilioRunDeploy(root, api);
    expectExit(run, 0);
    expectFreshDeploy(root, api, run);
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

describe.each(DEPLOY_COMMANDS)('a `%s` Twilio would refuse stops before any request', (command, deploy) => {
  const root = clone(`refused-${command.replace(/\W+/g, '-')}`);
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
    const run = await deploy(root, api, args);
    expectExit(run, 1);
    expect(run.output).toMatch(/Deploy refused, nothing was uploaded/);
    expect(run.output).toMatch(message);
    expect(api.requests).toEqual([]);
    expect(fs.existsSync(path.join(root, 'dist'))).toBe(false);
    expect(run.output).not.toContain('s3cr3t');
  });

  // yargs (twilio-run's parser) takes each of these as --load-system-env: the empty value in the file is then
  // filled from this process's environment, and the secret would be uploaded.
  it.each([[['--loadSystemEnv']], [['--load-system-env=true']], [['--load-system-env', 'true']]])(
    'a local secret the system environment fills in, with %j',
    async (flag) => {
      fs.writeFileSync(path.join(root, '.env.dev'), `${CREDENTIALS}AWS_SECRET_ACCESS_KEY=\n`);
      const run = await twilioRunDeploy(root, api, ['--env', '.env.dev', ...flag], {
        AWS_SECRET_ACCESS_KEY: 's3cr3t',
      });
      expectExit(run, 1);
      expect(run.output).toMatch(/\.env\.dev: AWS_SECRET_ACCESS_KEY is a setting of the local commands/);
      expect(api.requests).toEqual([]);
      expect(run.output).not.toContain('s3cr3t');
    },
  );

  it("an asset tree over Twilio's limits fails the build, naming the file", async () => {
    const big = path.join(root, 'assets', 'video', 'huge.mp4');
    fs.mkdirSync(path.dirname(big), { recursive: true });
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 26_000_000);
    try {
      const run = await deploy(root, api);
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
