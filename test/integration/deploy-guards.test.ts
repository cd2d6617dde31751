import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeServerlessApi } from '../support/fake-serverless-api';
import type { FakeServerlessApi } from '../support/fake-serverless-api';
import {
  clone as cloneProject,
  cliRun,
  CREDENTIALS,
  expectExit,
  npmScript,
  Run,
  twilioRun,
  twilioRunDeploy,
  CI_ENV,
} from '../support/deploy-run';
import { FakeHost, startFakeHost } from '../support/fake-host';
import { freePort } from '../support/runtime';

// The other ways past the preflight a review found: a config file of the team's own (`-c`), `env import` and
// `env set`, and a config that shadows .twilioserverlessrc.js. Each is tried for real: the project's npm scripts
// (through tsx, as npm runs them), the real twilio-run and the real Twilio CLI, against the fake Serverless API.
jest.setTimeout(300_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-guards-'));
const SECRET = 'AWS_SECRET_ACCESS_KEY=s3cr3t\n';

/** `npm run NAME -- ARGS` (src/commands/cli.ts NAME ARGS) */
const npmRun = (cwd: string, api: FakeServerlessApi, args: string[], env: Record<string, string> = {}) =>
  npmScript(cwd, api, ['src/commands/cli.ts', ...args], env);

let api: FakeServerlessApi;
const root = cloneProject(work, 'guards');
beforeAll(async () => {
  api = await startFakeServerlessApi();
  fs.writeFileSync(path.join(root, '.env'), `${CREDENTIALS}MMS_REPLY=Thanks.\n`);
  expectExit(await twilioRunDeploy(root, api), 0);
});
afterAll(async () => {
  await api.close();
  fs.rmSync(work, { recursive: true, force: true });
});
/** what was written at Twilio while `during` ran */
async function writesDuring(during: () => Promise<Run>): Promise<{ run: Run; writes: string[] }> {
  const before = api.requests.length;
  const run = await during();
  return { run, writes: api.requests.slice(before).filter((r) => !r.startsWith('GET ')) };
}

describe('`npm run deploy` and `npm run promote` with a config file of their own', () => {
  beforeAll(() => {
    fs.writeFileSync(
      path.join(root, 'deploy.prod.json'),
      JSON.stringify({ functionsFolder: 'dist/functions', assetsFolder: 'dist/assets', runtime: 'node22' }),
    );
  });

  it.each([
    [['deploy', '-c', 'deploy.prod.json']],
    [['deploy', '--config=deploy.prod.json', '--environment', 'stage']],
    [['promote', '--config', 'deploy.prod.json', '--from', 'dev', '--to', 'prod']],
  ])('are refused, naming what to do instead, with nothing uploaded: %j', async (args) => {
    fs.appendFileSync(path.join(root, '.env'), SECRET);
    try {
      const { run, writes } = await writesDuring(() => npmRun(root, api, args));
      expectExit(run, 2, `npm run ${args[0]}`);
      expect(run.output).toMatch(
        /-c\/--config deploy\.prod\.json: twilio-run would read that file instead of \.twilioserverlessrc\.js and skip the project's checks/,
      );
      expect(run.output).toMatch(/--environment stage reads \.env\.stage/);
      expect(writes).toEqual([]);
      expect(api.variables.has('AWS_SECRET_ACCESS_KEY')).toBe(false);
    } finally {
      fs.writeFileSync(path.join(root, '.env'), `${CREDENTIALS}MMS_REPLY=Thanks.\n`);
    }
  });

  it('`npm run deploy -- --environment stage --env .env.stage` goes through the preflight to twilio-run', async () => {
    fs.writeFileSync(path.join(root, '.env.stage'), 'MMS_REPLY=Thanks (stage).\n');
    const run = await npmRun(root, api, ['deploy', '--environment', 'stage', '--env', '.env.stage'], CI_ENV);
    expectExit(run, 0, 'npm run deploy');
    expect(run.output).toMatch(/dist\/ is the build of the current sources/);
    expect(Object.fromEntries(api.environment('stage')!.variables)).toEqual({ MMS_REPLY: 'Thanks (stage).' });
  });
});

describe('env import and env set never upload a local-only secret', () => {
  afterEach(() => fs.writeFileSync(path.join(root, '.env'), `${CREDENTIALS}MMS_REPLY=Thanks.\n`));

  it('`twilio-run env import` is refused by name, no variable written', async () => {
    fs.appendFileSync(path.join(root, '.env'), SECRET);
    const { run, writes } = await writesDuring(() => twilioRun(root, api, ['env', 'import']));
    expectExit(run, 1, 'twilio-run env import');
    expect(run.output).toMatch(/Refused, no variable was written/);
    expect(run.output).toMatch(/\.env: AWS_SECRET_ACCESS_KEY is a setting of the local commands/);
    expect(run.output).not.toContain('s3cr3t');
    expect(writes).toEqual([]);
  });

  it('`twilio-run env import` of Function variables only sets them on dev', async () => {
    fs.writeFileSync(path.join(root, '.env'), `${CREDENTIALS}MMS_REPLY=Imported.\nLOG_LEVEL=warn\n`);
    const run = await twilioRun(root, api, ['env', 'import']);
    expectExit(run, 0, 'twilio-run env import');
    expect(Object.fromEntries(api.variables)).toEqual({ MMS_REPLY: 'Imported.', LOG_LEVEL: 'warn' });
  });

  it("`twilio-run env import --environment stage --env .env` is refused: .env is dev's", async () => {
    const { run, writes } = await writesDuring(() =>
      twilioRun(root, api, ['env', 'import', '--environment', 'stage', '--env', '.env']),
    );
    expectExit(run, 1, 'twilio-run env import');
    expect(run.output).toMatch(/\.env holds the variables of dev, not of stage: pass --env \.env\.stage/);
    expect(writes).toEqual([]);
  });

  it('`twilio-run env import --environment zeta` reads .env.zeta, not .env: refused while it does not exist', async () => {
    // a suffix starting with "ze" is no Environment SID: the convention still chooses its env file
    const { run, writes } = await writesDuring(() => twilioRun(root, api, ['env', 'import', '--environment', 'zeta']));
    expectExit(run, 1, 'twilio-run env import');
    expect(run.output).toMatch(/the environment zeta reads its variables from \.env\.zeta, which does not exist/);
    expect(writes).toEqual([]);
  });

  it('`twilio-run env set` of a local setting is refused by name', async () => {
    const { run, writes } = await writesDuring(() =>
      twilioRun(root, api, ['env', 'set', '--key', 'S3_ENDPOINT', '--value', 'http://127.0.0.1:9000']),
    );
    expectExit(run, 1, 'twilio-run env set');
    expect(run.output).toMatch(/--key: S3_ENDPOINT is a setting of the local commands/);
    expect(writes).toEqual([]);
  });

  it('`twilio serverless:env:import` (the real Twilio CLI) is refused by name', async () => {
    fs.appendFileSync(path.join(root, '.env'), SECRET);
    const { run, writes } = await writesDuring(() => cliRun(root, api, ['serverless:env:import']));
    expectExit(run, 1, 'twilio serverless:env:import');
    expect(run.output).toMatch(/\.env: AWS_SECRET_ACCESS_KEY is a setting of the local commands/);
    expect(writes).toEqual([]);
  });
});

describe("serverless-api's paged lists never carry the credentials off its API origin (issue 26 item 5)", () => {
  // a second loopback host that records what reaches it and answers an empty last page, as a harvester would
  let foreign: FakeHost;
  beforeAll(async () => {
    foreign = await startFakeHost((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const key = /\/(\w+)(?:\?|$)/.exec(req.url ?? '')?.[1]?.toLowerCase() ?? 'functions';
      res.end(JSON.stringify({ meta: { key, next_page_url: null }, [key]: [] }));
    });
  });
  afterEach(() => api.nextPages.clear());
  afterAll(() => foreign.close());

  const refusedHost = () =>
    new RegExp(`refused a request to ${foreign.host.replace(/\./g, '\\.')} .*not the configured Twilio API origin`);

  it.each([
    ['twilio-run deploy (twilio-run 5)', (cwd: string) => twilioRunDeploy(cwd, api)],
    [
      "twilio serverless:deploy (the plugin's twilio-run 3.x)",
      (cwd: string) => cliRun(cwd, api, ['serverless:deploy']),
    ],
  ])(
    '%s: a Functions list naming a next page on another host fails naming it, nothing sent there',
    async (_, deploy) => {
      api.nextPages.set('functions', `${foreign.url}/v1/Services/ZS0/Functions?PageSize=50&Page=1`);
      const [uploads, builds] = [api.uploads.length, api.builds.length];
      const run = await deploy(root);
      expectExit(run, 1, 'deploy');
      expect(run.output).toMatch(refusedHost());
      expect(foreign.requests).toEqual([]);
      expect([api.uploads.length, api.builds.length]).toEqual([uploads, builds]);
    },
  );

  it("twilio-run promote: the target's Variables list naming a next page on another host fails naming it", async () => {
    fs.writeFileSync(path.join(root, '.env.prod'), 'MMS_REPLY=Thanks.\n');
    api.nextPages.set('variables', `${foreign.url}/v1/Services/ZS0/Environments/ZE0/Variables?Page=1`);
    const run = await twilioRun(
      root,
      api,
      ['promote', '--from', 'dev', '--to', 'prod', '--create-environment'],
      CI_ENV,
    );
    expectExit(run, 1, 'twilio-run promote');
    expect(run.output).toMatch(refusedHost());
    expect(foreign.requests).toEqual([]);
    expect(api.environment('prod')?.deployments ?? []).toEqual([]);
    expect(api.environment('prod')?.variables.size ?? 0).toBe(0);
  });
});

describe('a config that would shadow .twilioserverlessrc.js', () => {
  const pristine = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
  afterEach(() => {
    fs.writeFileSync(path.join(root, 'package.json'), pristine);
    for (const f of ['.twilioserverlessrc', '.twilioserverlessrc.json', '.twilioserverlessrc.yml']) {
      fs.rmSync(path.join(root, f), { force: true });
    }
  });

  it.each([
    ['.twilioserverlessrc.json', () => fs.writeFileSync(path.join(root, '.twilioserverlessrc.json'), '{}')],
    ['.twilioserverlessrc', () => fs.writeFileSync(path.join(root, '.twilioserverlessrc'), '{ runtime: "node22" }')],
    [
      '.twilioserverlessrc.yml',
      () => fs.writeFileSync(path.join(root, '.twilioserverlessrc.yml'), 'runtime: node22\n'),
    ],
    [
      'package.json \\(its "twilioserverless" key\\)',
      () =>
        fs.writeFileSync(
          path.join(root, 'package.json'),
          JSON.stringify({ ...JSON.parse(pristine), twilioserverless: { runtime: 'node22' } }),
        ),
    ],
  ])('%s fails `npm run build` and `npm start`, naming the file', async (name, arrange) => {
    arrange();
    const message = new RegExp(
      `${name} would be read by twilio-run and the Twilio CLI instead of \\.twilioserverlessrc\\.js`,
    );
    const build = await npmRun(root, api, ['build']);
    expectExit(build, 1, 'npm run build');
    expect(build.output).toMatch(message);
    const start = await npmRun(root, api, ['start'], { PORT: String(await freePort()) });
    expectExit(start, 1, 'npm start');
    expect(start.output).toMatch(message);
  });
});
