import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeServerlessApi } from '../support/fake-serverless-api';
import type { FakeServerlessApi } from '../support/fake-serverless-api';
import {
  clone as cloneProject,
  CREDENTIALS,
  DEPLOY_COMMANDS,
  expectExit,
  setPin,
  twilioRunDeploy,
} from '../support/deploy-run';

// What the deploy's preflight (.twilioserverlessrc.js) refuses before any request, through the real `twilio-run
// deploy` and `twilio serverless:deploy` CLIs in their own processes, from a copy of the project as git would check
// it out, against the fake Serverless API.
jest.setTimeout(300_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-deploy-refused-'));
const clone = (name: string) => cloneProject(work, name);

let api: FakeServerlessApi;
beforeEach(async () => {
  api = await startFakeServerlessApi();
});
afterEach(async () => {
  await api.close();
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe.each(DEPLOY_COMMANDS)('a `%s` Twilio would refuse stops before any request', (command, deploy) => {
  const root = clone(`refused-${command.replace(/\W+/g, '-')}`);
  const pristine = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
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

  // The real CLI takes seconds to start: it runs one case of each family (a pin in package.json, a flag on its own
  // command line, a variable in .env, a build that fails below), enough to show that its path reaches the same
  // preflight as twilio-run's. Its other cases run through twilio-run with the variables in a file named by
  // --env, as a deploy to another environment has them.
  const cliCases = [
    'a handler version Twilio does not list',
    'a runtime Twilio no longer supports',
    'a local secret in .env',
  ];
  const runs = cases.map(([name, arrange, args, message]) => {
    if (command !== 'twilio serverless:deploy' || cliCases.includes(name)) {
      return [name, arrange, () => deploy(root, api, args), message] as const;
    }
    const viaTwilioRun = () => {
      fs.copyFileSync(path.join(root, '.env'), path.join(root, '.env.dev'));
      return twilioRunDeploy(root, api, ['--env', '.env.dev', ...args]);
    };
    return [`${name} (through twilio-run, with --env .env.dev)`, arrange, viaTwilioRun, message] as const;
  });

  it.each(runs)('%s', async (_name, arrange, runDeploy, message) => {
    arrange();
    const run = await runDeploy();
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
