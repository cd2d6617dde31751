import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FAKE_ACCOUNT, startFakeServerlessApi } from '../support/fake-serverless-api';
import type { FakeServerlessApi } from '../support/fake-serverless-api';
import {
  clone as cloneProject,
  cliRun,
  expectExit,
  npmScript,
  twilioRun,
  twilioRunDeploy,
  CI_ENV,
} from '../support/deploy-run';
import { startFakeStudioApi } from '../support/fake-studio-api';

// A team's path to production, as a CI job walks it: only the Twilio CLI's three variables in the environment, the
// real `twilio-run deploy` / `promote` (and the real Twilio CLI) from copies of the project as git checks it out,
// against one fake Serverless API that keeps its state (Service, environments, Builds, variables) across the steps.
jest.setTimeout(300_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-promote-'));
const DEV_VARIABLES = 'MMS_REPLY=Thanks (dev).\nLOG_LEVEL=debug\n';
const STAGE_VARIABLES = 'MMS_REPLY=Thanks (stage).\nLOG_LEVEL=info\n';
const PROD_VARIABLES = 'MMS_REPLY=Thanks.\nLOG_LEVEL=warn\n';

let api: FakeServerlessApi;
beforeAll(async () => {
  api = await startFakeServerlessApi();
});
afterAll(async () => {
  await api.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** the requests of what runs in `during`, and their Basic usernames */
async function requestsOf<T>(
  during: () => Promise<T>,
): Promise<{ result: T; requests: string[]; usernames: string[] }> {
  const before = api.requests.length;
  const result = await during();
  return { result, requests: api.requests.slice(before), usernames: api.usernames.slice(before) };
}
const writes = (requests: string[]) => requests.filter((r) => !r.startsWith('GET '));

/** `npm run flows:deploy -- ARGS` against the fakes, with the CI job's API key. */
const flowsDeploy = (cwd: string, studioUrl: string, args: string[]) =>
  npmScript(cwd, api, ['src/commands/flows.ts', 'deploy', ...args], {
    ...CI_ENV,
    TWILIO_SERVERLESS_BASE_URL: api.url,
    TWILIO_STUDIO_BASE_URL: studioUrl,
  });

describe('a checkout deploying with an API key from the environment', () => {
  const root = cloneProject(work, 'ci');
  beforeAll(() => {
    // no ACCOUNT_SID, no AUTH_TOKEN: the Functions' variables only
    fs.writeFileSync(path.join(root, '.env'), DEV_VARIABLES);
    fs.writeFileSync(path.join(root, '.env.stage'), STAGE_VARIABLES);
    fs.writeFileSync(path.join(root, '.env.local'), 'AWS_SECRET_ACCESS_KEY=local-secret\n');
  });

  it('deploys dev with only TWILIO_ACCOUNT_SID, TWILIO_API_KEY and TWILIO_API_SECRET, every request signed with the key', async () => {
    const { result: run, requests, usernames } = await requestsOf(() => twilioRunDeploy(root, api, [], CI_ENV));
    expectExit(run, 0);
    expect(run.output).toMatch(/Twilio credentials: API key from TWILIO_\* in the environment \(SK5555\.\.\.\)/);
    expect(requests.length).toBeGreaterThan(5);
    expect(new Set(usernames)).toEqual(new Set([FAKE_ACCOUNT.apiKey]));
    expect(Object.fromEntries(api.variables)).toEqual({ MMS_REPLY: 'Thanks (dev).', LOG_LEVEL: 'debug' });
    expect(api.environment('dev')?.deployments).toEqual([api.buildSids[0]]);
    // twilio-run records a deploy only under an AC username: the next commands must find the Service by name
    expect(fs.existsSync(path.join(root, '.twiliodeployinfo'))).toBe(false);
    expect(run.output).not.toContain(FAKE_ACCOUNT.apiSecret);
  });

  it("deploys stage with .env.stage into the same Service, leaving dev's Build and variables alone", async () => {
    const devBuild = api.environment('dev')?.build_sid;
    const { result: run, requests } = await requestsOf(() =>
      twilioRunDeploy(root, api, ['--environment', 'stage', '--env', '.env.stage'], CI_ENV),
    );
    expectExit(run, 0);
    expect(run.output).toMatch(/Service ZS\w{32} found by its unique name "twilio-media-assets" through the API/);
    expect(requests).not.toContain('POST serverless.twilio.com /v1/Services');
    expect(Object.fromEntries(api.environment('stage')!.variables)).toEqual({
      MMS_REPLY: 'Thanks (stage).',
      LOG_LEVEL: 'info',
    });
    expect(Object.fromEntries(api.variables)).toEqual({ MMS_REPLY: 'Thanks (dev).', LOG_LEVEL: 'debug' });
    expect(api.environment('dev')?.build_sid).toBe(devBuild);
    expect(api.environment('stage')?.build_sid).toBe(api.buildSids[1]);
  });

  it.each([
    [['--environment', 'qa'], /the environment qa reads its variables from \.env\.qa, which does not exist/],
    [
      ['--environment', 'prod', '--env', '.env.stage'],
      /\.env\.stage holds the variables of stage, not of prod: pass --env \.env\.prod/,
    ],
    [['--production', '--env', '.env'], /\.env holds the variables of dev, not of production \(no domain suffix\)/],
    [['--env', '.env.local'], /\.env\.local holds the settings of the local commands and is never uploaded/],
  ])('refuses to send one environment the variables of another: %j', async (args, message) => {
    const { result: run, requests } = await requestsOf(() => twilioRunDeploy(root, api, args, CI_ENV));
    expectExit(run, 1);
    expect(run.output).toMatch(/Deploy refused, nothing was uploaded/);
    expect(run.output).toMatch(message);
    expect(requests).toEqual([]);
  });

  it('a promote whose env file holds a local-only secret is refused by name, prod left unchanged', async () => {
    fs.writeFileSync(path.join(root, '.env.prod'), `${PROD_VARIABLES}AWS_SECRET_ACCESS_KEY=s3cr3t\n`);
    const { result: run, requests } = await requestsOf(() =>
      twilioRun(root, api, ['promote', '--from', 'dev', '--to', 'prod', '--create-environment'], CI_ENV),
    );
    expectExit(run, 1, 'twilio-run promote');
    expect(run.output).toMatch(/Promote refused, nothing was changed at Twilio/);
    expect(run.output).toMatch(/\.env\.prod: AWS_SECRET_ACCESS_KEY is a setting of the local commands/);
    expect(run.output).not.toContain('s3cr3t');
    expect(writes(requests)).toEqual([]);
    expect(api.environment('prod')).toBeUndefined();
  });

  it("promotes exactly dev's Build to prod with .env.prod's variables: no build, no upload", async () => {
    fs.writeFileSync(path.join(root, '.env.prod'), PROD_VARIABLES);
    const devBuild = api.environment('dev')!.build_sid!;
    const [builds, uploads] = [api.builds.length, api.uploads.length];
    const { result: run, usernames } = await requestsOf(() =>
      twilioRun(root, api, ['promote', '--from', 'dev', '--to', 'prod', '--create-environment'], CI_ENV),
    );
    expectExit(run, 0, 'twilio-run promote');
    expect(run.output).toContain(
      `Promoting Build ${devBuild} (dev's) to prod with the 2 checked variables of .env.prod`,
    );
    expect(api.environment('prod')?.deployments).toEqual([devBuild]);
    expect(Object.fromEntries(api.environment('prod')!.variables)).toEqual({ MMS_REPLY: 'Thanks.', LOG_LEVEL: 'warn' });
    expect([api.builds.length, api.uploads.length]).toEqual([builds, uploads]);
    expect(Object.fromEntries(api.variables)).toEqual({ MMS_REPLY: 'Thanks (dev).', LOG_LEVEL: 'debug' });
    expect(new Set(usernames)).toEqual(new Set([FAKE_ACCOUNT.apiKey]));
  });

  it("publishes the flows per environment after the promote: prod's own domain and SIDs, dev's flow left alone", async () => {
    const studio = await startFakeStudioApi();
    try {
      const dev = await flowsDeploy(root, studio.url, ['--publish']);
      expectExit(dev, 0, 'flows:deploy');
      expect(dev.output).toMatch(
        /found by its unique name "twilio-media-assets" through the API .*; environment "dev"/,
      );
      const prod = await flowsDeploy(root, studio.url, ['--environment', 'prod', '--publish']);
      expectExit(prod, 0, 'flows:deploy --environment prod');
      const [devEnv, prodEnv] = [api.environment('dev')!, api.environment('prod')!];
      const info = JSON.parse(fs.readFileSync(path.join(root, '.twilioflowinfo'), 'utf8')) as Record<
        string,
        { domainName: string; flows: Record<string, string> }
      >;
      expect(Object.keys(info).sort()).toEqual([devEnv.sid, prodEnv.sid].sort());
      expect(info[prodEnv.sid].domainName).toBe(prodEnv.domain_name);
      expect(info[prodEnv.sid].flows.ivr).not.toBe(info[devEnv.sid].flows.ivr);
      const prodFlow = studio.flows.get(info[prodEnv.sid].flows.ivr)!;
      expect(prodFlow.status).toBe('published');
      expect(prodFlow.friendlyName).toBe(`ivr (${prodEnv.domain_name})`);
      const text = JSON.stringify(prodFlow.definition);
      expect(text).toContain(prodEnv.sid);
      expect(text).toContain(`https://${prodEnv.domain_name}/`);
      expect(text).not.toContain(devEnv.domain_name);
      expect(studio.flows.get(info[devEnv.sid].flows.ivr)!.friendlyName).toBe(`ivr (${devEnv.domain_name})`);
    } finally {
      await studio.close();
    }
  });

  it('refuses to promote a Build Twilio has deleted, writing nothing', async () => {
    const stageBuild = api.environment('stage')!.build_sid!;
    api.expireBuild(stageBuild);
    fs.writeFileSync(path.join(root, '.env.demo'), PROD_VARIABLES);
    const { result: run, requests } = await requestsOf(() =>
      // `activate` is twilio-run's alias of promote: the same config key, the same check
      twilioRun(root, api, ['activate', '--build-sid', stageBuild, '--to', 'demo', '--create-environment'], CI_ENV),
    );
    expectExit(run, 1, 'twilio-run promote');
    expect(run.output).toMatch(
      new RegExp(
        `Build ${stageBuild} no longer exists at Twilio: a Build with no active Deployment is deleted after 24 hours`,
      ),
    );
    expect(writes(requests)).toEqual([]);
    expect(api.environment('demo')).toBeUndefined();
  });

  it('explicit --username/--password win over TWILIO_* in the environment', async () => {
    const { result: run, usernames } = await requestsOf(() =>
      twilioRun(
        root,
        api,
        ['promote', '--from', 'dev', '--to', 'prod', '-u', FAKE_ACCOUNT.sid, '--password', FAKE_ACCOUNT.authToken],
        CI_ENV,
      ),
    );
    expectExit(run, 0, 'twilio-run promote');
    expect(run.output).toMatch(/Twilio credentials: --username and --password \(AC0000\.\.\.\)/);
    expect(new Set(usernames)).toEqual(new Set([FAKE_ACCOUNT.sid]));
  });

  it('a refused API key is one line naming the credentials used and the variables looked for', async () => {
    const { result: run, requests } = await requestsOf(() =>
      twilioRun(root, api, ['promote', '--from', 'dev', '--to', 'prod'], { ...CI_ENV, TWILIO_API_SECRET: 'revoked' }),
    );
    expectExit(run, 1, 'twilio-run promote');
    expect(run.output).toMatch(
      /Twilio refused the credentials \(API key from TWILIO_\* in the environment, SK5555\.\.\.\): 401 Authenticate\. Looked for TWILIO_ACCOUNT_SID with TWILIO_API_KEY/,
    );
    expect(run.output).not.toContain('revoked');
    expect(writes(requests)).toEqual([]);
  });

  it('names every variable it looked for when there are no credentials', async () => {
    const { result: run, requests } = await requestsOf(() =>
      twilioRun(root, api, ['promote', '--from', 'dev', '--to', 'prod'], {}),
    );
    expectExit(run, 1, 'twilio-run promote');
    expect(run.output).toMatch(
      /Missing Twilio credentials: looked for TWILIO_ACCOUNT_SID with TWILIO_API_KEY and TWILIO_API_SECRET \(or TWILIO_AUTH_TOKEN\) in the environment, then ACCOUNT_SID with API_KEY and API_SECRET or AUTH_TOKEN in the env files/,
    );
    expect(requests).toEqual([]);
  });
});

describe('a fresh checkout that never deployed', () => {
  const root = cloneProject(work, 'fresh-checkout');
  beforeAll(() => {
    fs.writeFileSync(path.join(root, '.env.prod'), PROD_VARIABLES);
    fs.writeFileSync(path.join(root, '.env.stage'), STAGE_VARIABLES);
  });

  it('promotes dev to prod, finding the Service by its unique name, without building', async () => {
    // dev gets a Build of its own first (from the other checkout), so that prod changes visibly
    const devBuild = api.environment('dev')!.build_sid!;
    const run = await twilioRun(root, api, ['promote', '--from', 'dev', '--to', 'prod'], CI_ENV);
    expectExit(run, 0, 'twilio-run promote');
    expect(run.output).toMatch(
      /found by its unique name "twilio-media-assets" through the API \(no \.twiliodeployinfo here\)/,
    );
    expect(api.environment('prod')?.deployments.at(-1)).toBe(devBuild);
    expect(fs.existsSync(path.join(root, 'dist'))).toBe(false);
  });

  it('`twilio serverless:promote` (the real Twilio CLI) runs the same checks: a local-only secret is refused by name', async () => {
    fs.writeFileSync(path.join(root, '.env.stage'), `${STAGE_VARIABLES}S3_ENDPOINT=http://127.0.0.1:9000\n`);
    const stage = api.environment('stage')!;
    const before = [...stage.deployments];
    const { result: run, requests } = await requestsOf(() =>
      cliRun(root, api, ['serverless:promote', '--from', 'prod', '--to', 'stage'], CI_ENV),
    );
    expectExit(run, 1, 'twilio serverless:promote');
    expect(run.output).toMatch(/\.env\.stage: S3_ENDPOINT is a setting of the local commands/);
    expect(writes(requests)).toEqual([]);
    expect(stage.deployments).toEqual(before);
  });

  it("`twilio serverless:promote` promotes prod's Build to stage with the API key", async () => {
    fs.writeFileSync(path.join(root, '.env.stage'), STAGE_VARIABLES);
    const prodBuild = api.environment('prod')!.build_sid!;
    const { result: run, usernames } = await requestsOf(() =>
      cliRun(root, api, ['serverless:promote', '--from', 'prod', '--to', 'stage'], CI_ENV),
    );
    expectExit(run, 0, 'twilio serverless:promote');
    expect(api.environment('stage')?.deployments.at(-1)).toBe(prodBuild);
    expect(new Set(usernames)).toEqual(new Set([FAKE_ACCOUNT.apiKey]));
  });
});
