import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BuildInfo, buildInfoDifferences, healthBody } from '../../src/lib/build-info';
import { main } from '../../src/commands/deployed-check';
import { freePort } from '../../src/local-runtime/twilio-run';
import { STAMP_FILE, writeBuildStamp } from '../../src/pipeline/stamp';
import { FakeHost, startFakeHost } from '../support/fake-host';
import { FakeServerlessLogs, startFakeServerlessLogs } from '../support/fake-serverless-logs';

const INFO: BuildInfo = {
  name: 'twilio-media-assets',
  version: '0.1.0',
  builtAt: '2026-12-04T21:00:00.000Z',
  functions: 12,
  assets: { public: 3, protected: 1, private: 1, total: 5 },
};
const ACCOUNT_SID = 'AC00000000000000000000000000000000';
const AUTH_TOKEN = 'test-token';
const CREDS = { ACCOUNT_SID, AUTH_TOKEN };

/** A project folder whose dist/ holds a build stamp with `info` (none: no dist/ at all). */
function project(info: BuildInfo | null | 'no identity' = INFO): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-deployed-check-'));
  if (info === null) return dir;
  fs.mkdirSync(path.join(dir, 'dist'));
  writeBuildStamp(path.join(dir, 'dist'), [], info === 'no identity' ? undefined : info);
  return dir;
}

async function check(argv: string[], cwd = project(), env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { env, cwd, out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('buildInfoDifferences: a /health answer against the expected build', () => {
  const now = new Date('2026-12-04T22:00:00Z');

  it('the same build answers no difference (status and now are not identity)', () => {
    expect(buildInfoDifferences(INFO, JSON.parse(JSON.stringify(healthBody(INFO, now))))).toEqual([]);
  });

  it('names each field that differs, nested ones by their path, with both values', () => {
    const other = { ...INFO, builtAt: '2026-12-04T20:00:00.000Z', assets: { ...INFO.assets, public: 4, total: 6 } };
    expect(buildInfoDifferences(INFO, healthBody(other, now))).toEqual([
      'builtAt: answered "2026-12-04T20:00:00.000Z", expected "2026-12-04T21:00:00.000Z"',
      'assets.public: answered 4, expected 3',
      'assets.total: answered 6, expected 5',
    ]);
  });

  it('a field missing from the answer, or of another type, is a difference', () => {
    const { version: _version, ...withoutVersion } = healthBody(INFO, now);
    expect(buildInfoDifferences(INFO, withoutVersion)).toEqual(['version: answered nothing, expected "0.1.0"']);
    expect(buildInfoDifferences(INFO, { ...healthBody(INFO, now), functions: '12' })).toEqual([
      'functions: answered "12", expected 12',
    ]);
  });

  it('a degraded answer says why; an answer that is no object says so', () => {
    expect(buildInfoDifferences(INFO, healthBody(undefined, now))).toEqual([
      'status is "degraded", not "ok": build info missing: this Function was not built by npm run build',
    ]);
    expect(buildInfoDifferences(INFO, [INFO])).toEqual(['the answer is not a JSON object']);
    expect(buildInfoDifferences(INFO, null)).toEqual(['the answer is not a JSON object']);
  });
});

describe('deployed:check: bad arguments and configuration exit 2 naming the flag or file', () => {
  it.each<[string[], RegExp]>([
    [[], /--environment or --url is needed/],
    [['--prod'], /unknown option "--prod"/],
    [['--url'], /--url needs a value/],
    [['--url', 'example.twil.io'], /--url "example\.twil\.io" is not an absolute http\(s\) URL/],
    [['--url', 'ftp://example.twil.io'], /--url "ftp:\/\/example\.twil\.io" is not an absolute http\(s\) URL/],
    [['--url', 'https://a.twil.io', '--environment', 'dev'], /--url names the service itself/],
    [['--url', 'https://user:secret@a.twil.io'], /--url: give the URL without user:password/],
    [['--environment', 'dev', '--service-sid', 'ZS12'], /--service-sid: "ZS12" is not a service SID/],
    [['--url', 'https://a.twil.io', '--wait', '5s'], /--wait must be a whole number of seconds from 0 to 600/],
    [['--url', 'https://a.twil.io', '--wait', '601'], /--wait must be a whole number of seconds from 0 to 600/],
  ])('%j', async (argv, message) => {
    const r = await check(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/usage: npm run deployed:check/);
  });

  it('without a build in dist/ there is nothing to compare with, and nothing is asked', async () => {
    const r = await check(['--url', 'http://127.0.0.1:9'], project(null));
    expect(r).toMatchObject({ code: 2, out: '' });
    expect(r.err).toBe('deployed:check: dist/build-stamp.json does not exist: build first (npm run build)');
  });

  it('a stamp from before builds recorded their identity asks for a build', async () => {
    const r = await check(['--url', 'http://127.0.0.1:9'], project('no identity'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`dist/${STAMP_FILE} records no build identity`);
  });

  it('--environment needs credentials, and names the missing one', async () => {
    const r = await check(['--environment', 'dev'], project(), { ACCOUNT_SID });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/AUTH_TOKEN is not set, but ACCOUNT_SID is/);
  });

  it('--environment without --service-sid needs the last deploy’s record', async () => {
    const r = await check(['--environment', 'dev'], project(), {
      ...CREDS,
      TWILIO_SERVERLESS_BASE_URL: 'http://127.0.0.1:9',
    });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\.twiliodeployinfo does not exist: deploy first.*, or pass --service-sid/);
  });
});

describe('deployed:check against a scripted /health on loopback', () => {
  let health: FakeHost;
  afterEach(async () => health?.close());

  const answer = (info: BuildInfo | undefined) => (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(healthBody(info, new Date())));
  };

  it('the same build: exit 0, the URL and the build named on stdout', async () => {
    health = await startFakeHost(answer(INFO));
    const r = await check(['--url', `${health.url}/`, '--wait', '0']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe(
      `${health.url}/health serves the build in dist/: twilio-media-assets 0.1.0 built ${INFO.builtAt}`,
    );
    expect(health.requests.map((q) => `${q.method} ${q.url}`)).toEqual(['GET /health']);
  });

  it('a deployment that answers 503, then the old build, then the new one passes once it does', async () => {
    const old = { ...INFO, builtAt: '2026-12-04T20:00:00.000Z' };
    let n = 0;
    health = await startFakeHost((req, res) => {
      n += 1;
      if (n === 1) {
        res.writeHead(503);
        return res.end('starting');
      }
      return answer(n === 2 ? old : INFO)(req, res);
    });
    const r = await check(['--url', health.url, '--wait', '10']);
    expect(r.code).toBe(0);
    expect(r.err).toContain('answered 503 Service Unavailable; asking again');
    expect(r.err).toContain('builtAt: answered "2026-12-04T20:00:00.000Z", expected "2026-12-04T21:00:00.000Z"');
    expect(health.requests).toHaveLength(3);
  });

  it('another build until --wait runs out: exit 1 naming what differs', async () => {
    health = await startFakeHost(answer({ ...INFO, version: '0.2.0' }));
    const started = Date.now();
    const r = await check(['--url', health.url, '--wait', '2']);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(health.requests.length).toBeGreaterThanOrEqual(2);
    expect(r.err.split('\n').at(-1)).toBe(
      `deployed:check: ${health.url}/health does not serve the build in dist/: version: answered "0.2.0", expected "0.1.0"`,
    );
  });

  it('a body that is not JSON, and no server at all, are named', async () => {
    health = await startFakeHost((_req, res) => res.end('<html>'));
    const html = await check(['--url', health.url, '--wait', '0']);
    expect(html.code).toBe(1);
    expect(html.err).toContain('answered 200 with a body that is not JSON: "<html>"');
    const closed = await freePort();
    const nobody = await check(['--url', `http://127.0.0.1:${closed}`, '--wait', '0']);
    expect(nobody.code).toBe(1);
    expect(nobody.err).toBe(
      `deployed:check: http://127.0.0.1:${closed}/health does not serve the build in dist/: no answer: ECONNREFUSED`,
    );
  });
});

describe('deployed:check --environment: the domain from the Serverless API', () => {
  let api: FakeServerlessLogs;
  afterEach(async () => api?.close());

  const withDeployInfo = (serviceSid: string) => {
    const cwd = project();
    fs.writeFileSync(
      path.join(cwd, '.twiliodeployinfo'),
      JSON.stringify({ [`${ACCOUNT_SID}:us1`]: { serviceSid, latestBuild: `ZB${'1'.repeat(32)}` } }),
    );
    return cwd;
  };

  it('looks the environment up by domain suffix and asks https://DOMAIN/health', async () => {
    // a loopback port nothing listens on: the domain is used as the API gives it, and nothing leaves the machine
    const closed = await freePort();
    api = await startFakeServerlessLogs({
      username: ACCOUNT_SID,
      password: AUTH_TOKEN,
      environments: [{ suffix: 'dev', domain: `127.0.0.1:${closed}` }, { suffix: 'prod' }],
    });
    const r = await check(['--environment', 'dev', '--wait', '0'], withDeployInfo(api.serviceSid), {
      ...CREDS,
      TWILIO_SERVERLESS_BASE_URL: api.url,
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`environment ${api.environmentSid} of service ${api.serviceSid} is 127.0.0.1:${closed}`);
    expect(r.err).toContain(
      `https://127.0.0.1:${closed}/health does not serve the build in dist/: no answer: ECONNREFUSED`,
    );
    expect(api.host.requests.map((q) => q.url)).toEqual([`/v1/Services/${api.serviceSid}/Environments?PageSize=50`]);
  });

  it('--environment "" is production, the environment without a domain suffix', async () => {
    const closed = await freePort();
    api = await startFakeServerlessLogs({
      username: ACCOUNT_SID,
      password: AUTH_TOKEN,
      environments: [{ suffix: 'dev' }, { suffix: null, domain: `127.0.0.1:${closed}` }],
    });
    const r = await check(['--environment', '', '--service-sid', api.serviceSid, '--wait', '0'], project(), {
      ...CREDS,
      TWILIO_SERVERLESS_BASE_URL: api.url,
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `https://127.0.0.1:${closed}/health does not serve the build in dist/: no answer: ECONNREFUSED`,
    );
  });

  it('an environment the service does not have exits 2 listing those it has', async () => {
    api = await startFakeServerlessLogs({ username: ACCOUNT_SID, password: AUTH_TOKEN });
    const r = await check(['--environment', 'stage', '--service-sid', api.serviceSid], project(), {
      ...CREDS,
      TWILIO_SERVERLESS_BASE_URL: api.url,
    });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--environment stage: service ZS\w+ has no such environment; it has dev ZE\w+, \(production/);
  });

  it('refused credentials exit 1 with the API’s answer', async () => {
    api = await startFakeServerlessLogs({ username: ACCOUNT_SID, password: 'another-token' });
    const r = await check(['--environment', 'dev'], withDeployInfo(api.serviceSid), {
      ...CREDS,
      TWILIO_SERVERLESS_BASE_URL: api.url,
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the Serverless API answered 401 code 20003/);
  });
});
