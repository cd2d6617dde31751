import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import twilio from 'twilio';
import { buildReport, formatCsv, formatMarkdown, parseLogLines } from '../../src/lib/report/build';
import { FakeHandler, FakeHost, startFakeHost } from '../support/fake-host';
import { request } from '../support/http';
import { RunningRuntime, startRuntime, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN } from '../support/runtime';

const DEADLINE_MS = 2500;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

// The whole path through the real twilio-run: signature, fetch through a 404 window, logs, report. What the
// fetcher does with each kind of failure is tested once, in test/unit/fetch.test.ts; the handler's own rules
// (concurrency, the message budget, onMedia) in test/unit/webhook-handlers.test.ts.
describe('POST /mms/inbound on the real twilio-run', () => {
  let runtime: RunningRuntime;
  let media: FakeHost;
  const routes = new Map<string, FakeHandler>();
  let messageCounter = 0;

  beforeAll(async () => {
    media = await startFakeHost((req, res, body) => {
      const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (!route) return res.writeHead(404).end();
      return route(req, res, body);
    });
    runtime = await startRuntime({
      env: {
        MEDIA_ALLOWED_HOSTS: media.host,
        MEDIA_FETCH_DEADLINE_MS: String(DEADLINE_MS),
        MEDIA_ATTEMPT_TIMEOUT_MS: '600',
      },
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await media?.close();
  });

  /** Posts a webhook signed for real, as Twilio signs it, for the URL Twilio would have called. */
  async function webhook(mediaPaths: string[], options: { forge?: boolean; extra?: Record<string, string> } = {}) {
    messageCounter += 1;
    const messageSid = `MM${String(messageCounter).padStart(32, '0')}`;
    const params: Record<string, string> = {
      MessageSid: messageSid,
      AccountSid: TEST_ACCOUNT_SID,
      From: '+15005550006',
      To: '+15005550001',
      Body: 'photo',
      NumMedia: String(mediaPaths.length),
      ...options.extra,
    };
    mediaPaths.forEach((p, i) => {
      params[`MediaUrl${i}`] = `${media.url}${p}`;
      params[`MediaContentType${i}`] = 'image/png';
    });
    const url = `http://localhost:${runtime.port}/mms/inbound`;
    const signature = twilio.getExpectedTwilioSignature(
      options.forge ? 'not-the-auth-token' : TEST_AUTH_TOKEN,
      url,
      params,
    );
    const res = await request(`${runtime.baseUrl}/mms/inbound`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature },
      body: new URLSearchParams(params).toString(),
    });
    await runtime.quiet();
    return { res, messageSid };
  }

  function fetchLog(messageSid: string): Record<string, unknown>[] {
    return runtime
      .output()
      .split('\n')
      .filter((l) => l.includes('"media_fetch"') && l.includes(messageSid))
      .map((l) => JSON.parse(l.slice(l.indexOf('{'), l.lastIndexOf('}') + 1)));
  }

  /** Media at `mediaPath` that answers 404 for `ms` from now, then the PNG, as a fresh Twilio media URL does. */
  function availableAfter(mediaPath: string, ms: number): void {
    const availableAt = Date.now() + ms;
    routes.set(mediaPath, (_req, res) =>
      Date.now() < availableAt
        ? res.writeHead(404).end()
        : res.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG),
    );
  }

  const requestsTo = (host: FakeHost, p: string) => host.requests.filter((r) => r.url.startsWith(p));
  const expectTwiml200 = (res: { status: number; headers: Record<string, unknown>; body: Buffer }) => {
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    expect(res.body.toString()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
  };

  it('gets media through a 404 window shorter than the deadline', async () => {
    availableAfter('/Media/window', 1000);
    const { res, messageSid } = await webhook(['/Media/window']);
    expectTwiml200(res);
    const [log] = fetchLog(messageSid);
    expect(log).toMatchObject({ outcome: 'succeeded', messageSid, bytes: PNG.length, contentType: 'image/png' });
    expect(log.notFoundCount).toBeGreaterThan(0);
    expect(requestsTo(media, '/Media/window')[0].headers.authorization).toBe(
      `Basic ${Buffer.from(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64')}`,
    );
    expect(runtime.output()).toMatch(
      new RegExp(`"event":"media_received","messageSid":"${messageSid}".*"sha256":"[0-9a-f]{64}"`),
    );
  });

  it('gives up on a permanent 404 before the deadline and still answers TwiML 200', async () => {
    routes.set('/Media/gone', (_req, res) => res.writeHead(404).end());
    const { res, messageSid } = await webhook(['/Media/gone']);
    expectTwiml200(res);
    const [log] = fetchLog(messageSid);
    expect(log).toMatchObject({ outcome: 'gave_up' });
    expect(Date.parse(log.endedAt as string) - Date.parse(log.webhookReceivedAt as string)).toBeLessThanOrEqual(
      DEADLINE_MS,
    );
    expect(requestsTo(media, '/Media/gone').length).toBeGreaterThan(1);
  });

  it('logs inconsistent input and processes the valid part', async () => {
    routes.set('/Media/fine', (_req, res) => res.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG));
    const { res, messageSid } = await webhook(['/Media/fine'], {
      extra: { NumMedia: '2', MediaUrl5: `${media.url}/Media/extra` },
    });
    expectTwiml200(res);
    expect(fetchLog(messageSid)).toHaveLength(1);
    expect(runtime.output()).toContain('NumMedia is 2 but parameter \\"MediaUrl1\\" is missing');
    expect(runtime.output()).toContain('parameter \\"MediaUrl5\\" is beyond NumMedia 2; ignored');
    expect(requestsTo(media, '/Media/extra')).toHaveLength(0);
  });

  it('refuses a forged or missing signature with 400 before the Function runs (the gateway, as deployed) and fetches nothing', async () => {
    routes.set('/Media/forged', (_req, res) => res.end());
    const { res } = await webhook(['/Media/forged'], { forge: true });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString()).error).toMatch(/header "X-Twilio-Signature" does not match/);
    const missing = await request(`${runtime.baseUrl}/mms/inbound`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `MessageSid=MMx&NumMedia=1&MediaUrl0=${encodeURIComponent(`${media.url}/Media/forged`)}`,
    });
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body.toString()).error).toBe(
      '/mms/inbound is protected: header "X-Twilio-Signature" is missing',
    );
    expect(requestsTo(media, '/Media/forged')).toHaveLength(0);
  });

  // Each test below makes its own requests: it must hold when run alone (-t) as in the whole file.
  it('never logs a credential', async () => {
    const before = runtime.output().length;
    availableAfter('/Media/cred-window', 500);
    routes.set('/Media/cred-denied', (_req, res) => res.writeHead(401).end());
    const { res } = await webhook(['/Media/cred-window', '/Media/cred-denied']);
    expectTwiml200(res);
    await webhook(['/Media/cred-window'], { forge: true });
    const output = runtime.output().slice(before);
    // the fetches did send the credential, and logged their outcome
    expect(requestsTo(media, '/Media/cred-window')[0].headers.authorization).toBe(
      `Basic ${Buffer.from(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64')}`,
    );
    expect(output).toContain('"media_fetch"');
    expect(output).not.toContain(TEST_AUTH_TOKEN);
    expect(output).not.toContain(Buffer.from(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64'));
  });

  it('reports these runs per day, with an escalation section over the threshold', async () => {
    // three runs of its own: media through a 404 window, media gone for good, media there at once
    availableAfter('/Media/window', 1000);
    routes.set('/Media/gone', (_req, res) => res.writeHead(404).end());
    routes.set('/Media/fine', (_req, res) => res.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG));
    const sids: string[] = [];
    for (const mediaPath of ['/Media/window', '/Media/gone', '/Media/fine'])
      sids.push((await webhook([mediaPath])).messageSid);
    const gone = sids[1];
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tma-report-')), 'runtime.log');
    fs.writeFileSync(file, runtime.output());
    const ours = (line: string) => sids.some((sid) => line.includes(sid));
    const { records, skipped } = parseLogLines(fs.readFileSync(file, 'utf8').split('\n').filter(ours));
    expect(skipped).toBe(0);
    expect(records.length).toBe(3);
    // All runs of this file fall on one day unless it crosses midnight: then judge the day holding the most.
    const report = buildReport(records, 2);
    const day = [...report.days].sort((a, b) => b.fetches - a.fetches)[0];
    const total = (key: 'fetches' | 'with404' | 'transient404' | 'gaveUp') =>
      report.days.reduce((n, d) => n + d[key], 0);
    expect([total('fetches'), total('with404'), total('transient404'), total('gaveUp')]).toEqual([3, 2, 1, 1]); // gave up: the permanent 404
    expect(day.p50DelayMs).not.toBeNull();
    const markdown = formatMarkdown(report);
    expect(markdown).toContain('## Escalation for ');
    expect(markdown).toContain(`${media.url}/Media/gone`);
    expect(markdown).toMatch(
      new RegExp(`\\| ${gone} \\| .*/Media/gone \\| \\d{4}-\\d\\d-\\d\\dT[\\d:.]+[+-]\\d\\d:\\d\\d \\|`),
    );
    expect(formatMarkdown(buildReport(records, 24))).not.toContain('## Escalation');
    expect(formatCsv(report).split('\n')).toContain(
      `${day.day},${day.fetches},${day.messages},${day.with404},${day.transient404},${day.notFoundResponses},${day.retries},${day.gaveUp},${day.p50DelayMs},${day.p95DelayMs},${day.escalate},${day.p99DelayMs},0,0,0,0,0,0,0,0,0,0,0,0`,
    );
  });
});
