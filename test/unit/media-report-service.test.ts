import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { main, ReportIo } from '../../src/commands/media-report';
import type { Report } from '../../src/lib/report/build';
import { MIN_REQUEST_INTERVAL_MS, PacingClock } from '../../src/lib/report/service-logs';
import { startFakeServerlessLogs, FakeServerlessLogs } from '../support/fake-serverless-logs';
import { exampleWeek, mediaLogLines } from '../support/media-log';

const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
const AUTH_TOKEN = 'logs-test-token';
// the example week starts here; "now" is the morning after its last day
const FIRST_DAY = '2026-11-23';
const NOW = new Date('2026-11-30T09:00:00Z');

let skipped = 0;
/** the waits the pacing asked for since the test began */
const waits: number[] = [];
/**
 * The Logs requests' pacing on a clock that skips its waits: real time plus every wait asked for so far. The
 * requests' spacing is then measured on this clock (the fake API stamps their arrival with it) without waiting.
 */
const skippingClock: PacingClock = {
  now: () => Date.now() + skipped,
  sleep: async (ms) => {
    waits.push(ms);
    skipped += ms;
  },
};

interface Run {
  code: number;
  out: string;
  err: string;
}

function project(deployInfo?: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-report-svc-'));
  if (deployInfo !== undefined) fs.writeFileSync(path.join(dir, '.twiliodeployinfo'), JSON.stringify(deployInfo));
  return dir;
}

async function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv, now = NOW): Promise<Run> {
  let out = '';
  let err = '';
  const io: ReportIo = {
    env: { ...env },
    cwd,
    stdin: Readable.from([]),
    out: (t) => (out += t),
    err: (t) => (err += `${t}\n`),
    now: () => now,
    pacing: skippingClock,
  };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('media:report --service reads the deployed service through the Serverless Logs API', () => {
  let api: FakeServerlessLogs;
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  const lines = mediaLogLines(exampleWeek(FIRST_DAY));

  beforeAll(async () => {
    api = await startFakeServerlessLogs({ username: ACCOUNT_SID, password: AUTH_TOKEN });
    api.add(lines.map((l) => ({ message: l.text, date_created: l.at, level: l.level })));
    cwd = project({ [`${ACCOUNT_SID}:us1`]: { serviceSid: api.serviceSid, latestBuild: `ZB${'2'.repeat(32)}` } });
    env = { ACCOUNT_SID, AUTH_TOKEN, TWILIO_SERVERLESS_BASE_URL: api.url };
  });
  afterAll(() => api?.close());
  beforeEach(() => {
    api.logQueries.length = 0;
    waits.length = 0;
  });

  it('builds the same report as from the log file, paging to the end', async () => {
    const file = path.join(cwd, 'media.log');
    fs.writeFileSync(file, lines.map((l) => l.text).join('\n'));
    const fromFile = await run(['--json', file], cwd, {});
    const fromService = await run(['--service', '--since', FIRST_DAY, '--json'], cwd, env);
    expect(fromService.err).not.toContain('Error');
    expect(fromService.code).toBe(0);
    const a = JSON.parse(fromFile.out) as Report;
    const b = JSON.parse(fromService.out) as Report;
    expect(b.days).toEqual(a.days);
    expect(b.delay).toEqual(a.delay);
    expect(b.days.map((d) => d.fetches)).toEqual(exampleWeek(FIRST_DAY).map((d) => d.fetches));
    expect(b.source).toMatchObject({ kind: 'service', serviceSid: api.serviceSid, environmentSid: api.environmentSid });
    expect(b.source?.logEntries).toBe(lines.length);
    // one query per UTC day (StartDate and EndDate on its midnights; twilio-node sends whole seconds), up to now
    const firstPages = api.logQueries.filter((q) => !q.has('Page'));
    expect(firstPages.map((q) => [q.get('StartDate'), q.get('EndDate')])).toEqual([
      ...['23', '24', '25', '26', '27', '28', '29'].map((d) => [
        `2026-11-${d}T00:00:00Z`,
        `2026-11-${Number(d) + 1}T00:00:00Z`,
      ]),
      ['2026-11-30T00:00:00Z', '2026-11-30T09:00:00Z'],
    ]);
    expect(api.logQueries.every((q) => q.get('PageSize') === '1000')).toBe(true);
    expect(fromService.err).toMatch(/2026-11-26T00:00:00.000Z to 2026-11-27T00:00:00.000Z: page \d+, \d+ log entries/);
  });

  it('answers the range asked for, by day, with StartDate and EndDate', async () => {
    const r = await run(['--service', '--since', '2026-11-25', '--until', '2026-11-25', '--json'], cwd, env);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as Report;
    expect(report.days.map((d) => d.day)).toEqual(['2026-11-25']);
    expect(api.logQueries[0].get('StartDate')).toBe('2026-11-25T00:00:00Z');
    expect(api.logQueries[0].get('EndDate')).toBe('2026-11-26T00:00:00Z');
  });

  it('reads the 7 whole UTC days before today and today by default', async () => {
    const r = await run(['--service', '--json'], cwd, env);
    expect(r.code).toBe(0);
    const firstPages = api.logQueries.filter((q) => !q.has('Page'));
    expect(firstPages[0].get('StartDate')).toBe('2026-11-23T00:00:00Z');
    expect(firstPages[firstPages.length - 1].get('EndDate')).toBe('2026-11-30T09:00:00Z');
    expect((JSON.parse(r.out) as Report).days).toHaveLength(7);
    expect(r.err).toMatch(/2026-11-23T00:00:00.000Z to 2026-11-24T00:00:00.000Z: page 1, \d+ log entries/);
  });

  it('says so when the range holds nothing, and still writes an empty report', async () => {
    const r = await run(['--service', '--since', '2026-11-29T20:00:00Z'], cwd, env);
    expect(r.code).toBe(0);
    expect(r.err).toContain('the service logged nothing in this range');
    expect(r.out).toContain('0 log entries from 2026-11-29T20:00:00.000Z');
  });

  it('refuses a range older than the 30 days Twilio keeps logs, and cuts one that starts before', async () => {
    const old = await run(['--service', '--since', '2026-09-01', '--until', '2026-10-01'], cwd, env);
    expect(old.code).toBe(2);
    expect(old.err).toContain("Twilio keeps Functions' logs for 30 days only");
    expect(old.err).toContain('https://www.twilio.com/docs/serverless/api/resource/logs');
    expect(api.logQueries).toHaveLength(0);
    const partly = await run(['--service', '--since', '2026-10-01', '--json'], cwd, env);
    expect(partly.code).toBe(0);
    expect(partly.err).toContain('warning: the range asked for started at 2026-10-01T00:00:00.000Z');
    const report = JSON.parse(partly.out) as Report;
    expect(report.source?.since).toBe('2026-10-31T09:00:00.000Z');
    expect(report.source?.notes?.[0]).toContain('30 days');
    expect(api.logQueries[0].get('StartDate')).toBe('2026-10-31T09:00:00Z');
  });

  it('finds the environment by domain suffix or SID, and names the ones there are when none matches', async () => {
    const bySid = await run(['--service', '--environment', api.environmentSid, '--since', '2026-11-29'], cwd, env);
    expect(bySid.code).toBe(0);
    const missing = await run(['--service', '--environment', 'stage'], cwd, env);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--environment stage: service ZS');
    expect(missing.err).toContain(`dev ${api.environmentSid}`);
    const production = await run(['--service', '--production', '--since', '2026-11-29', '--json'], cwd, env);
    expect(production.code).toBe(0);
    expect((JSON.parse(production.out) as Report).source?.environment).toBe('(production)');
  });

  it("reads a day past Twilio's 10,000 results per query in halves, so nothing is silently dropped", async () => {
    const busy = await startFakeServerlessLogs({
      username: ACCOUNT_SID,
      password: AUTH_TOKEN,
      now: () => skippingClock.now(),
    });
    try {
      const dayLines = mediaLogLines([{ day: '2026-11-28', fetches: 3600, with404: 40, gaveUp: 2, deleted: 3500 }]);
      expect(dayLines.length).toBeGreaterThan(10_000);
      busy.add(dayLines.map((l) => ({ message: l.text, date_created: l.at })));
      const dir = project({
        [`${ACCOUNT_SID}:us1`]: { serviceSid: busy.serviceSid, latestBuild: `ZB${'2'.repeat(32)}` },
      });
      const r = await run(['--service', '--since', '2026-11-28', '--until', '2026-11-28', '--json'], dir, {
        ...env,
        TWILIO_SERVERLESS_BASE_URL: busy.url,
      });
      expect(r.code).toBe(0);
      expect(r.err).toContain("reached Twilio's 10000-result cap: reading it in halves");
      const report = JSON.parse(r.out) as Report;
      expect(report.source?.logEntries).toBe(dayLines.length);
      expect(report.days[0].fetches).toBe(3600);
      expect(report.days[0].store.deleted).toBe(3500);
      expect(busy.logQueries.some((q) => q.get('StartDate') === '2026-11-28T12:00:00Z')).toBe(true);
      // pages followed through meta.next_page_url, which names Twilio's host: the override reaches it too
      expect(busy.logQueries.filter((q) => q.get('PageToken')).length).toBeGreaterThanOrEqual(10);
      // within the Logs resource's 5 requests per second, as the server sees them arrive on the pacing's clock
      const times = busy.host.requests.filter((q) => q.url.includes('/Logs')).map((q) => q.at);
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      expect(gaps.length).toBeGreaterThanOrEqual(10);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(MIN_REQUEST_INTERVAL_MS);
      // and paced by waiting, each wait no longer than the interval
      expect(waits.length).toBeGreaterThanOrEqual(gaps.length);
      expect(Math.max(...waits)).toBeLessThanOrEqual(MIN_REQUEST_INTERVAL_MS);
    } finally {
      await busy.close();
    }
  }, 120_000);

  it("retries Twilio's 429 (5 requests per second) with backoff, and gives up with its code after three", async () => {
    const tooMany = { status: 429, code: 20429, message: 'Too Many Requests' };
    api.refuseNext.push(tooMany, tooMany);
    const retried = await run(['--service', '--since', '2026-11-29T12:00:00Z', '--json'], cwd, env);
    expect(retried.code).toBe(0);
    // two refused, the 29th's page, then the 30th's
    expect(api.logQueries.length).toBe(4);
    expect((JSON.parse(retried.out) as Report).days.map((d) => d.day)).toEqual(['2026-11-29']);
    api.logQueries.length = 0;
    api.refuseNext.push(tooMany, tooMany, tooMany, tooMany);
    const refused = await run(['--service', '--since', '2026-11-29T12:00:00Z'], cwd, env);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('the Serverless API answered 429 code 20429: Too Many Requests');
    expect(api.logQueries.length).toBe(4);
  }, 60_000);

  it("exits 1 with the API's status and code when it refuses the credentials", async () => {
    const r = await run(['--service'], cwd, { ...env, AUTH_TOKEN: 'wrong' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('the Serverless API answered 401 code 20003: Authenticate');
    expect(r.err).toContain('check ACCOUNT_SID and AUTH_TOKEN');
    expect(r.err).not.toContain('wrong');
  });

  it('exits 1 naming the failure when the API cannot be reached', async () => {
    const r = await run(['--service'], cwd, { ...env, TWILIO_SERVERLESS_BASE_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('the Serverless API could not be reached: ECONNREFUSED');
  });

  it('exits 2 naming what is missing: deploy info, credentials, a bad base URL', async () => {
    const none = await run(['--service'], project(), env);
    expect(none.code).toBe(2);
    expect(none.err).toContain('.twiliodeployinfo does not exist: deploy first');
    const other = await run(
      ['--service'],
      project({ [`AC${'9'.repeat(32)}:us1`]: { serviceSid: api.serviceSid } }),
      env,
    );
    expect(other.code).toBe(2);
    expect(other.err).toContain(`.twiliodeployinfo has no deploy for ${ACCOUNT_SID}:us1`);
    const noCredentials = await run(['--service'], cwd, { TWILIO_SERVERLESS_BASE_URL: api.url });
    expect(noCredentials.code).toBe(2);
    expect(noCredentials.err).toContain('ACCOUNT_SID is not set');
    const half = await run(['--service'], cwd, { ...env, AUTH_TOKEN: undefined });
    expect(half.code).toBe(2);
    expect(half.err).toContain('AUTH_TOKEN is not set, but ACCOUNT_SID is');
    const badBase = await run(['--service'], cwd, { ...env, TWILIO_SERVERLESS_BASE_URL: 'serverless.example' });
    expect(badBase.code).toBe(2);
    expect(badBase.err).toContain('TWILIO_SERVERLESS_BASE_URL "serverless.example" is not an absolute http(s) URL');
    expect(api.logQueries).toHaveLength(0);
  });
});
