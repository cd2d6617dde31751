import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listFunctions } from '../../src/pipeline/functions';
import { clone } from '../support/deploy-run';
import { request } from '../support/http';
import { twilioCli } from '../support/twilio-cli';
import { PROJECT_ROOT } from '../support/paths';
import { postSignedWebhook, RunningRuntime, startRuntime } from '../support/runtime';

// A team's own Functions dropped into src/functions/ of a fresh copy of the project (docs/functions.md): one in
// twilio-run's TypeScript template style, one in Twilio's JavaScript sample style, a protected JavaScript one,
// beside a data file. `npm run build` builds them, the runtime `npm start` runs serves them behind the platform's
// gateway, and what the build cannot build (a syntax error, twilio-run's top-level functions/) fails it by name.
jest.setTimeout(300_000);

const TEAM_FUNCTIONS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'team-functions');
const FUNCTION_TEMPLATES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'function-templates');
const GITHUB_FAKE = path.join(PROJECT_ROOT, 'test', 'support', 'function-templates-fake.cjs');
const TSX_CLI = require.resolve('tsx/cli', { paths: [PROJECT_ROOT] });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-team-'));
let root: string;
let runtime: RunningRuntime;
let buildOutput: string;

/** `npm run build` in the copy: its exit code and everything it printed. */
function npmRunBuild(): { code: number | null; output: string } {
  const run = spawnSync(process.execPath, [TSX_CLI, path.join('src', 'commands', 'cli.ts'), 'build'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

beforeAll(async () => {
  root = clone(work, 'team');
  fs.cpSync(TEAM_FUNCTIONS, path.join(root, 'src', 'functions'), { recursive: true });
  const build = npmRunBuild();
  buildOutput = build.output;
  if (build.code !== 0) throw new Error(`npm run build failed in the copy:\n${build.output}`);
  runtime = await startRuntime({ buildDir: path.join(root, 'dist'), env: { GREETING: 'Ahoy' } });
});

afterAll(async () => {
  await runtime?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("a team's own Functions in src/functions/", () => {
  it('are all built, TypeScript and JavaScript, and the file that is not a Function is named', () => {
    const own = listFunctions([path.join(PROJECT_ROOT, 'src', 'functions')]).length;
    expect(buildOutput).toContain(`built ${own + 3} functions into dist/functions`);
    expect(buildOutput).toContain('not a Function: src/functions/sms/numbers.json');
    for (const built of ['hello-template.js', 'sms/hello.js', 'sms/secret.protected.js']) {
      const code = fs.readFileSync(path.join(root, 'dist', 'functions', built), 'utf8');
      // self-contained: no relative require, and not the runtime types package (a devDependency)
      expect(code).not.toMatch(/require\(["'](\.\.?\/|@twilio-labs\/serverless-runtime-types)/);
    }
  });

  it("answer in twilio-run's TypeScript template style, with the context's variables", async () => {
    const res = await request(`${runtime.baseUrl}/hello-template?Body=team`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    expect(res.body.toString()).toContain('<Say>Ahoy team!</Say>');
  });

  it("answer in Twilio's JavaScript sample style", async () => {
    const res = await request(`${runtime.baseUrl}/sms/hello`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain('<Message>Hello World</Message>');
  });

  it('keep a protected JavaScript Function from an unsigned request, and answer a signed one', async () => {
    const form = { From: '+15550001111', Body: 'hi' };
    const unsigned = await request(`${runtime.baseUrl}/sms/secret`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    expect(unsigned.status).toBe(400);
    expect(unsigned.body.toString()).not.toContain('Only Twilio');
    const signed = await postSignedWebhook(runtime, '/sms/secret', form);
    expect(signed.status).toBe(200);
    expect(signed.body.toString()).toContain('<Message>Only Twilio can see this, +15550001111</Message>');
  });

  it('fail the build on a JavaScript syntax error, naming the file and line', () => {
    const broken = path.join(root, 'src', 'functions', 'sms', 'broken.js');
    fs.writeFileSync(broken, 'exports.handler = function (context, event, callback) {\n  callback(null, {;\n};\n');
    try {
      const build = npmRunBuild();
      expect(build.code).toBe(1);
      expect(build.output).toMatch(/Build failed\. TypeScript found \d+ errors?:\nsrc\/functions\/sms\/broken\.js\(2,/);
    } finally {
      fs.rmSync(broken);
    }
  });

  it("fail the build on twilio-run's top-level functions/ folder, saying where to move it", () => {
    fs.mkdirSync(path.join(root, 'functions'));
    fs.copyFileSync(path.join(TEAM_FUNCTIONS, 'sms', 'hello.js'), path.join(root, 'functions', 'hello.js'));
    try {
      const build = npmRunBuild();
      expect(build.code).toBe(1);
      expect(build.output).toContain(
        "Build failed: functions/ is twilio-run's layout; this project builds Functions from src/functions/ only: move its files there (docs/functions.md).",
      );
    } finally {
      fs.rmSync(path.join(root, 'functions'), { recursive: true });
    }
  });

  it('refuse what `twilio serverless:new` writes here (src/NAMESPACE/), naming where to move it; moved, it builds', async () => {
    // the real Twilio CLI and serverless plugin, its GitHub downloads answered from a fixture (the preload)
    const created = await twilioCli(['serverless:new', 'greeter', '--template=hello-world'], {
      cwd: root,
      env: { NODE_OPTIONS: `-r ${GITHUB_FAKE}`, FAKE_FUNCTION_TEMPLATES_DIR: FUNCTION_TEMPLATES },
    });
    expect(created.code).toBe(0);
    expect(fs.readdirSync(path.join(root, 'src', 'greeter'))).toEqual(['hello-world.js']);
    // and the template's variables at the end of .env, which a deploy refuses until FUNCTION_VARIABLES lists them
    expect(fs.readFileSync(path.join(root, '.env'), 'utf8')).toContain('GREETING=Hello from the template');
    const refused = npmRunBuild();
    expect(refused.code).toBe(1);
    expect(refused.output).toContain(
      'Build failed: src/greeter/hello-world.js exports a handler outside src/functions/, so it would never be built: move it to src/functions/greeter/hello-world.js (docs/functions.md).',
    );
    fs.renameSync(path.join(root, 'src', 'greeter'), path.join(root, 'src', 'functions', 'greeter'));
    const built = npmRunBuild();
    expect(built.code).toBe(0);
    expect(fs.existsSync(path.join(root, 'dist', 'functions', 'greeter', 'hello-world.js'))).toBe(true);
  });
});
