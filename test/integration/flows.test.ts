import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  FAKE_AUTHORIZATION,
  FakeEnvironment,
  FakeServerlessApi,
  startFakeServerlessApi,
} from '../support/fake-serverless-api';
import { FakeStudioApi, startFakeStudioApi } from '../support/fake-studio-api';
import {
  cliDeploy,
  clone,
  CI_ENV,
  CREDENTIALS,
  expectExit,
  expectFreshDeploy,
  Run,
  twilioRun,
  twilioRunDeploy,
  writeFreshEnv,
} from '../support/deploy-run';
import { PROJECT_ROOT } from '../support/paths';

// A fresh clone deployed with the real deploy commands against the fake Serverless API, then the project's own
// `npm run flows:deploy` / `flows:pull` (through tsx, as npm runs them) against the fake Studio API.
jest.setTimeout(600_000);

const TSX = require.resolve('tsx/cli', { paths: [PROJECT_ROOT] });
const PROD_VARIABLES = 'MMS_REPLY=Thanks.\nLOG_LEVEL=warn\n';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-flows-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function run(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run & { stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSX, ...args], {
      cwd,
      env: { ...process.env, FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => ((stdout += c.toString('utf8')), (output += c.toString('utf8'))));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('close', (code) => resolve({ code, output, stdout }));
  });
}

const flows = (root: string, serverless: FakeServerlessApi, studio: FakeStudioApi, args: string[]) =>
  run(root, ['src/commands/flows.ts', ...args], {
    TWILIO_SERVERLESS_BASE_URL: serverless.url,
    TWILIO_STUDIO_BASE_URL: studio.url,
  });

interface State {
  name: string;
  type: string;
  properties: Record<string, unknown>;
}
const stateOf = (definition: unknown, name: string) =>
  (definition as { states: State[] }).states.find((s) => s.name === name)!;
const manifestOf = (root: string) =>
  JSON.parse(fs.readFileSync(path.join(root, 'dist', 'assets', 'media-manifest.private.json'), 'utf8')) as {
    entries: Record<string, { path: string }>;
  };

/** What the fake Serverless API holds for the service's dev environment: its domain and Function SIDs by path. */
async function deployedDev(serverless: FakeServerlessApi) {
  const get = async (p: string) =>
    (await fetch(`${serverless.url}${p}`, { headers: { authorization: FAKE_AUTHORIZATION } })).json() as Promise<
      Record<string, unknown>
    >;
  const services = (await get('/v1/Services')).services as { sid: string }[];
  const serviceSid = services[0].sid;
  const envs = (await get(`/v1/Services/${serviceSid}/Environments`)).environments as {
    sid: string;
    domain_name: string;
    build_sid: string;
  }[];
  const build = await get(`/v1/Services/${serviceSid}/Builds/${envs[0].build_sid}`);
  const functionSid = (p: string) =>
    (build.function_versions as { path: string; function_sid: string }[]).find((v) => v.path === p)!.function_sid;
  return { serviceSid, environmentSid: envs[0].sid, domain: envs[0].domain_name, functionSid };
}

/** The example IVR as Studio must get it: the deployed Function's SIDs and URL, the greeting's immutable URL. */
async function expectDeployedIvr(root: string, serverless: FakeServerlessApi, definition: unknown): Promise<void> {
  const dev = await deployedDev(serverless);
  expect(stateOf(definition, 'get_hold_prompt').properties).toMatchObject({
    service_sid: dev.serviceSid,
    environment_sid: dev.environmentSid,
    function_sid: dev.functionSid('/studio/media-url'),
    url: `https://${dev.domain}/studio/media-url`,
  });
  const greeting = manifestOf(root).entries['audio/greeting.wav'].path;
  expect(greeting).toMatch(/^\/audio\/greeting\.[0-9a-f]{12}\.wav$/);
  expect(stateOf(definition, 'play_greeting').properties.play).toBe(`https://${dev.domain}${greeting}`);
}

describe('deploy, then flows:deploy and flows:pull, from a fresh clone', () => {
  const root = clone(work, 'fresh');
  let serverless: FakeServerlessApi;
  let studio: FakeStudioApi;
  const ivr = () => fs.readFileSync(path.join(root, 'src', 'flows', 'ivr.json'), 'utf8');
  let original: string;

  beforeAll(async () => {
    serverless = await startFakeServerlessApi();
    studio = await startFakeStudioApi();
    fs.writeFileSync(path.join(root, '.env'), CREDENTIALS);
    original = ivr();
    expectExit(await twilioRunDeploy(root, serverless), 0);
  });
  afterAll(async () => {
    await serverless.close();
    await studio.close();
  });

  it('publishes the flow with the deployed SIDs and URLs and the immutable media URL', async () => {
    const r = await flows(root, serverless, studio, ['deploy', '--publish']);
    expectExit(r, 0, 'flows:deploy');
    const dev = await deployedDev(serverless);
    const [flow] = [...studio.flows.values()];
    expect(studio.flows.size).toBe(1);
    expect(flow.status).toBe('published');
    expect(flow.friendlyName).toBe(`ivr (${dev.domain})`);
    expect(r.stdout).toMatch(
      new RegExp(
        `^ivr: ${flow.sid} published revision 1 \\(created\\)  webhook https://webhooks\\.twilio\\.com/v1/Accounts/AC0+/Flows/${flow.sid}$`,
        'm',
      ),
    );
    await expectDeployedIvr(root, serverless, flow.definition);
    // Studio's own Liquid passes through untouched
    expect(stateOf(flow.definition, 'play_hold_prompt').properties.play).toBe('{{widgets.get_hold_prompt.parsed.url}}');
    expect(JSON.stringify(flow.definition)).not.toContain('${');
  });

  it('flows:pull right after gives back the file unchanged', async () => {
    fs.writeFileSync(path.join(root, 'src', 'flows', 'ivr.json'), '{}');
    const r = await flows(root, serverless, studio, ['pull', 'ivr']);
    expectExit(r, 0, 'flows:pull');
    expect(ivr()).toBe(original);
  });

  it('a canvas edit comes back with the placeholders kept', async () => {
    const [flow] = [...studio.flows.values()];
    stateOf(flow.definition, 'say_fallback').properties.say = 'Edited in the canvas.';
    expectExit(await flows(root, serverless, studio, ['pull', 'ivr']), 0, 'flows:pull');
    const pulled = JSON.parse(ivr()) as unknown;
    expect(stateOf(pulled, 'say_fallback').properties.say).toBe('Edited in the canvas.');
    expect(stateOf(pulled, 'play_greeting').properties.play).toBe('${media:audio/greeting.wav}');
    expect(stateOf(pulled, 'get_hold_prompt').properties).not.toHaveProperty('function_sid');
    fs.writeFileSync(path.join(root, 'src', 'flows', 'ivr.json'), original);
  });

  it("a pull whose placeholders land in a Split's condition and the description deploys with them resolved", async () => {
    const dev = await deployedDev(serverless);
    const greeting = `https://${dev.domain}${manifestOf(root).entries['audio/greeting.wav'].path}`;
    const mediaUrlFunction = `https://${dev.domain}/studio/media-url`;
    const [flow] = [...studio.flows.values()];
    const canvas = flow.definition as { description: string; states: Record<string, unknown>[] };
    canvas.description = `Plays ${greeting} first`;
    (canvas.states[0].transitions as { event: string; next?: string }[])[0].next = 'route_by_url';
    canvas.states.push({
      name: 'route_by_url',
      type: 'split-based-on',
      transitions: [
        { event: 'noMatch', next: 'say_fallback' },
        {
          event: 'match',
          next: 'get_hold_prompt',
          conditions: [
            {
              friendly_name: 'media Function',
              arguments: ['{{trigger.message.Body}}'],
              type: 'equal_to',
              value: mediaUrlFunction,
            },
          ],
        },
      ],
      properties: { input: '{{trigger.message.Body}}', offset: { x: 400, y: 200 } },
    });
    expectExit(await flows(root, serverless, studio, ['pull', 'ivr']), 0, 'flows:pull');
    const pulled = ivr();
    expect(JSON.parse(pulled)).toMatchObject({ description: 'Plays ${media:audio/greeting.wav} first' });
    expect(pulled).toContain('"value": "${function:/studio/media-url}"');

    const r = await flows(root, serverless, studio, ['deploy']);
    expectExit(r, 0, 'flows:deploy');
    const sent = studio.flows.get(flow.sid)!.definition as typeof canvas;
    expect(JSON.stringify(sent)).not.toContain('${');
    expect(sent.description).toBe(`Plays ${greeting} first`);
    const split = sent.states.find((s) => s.name === 'route_by_url')!;
    expect((split.transitions as { conditions?: { value: string }[] }[])[1].conditions![0].value).toBe(
      mediaUrlFunction,
    );
    fs.writeFileSync(path.join(root, 'src', 'flows', 'ivr.json'), original);
  });

  it('a flow Studio refuses changes nothing, not even the flows that pass', async () => {
    // passes the build's checks; Studio refuses it for a reason of its own, which the test scripts
    fs.writeFileSync(path.join(root, 'src', 'flows', 'another.json'), original);
    studio.refusals.set('another', ['#/states/1/properties/play: the account cannot reach this URL']);
    const changes = studio.changes;
    const before = JSON.stringify([...studio.flows.values()]);
    const r = await flows(root, serverless, studio, ['deploy', '--publish']);
    fs.rmSync(path.join(root, 'src', 'flows', 'another.json'));
    studio.refusals.clear();
    expect(r.code).toBe(1);
    expect(r.output).toMatch(
      /another: Studio refused the definition: Twilio answered 400 \(error 20001\): Invalid Flow Definition/,
    );
    expect(r.output).toMatch(/the account cannot reach this URL/);
    expect(r.output).toMatch(/^ivr: valid$/m);
    expect(r.output).toMatch(/Nothing was changed in Studio/);
    expect(studio.changes).toBe(changes);
    expect(JSON.stringify([...studio.flows.values()])).toBe(before);
  });

  it('a media file changed and deployed again gives the flow its new immutable URL, as a draft update', async () => {
    const before = manifestOf(root).entries['audio/greeting.wav'].path;
    fs.appendFileSync(path.join(root, 'assets', 'audio', 'greeting.wav'), Buffer.alloc(16));
    expectExit(await twilioRunDeploy(root, serverless), 0);
    const after = manifestOf(root).entries['audio/greeting.wav'].path;
    expect(after).not.toBe(before);
    const revision = [...studio.flows.values()][0].revision;
    const r = await flows(root, serverless, studio, ['deploy']);
    expectExit(r, 0, 'flows:deploy');
    const [flow] = [...studio.flows.values()];
    expect(studio.flows.size).toBe(1); // updated, not created again
    expect(flow.revision).toBe(revision + 1);
    expect(flow.status).toBe('draft');
    await expectDeployedIvr(root, serverless, flow.definition); // with the greeting's new version
  });

  it('a dist/ rebuilt after the deploy is refused: the flow would play a file Twilio does not serve', async () => {
    fs.appendFileSync(path.join(root, 'assets', 'audio', 'greeting.wav'), Buffer.alloc(16));
    expectExit(await run(root, ['src/commands/cli.ts', 'build']), 0, 'build');
    const changes = studio.changes;
    const r = await flows(root, serverless, studio, ['deploy']);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(
      /media "audio\/greeting\.wav".*has no \/audio\/greeting\.[0-9a-f]{12}\.wav: dist\/ changed since the deploy/,
    );
    expect(studio.changes).toBe(changes);
  });

  it('npm run build fails on a dangling transition and a missing Function, naming both', async () => {
    const bad = original
      .replace('"next": "say_fallback"', '"next": "say_nothing"')
      .replace('${function:/studio/media-url}', '${function:/studio/gone}');
    fs.writeFileSync(path.join(root, 'src', 'flows', 'ivr.json'), bad);
    const r = await run(root, ['src/commands/cli.ts', 'build']);
    fs.writeFileSync(path.join(root, 'src', 'flows', 'ivr.json'), original);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(
      /ivr\.json: state "get_hold_prompt" \(run-function\): transition "fail" goes to "say_nothing", which names no state/,
    );
    expect(r.output).toMatch(
      /ivr\.json: state "get_hold_prompt" \(run-function\): properties\.url: no Function "\/studio\/gone"/,
    );
  });
});

describe('flows per environment: prod after a promote, then a fresh checkout that updates by name', () => {
  const root = clone(work, 'environments');
  let serverless: FakeServerlessApi;
  let studio: FakeStudioApi;
  const flowInfo = () =>
    JSON.parse(fs.readFileSync(path.join(root, '.twilioflowinfo'), 'utf8')) as Record<
      string,
      { serviceSid: string; domainName: string; flows: Record<string, string> }
    >;
  let dev: Awaited<ReturnType<typeof deployedDev>>;
  let prod: FakeEnvironment;
  let devFlow: string;
  let prodFlow: string;

  beforeAll(async () => {
    serverless = await startFakeServerlessApi();
    studio = await startFakeStudioApi();
    fs.writeFileSync(path.join(root, '.env'), CREDENTIALS);
    expectExit(await twilioRunDeploy(root, serverless), 0);
    dev = await deployedDev(serverless);
  });
  afterAll(async () => {
    await serverless.close();
    await studio.close();
  });

  it("`--environment prod --publish` after a promote fills prod's domain and SIDs; .twilioflowinfo keeps dev and prod apart", async () => {
    expectExit(await flows(root, serverless, studio, ['deploy', '--publish']), 0, 'flows:deploy (dev)');
    [devFlow] = [...studio.flows.keys()];
    // the real promote, as a CI job runs it: the project's check, then dev's own Build on prod, no rebuild
    fs.writeFileSync(path.join(root, '.env.prod'), PROD_VARIABLES);
    const devBuild = serverless.environment('dev')!.build_sid!;
    const [builds, uploads] = [serverless.builds.length, serverless.uploads.length];
    const promote = await twilioRun(
      root,
      serverless,
      ['promote', '--from', 'dev', '--to', 'prod', '--create-environment'],
      CI_ENV,
    );
    expectExit(promote, 0, 'twilio-run promote');
    expect(promote.output).toContain(
      `Promoting Build ${devBuild} (dev's) to prod with the 2 checked variables of .env.prod`,
    );
    prod = serverless.environment('prod')!;
    expect(prod.deployments).toEqual([devBuild]);
    expect(Object.fromEntries(prod.variables)).toEqual({ MMS_REPLY: 'Thanks.', LOG_LEVEL: 'warn' });
    expect([serverless.builds.length, serverless.uploads.length]).toEqual([builds, uploads]);

    const r = await flows(root, serverless, studio, ['deploy', '--environment', 'prod', '--publish']);
    expectExit(r, 0, 'flows:deploy --environment prod');
    expect(r.output).toContain(`environment ${prod.sid} (https://${prod.domain_name})`);
    expect(studio.flows.size).toBe(2);
    prodFlow = [...studio.flows.keys()].find((sid) => sid !== devFlow)!;
    const flow = studio.flows.get(prodFlow)!;
    expect(flow).toMatchObject({ friendlyName: `ivr (${prod.domain_name})`, status: 'published', revision: 1 });
    expect(stateOf(flow.definition, 'get_hold_prompt').properties).toMatchObject({
      service_sid: dev.serviceSid,
      environment_sid: prod.sid,
      function_sid: dev.functionSid('/studio/media-url'), // the same Build, so the same Function
      url: `https://${prod.domain_name}/studio/media-url`,
    });
    const greeting = manifestOf(root).entries['audio/greeting.wav'].path;
    expect(stateOf(flow.definition, 'play_greeting').properties.play).toBe(`https://${prod.domain_name}${greeting}`);
    expect(JSON.stringify(flow.definition)).not.toContain(dev.domain);
    // dev's flow as dev's deploy left it
    expect(studio.flows.get(devFlow)).toMatchObject({ friendlyName: `ivr (${dev.domain})`, revision: 1 });
    await expectDeployedIvr(root, serverless, studio.flows.get(devFlow)!.definition);
    expect(flowInfo()).toEqual({
      [dev.environmentSid]: { serviceSid: dev.serviceSid, domainName: dev.domain, flows: { ivr: devFlow } },
      [prod.sid]: { serviceSid: dev.serviceSid, domainName: prod.domain_name, flows: { ivr: prodFlow } },
    });
  });

  it("a fresh checkout (no .twilioflowinfo) updates prod's flow found by name, creates none, leaves dev's alone", async () => {
    fs.rmSync(path.join(root, '.twilioflowinfo'));
    const r = await flows(root, serverless, studio, ['deploy', '--environment', 'prod', '--publish']);
    expectExit(r, 0, 'flows:deploy --environment prod (fresh checkout)');
    expect(r.output).toContain(`found flow ${prodFlow} in Studio by its name "ivr (${prod.domain_name})"`);
    expect(r.stdout).toMatch(new RegExp(`^ivr: ${prodFlow} published revision 2  webhook `, 'm'));
    expect(r.stdout).not.toContain('(created)');
    expect(studio.flows.size).toBe(2);
    expect(studio.flows.get(devFlow)!.revision).toBe(1);
    expect(flowInfo()).toEqual({
      [prod.sid]: { serviceSid: dev.serviceSid, domainName: prod.domain_name, flows: { ivr: prodFlow } },
    });
  });

  it('flows:pull in a fresh checkout finds the flow by name too', async () => {
    fs.rmSync(path.join(root, '.twilioflowinfo'));
    const original = fs.readFileSync(path.join(root, 'src', 'flows', 'ivr.json'), 'utf8');
    fs.writeFileSync(path.join(root, 'src', 'flows', 'ivr.json'), '{}');
    const r = await flows(root, serverless, studio, ['pull', 'ivr', '--environment', 'dev']);
    expectExit(r, 0, 'flows:pull --environment dev (fresh checkout)');
    expect(r.output).toContain(`found flow ${devFlow} in Studio by its name "ivr (${dev.domain})"`);
    expect(fs.readFileSync(path.join(root, 'src', 'flows', 'ivr.json'), 'utf8')).toBe(original);
  });

  it('two flows under one name are refused naming both SIDs, and nothing changes', async () => {
    const copy = studio.addFlow(`ivr (${prod.domain_name})`); // e.g. a duplicate made in the Console
    const changes = studio.changes;
    const r = await flows(root, serverless, studio, ['deploy', '--environment', 'prod', '--publish']);
    expect(r.code).toBe(1);
    expect(r.output).toContain(`ivr: Studio has 2 flows named "ivr (${prod.domain_name})": ${prodFlow}, ${copy}`);
    expect(r.output).toMatch(/Nothing was changed in Studio/);
    expect(studio.changes).toBe(changes);
    expect(fs.existsSync(path.join(root, '.twilioflowinfo'))).toBe(false);
  });
});

describe('`twilio serverless:deploy` (the Twilio CLI and its plugin, its own twilio-run 3.x), then flows:deploy', () => {
  const root = clone(work, 'cli');
  let serverless: FakeServerlessApi;
  let studio: FakeStudioApi;
  beforeAll(async () => {
    serverless = await startFakeServerlessApi();
    studio = await startFakeStudioApi();
    writeFreshEnv(root);
  });
  afterAll(async () => {
    await serverless.close();
    await studio.close();
  });

  it("deploys what `twilio-run deploy` deploys (deploy.test.ts's assertions), then flows:deploy publishes against it", async () => {
    expect(fs.existsSync(path.join(root, 'dist'))).toBe(false);
    const deploy = await cliDeploy(root, serverless);
    expectExit(deploy, 0, 'twilio serverless:deploy');
    expectFreshDeploy(root, serverless, deploy);
    // the plugin's twilio-run 3.x records the deploy where flows:deploy looks for it
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(root, '.twiliodeployinfo'), 'utf8')) as object)).toEqual([
      'AC00000000000000000000000000000000:us1',
    ]);
    const r = await flows(root, serverless, studio, ['deploy', '--publish']);
    expectExit(r, 0, 'flows:deploy');
    const [flow] = [...studio.flows.values()];
    expect(flow.status).toBe('published');
    await expectDeployedIvr(root, serverless, flow.definition);
  });
});
