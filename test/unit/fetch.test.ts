import { hostAllowed, parseHostList } from '../../src/lib/fetch/allowlist';
import { bodyProblem, classifyStatus } from '../../src/lib/fetch/classify';
import { ByteBudget, fetchMedia, FetchMediaOptions } from '../../src/lib/fetch/media-fetcher';
import { DEFAULT_SCHEDULE, retryDelay, validateSchedule } from '../../src/lib/fetch/schedule';
import { fetchSettingsFrom } from '../../src/lib/fetch/settings';
import { FakeHost, startFakeHost } from '../support/fake-host';

const AUTH = { username: 'AC00000000000000000000000000000000', password: 'secret-token-never-logged' };
const FAST = { baseMs: 50, factor: 2, capMs: 150, jitter: 0.4 };

describe('schedule and classification', () => {
  it('grows exponentially to the cap, jittered within the configured fraction', () => {
    const s = { baseMs: 100, factor: 2, capMs: 1000, jitter: 0.5 };
    expect([0, 1, 2, 3, 4, 10].map((n) => retryDelay(n, s, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(retryDelay(2, s, () => 1)).toBe(200);
    expect(retryDelay(2, { ...s, jitter: 1 }, () => 0.999)).toBeCloseTo(0.4, 5);
  });
  it('validates options naming the one at fault', () => {
    expect(() => validateSchedule({ ...FAST, jitter: 2 })).toThrow('"jitter" must be between 0 and 1');
    expect(() => validateSchedule({ ...FAST, capMs: 10 })).toThrow('"baseMs" (50) is above "capMs" (10)');
  });
  it('retries only what is transient', () => {
    expect([200, 404, 408, 425, 429, 500, 503, 401, 403, 400, 410].map(classifyStatus)).toEqual([
      'done',
      'retry',
      'retry',
      'retry',
      'retry',
      'retry',
      'retry',
      'give-up',
      'give-up',
      'give-up',
      'give-up',
    ]);
  });
  it('a body is whole only when framed, complete, not empty and as long as Content-Length says', () => {
    const whole = { contentLength: '5', chunked: false, receivedBytes: 5, complete: true };
    expect(bodyProblem(whole)).toBeUndefined();
    expect(bodyProblem({ ...whole, contentLength: undefined, chunked: true })).toBeUndefined();
    expect(bodyProblem({ ...whole, contentLength: '0', receivedBytes: 0 })).toBe('the body is empty (0 bytes)');
    expect(bodyProblem({ ...whole, contentLength: null, chunked: true, receivedBytes: 0 })).toBe(
      'the body is empty (0 bytes)',
    );
    expect(bodyProblem({ ...whole, receivedBytes: 3 })).toBe('the body ended after 3 of 5 bytes');
    expect(bodyProblem({ ...whole, complete: false })).toMatch(/closed after 5 bytes, before the body's end/);
    expect(bodyProblem({ ...whole, contentLength: undefined })).toMatch(/no Content-Length and is not chunked/);
    expect(bodyProblem({ ...whole, contentLength: 'five' })).toMatch(/"five" is not a byte count/);
  });
  it('matches allowlist entries by host and port', () => {
    const list = parseHostList('api.twilio.com, *.twiliocdn.com, 127.0.0.1:8080')!;
    expect(hostAllowed(new URL('https://api.twilio.com/x'), list)).toBe(true);
    expect(hostAllowed(new URL('https://api.twilio.com:8443/x'), list)).toBe(false);
    expect(hostAllowed(new URL('https://media.twiliocdn.com/x'), list)).toBe(true);
    expect(hostAllowed(new URL('https://twiliocdn.com.evil.test/x'), list)).toBe(false);
    expect(hostAllowed(new URL('http://127.0.0.1:8080/x'), list)).toBe(true);
    expect(hostAllowed(new URL('http://127.0.0.1:8081/x'), list)).toBe(false);
    expect(hostAllowed(new URL('file:///etc/passwd'), list)).toBe(false);
    expect(() => parseHostList('ok.com, bad host')).toThrow(
      'MEDIA_ALLOWED_HOSTS: "bad host" is not a host[:port] entry',
    );
  });
});

describe('fetch settings from the environment', () => {
  it('defaults: Twilio hosts, 8 s deadline, 3 s attempts, account credentials', () => {
    expect(fetchSettingsFrom({ ACCOUNT_SID: 'AC1', AUTH_TOKEN: 't' })).toEqual({
      allowedHosts: ['api.twilio.com'],
      redirectAllowedHosts: expect.arrayContaining(['api.twilio.com', '*.twiliocdn.com']),
      deadlineMs: 8000,
      attemptTimeoutMs: 3000,
      auth: { username: 'AC1', password: 't' },
      debug: false,
    });
  });
  it('an API key wins over the account credentials; MEDIA_ALLOWED_HOSTS replaces both host lists', () => {
    const settings = fetchSettingsFrom({
      ACCOUNT_SID: 'AC1',
      AUTH_TOKEN: 't',
      API_KEY: 'SK1',
      API_SECRET: 's',
      MEDIA_ALLOWED_HOSTS: '127.0.0.1:9',
      LOG_LEVEL: 'debug',
    });
    expect(settings).toMatchObject({
      auth: { username: 'SK1', password: 's' },
      allowedHosts: ['127.0.0.1:9'],
      redirectAllowedHosts: ['127.0.0.1:9'],
      debug: true,
    });
    expect(fetchSettingsFrom({}).auth).toBeUndefined();
  });
  it('a bad value is an error naming the variable', () => {
    expect(() => fetchSettingsFrom({ MEDIA_FETCH_DEADLINE_MS: '10000' })).toThrow(
      'MEDIA_FETCH_DEADLINE_MS must be a whole number of milliseconds from 1 to 9500, got "10000"',
    );
    expect(() => fetchSettingsFrom({ MEDIA_ATTEMPT_TIMEOUT_MS: '1.5' })).toThrow(/^MEDIA_ATTEMPT_TIMEOUT_MS/);
  });
});

describe('fetchMedia against scripted hosts', () => {
  let media: FakeHost;
  let other: FakeHost;
  let offList: FakeHost;
  const logs: Record<string, unknown>[] = [];
  beforeAll(async () => {
    media = await startFakeHost((_req, res) => res.end());
    other = await startFakeHost((_req, res) => res.end('from the other origin'));
    offList = await startFakeHost((_req, res) => res.end('must never be reached'));
  });
  afterAll(async () => Promise.all([media.close(), other.close(), offList.close()]));
  beforeEach(() => {
    media.requests.length = 0;
    other.requests.length = 0;
    offList.requests.length = 0;
    logs.length = 0;
  });

  const run = (overrides: Partial<FetchMediaOptions> = {}) =>
    fetchMedia({
      url: `${media.url}/Media/ME1`,
      auth: AUTH,
      allowedHosts: [media.host, other.host],
      deadlineAt: Date.now() + 2000,
      attemptTimeoutMs: 500,
      schedule: FAST,
      log: (r) => logs.push(r),
      logContext: { messageSid: 'MM1' },
      ...overrides,
    });

  it('gets through a 404 window and logs one outcome with its timing', async () => {
    const availableAt = Date.now() + 400;
    media.setHandler((_req, res) => {
      if (Date.now() < availableAt) res.writeHead(404).end();
      else res.writeHead(200, { 'Content-Type': 'image/png' }).end('png-bytes');
    });
    const outcome = await run();
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.body.toString()).toBe('png-bytes');
    expect(outcome.attempts.length).toBeGreaterThan(1);
    expect(outcome.attempts.slice(0, -1).every((a) => a.status === 404)).toBe(true);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      event: 'media_fetch',
      outcome: 'succeeded',
      messageSid: 'MM1',
      mediaUrl: `${media.url}/Media/ME1`,
      contentType: 'image/png',
    });
    expect(logs[0].webhookReceivedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
    expect(JSON.stringify(logs)).not.toContain(AUTH.password);
    expect(media.requests[0].headers.authorization).toBe(
      `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')}`,
    );
  });

  /** fetchMedia on a simulated clock that only moves when the fetcher sleeps: the schedule, exactly. */
  async function onClock(deadlineInMs: number, random: () => number, overrides: Partial<FetchMediaOptions> = {}) {
    let clock = 1_000_000;
    const sleeps: number[] = [];
    const outcome = await run({
      schedule: undefined, // the fetcher's own default
      deadlineAt: clock + deadlineInMs,
      now: () => clock,
      random,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
      ...overrides,
    });
    return { outcome, sleeps, startedAt: 1_000_000 };
  }

  it('waits by its default schedule: 800 ms, then x1.5 capped at 1.1 s, less up to 20% of jitter', async () => {
    media.setHandler((_req, res) => res.writeHead(404).end());
    const longest = await onClock(6000, () => 0);
    expect(longest.sleeps.slice(0, 4)).toEqual([800, 1100, 1100, 1100]);
    const shortest = await onClock(6000, () => 1);
    expect(shortest.sleeps.slice(0, 4).map(Math.round)).toEqual([640, 880, 880, 880]);
    // the cap hides the factor from the second retry on: without it, 800 grows by half each time
    expect([0, 1, 2].map((n) => retryDelay(n, { ...DEFAULT_SCHEDULE, capMs: 10_000 }, () => 0))).toEqual([
      800, 1200, 1800,
    ]);
  });

  it('makes one last attempt just before the deadline rather than give up with time left', async () => {
    media.setHandler((_req, res) => res.writeHead(404).end());
    // attempts at 0, 800, 1900; the next wait (1100) would overrun a 3000 ms deadline, so it is cut to start
    // the last attempt 200 ms (the least an attempt is given) before the deadline
    const { outcome, sleeps } = await onClock(3000, () => 0);
    expect(sleeps).toEqual([800, 1100, 900]);
    expect(outcome.attempts).toHaveLength(4);
    expect(media.requests).toHaveLength(4);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.reason).toBe('deadline reached after 4 attempts');
    // a last wait under 100 ms is not worth it: with a 2190 ms deadline, 90 ms would be left after 1900
    media.requests.length = 0;
    const tight = await onClock(2190, () => 0);
    expect(tight.sleeps).toEqual([800, 1100]);
    expect(tight.outcome.attempts).toHaveLength(3);
  });

  it('gives up on a permanent 404 before the deadline', async () => {
    media.setHandler((_req, res) => res.writeHead(404).end());
    const deadlineAt = Date.now() + 800;
    const outcome = await run({ deadlineAt });
    expect(outcome.ok).toBe(false);
    expect(outcome.endedAt).toBeLessThanOrEqual(deadlineAt);
    if (!outcome.ok) expect(outcome.reason).toMatch(/deadline reached after \d+ attempts/);
    expect(logs[0]).toMatchObject({ outcome: 'gave_up' });
  });

  it('does not retry 401', async () => {
    media.setHandler((_req, res) => res.writeHead(401).end());
    const outcome = await run();
    expect(outcome.ok).toBe(false);
    expect(media.requests).toHaveLength(1);
  });

  it('honours Retry-After on 429 when it fits, gives up when it does not', async () => {
    let calls = 0;
    media.setHandler((_req, res) => (++calls === 1 ? res.writeHead(429, { 'Retry-After': '1' }).end() : res.end('ok')));
    const outcome = await run({ deadlineAt: Date.now() + 3000 });
    expect(outcome.ok).toBe(true);
    expect(media.requests[1].at - media.requests[0].at).toBeGreaterThanOrEqual(990);
    media.setHandler((_req, res) => res.writeHead(429, { 'Retry-After': '60' }).end());
    const refused = await run();
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reason).toMatch(/Retry-After of 60000 ms does not fit/);
  });

  it('retries 503 and a reset connection', async () => {
    let calls = 0;
    media.setHandler((req, res) => {
      calls += 1;
      if (calls === 1) res.writeHead(503).end();
      else if (calls === 2) req.socket.destroy();
      else res.end('ok');
    });
    const outcome = await run();
    expect(outcome.ok).toBe(true);
    expect(outcome.attempts.map((a) => a.status ?? a.error)).toEqual([503, 'ECONNRESET', 200]);
  });

  it('cuts a body slower than the attempt timeout and retries', async () => {
    let calls = 0;
    media.setHandler((_req, res) => {
      if (++calls === 1) {
        res.writeHead(200, { 'Content-Length': '100' });
        res.write('partial'); // and never the rest
      } else res.end('complete');
    });
    const outcome = await run({ attemptTimeoutMs: 300 });
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.body.toString()).toBe('complete');
    expect(outcome.attempts[0].error).toBe('timeout after 300 ms');
  });

  it('follows a redirect to another allowed origin without the credentials', async () => {
    media.setHandler((_req, res) => res.writeHead(302, { Location: `${other.url}/signed/ME1?X-Sig=abc` }).end());
    const outcome = await run();
    expect(outcome.ok).toBe(true);
    expect(media.requests[0].headers.authorization).toBeDefined();
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0].headers.authorization).toBeUndefined();
    expect(JSON.stringify(logs)).not.toContain('X-Sig');
  });

  it('never contacts a redirect target off the allowlist, nor an initial host off it', async () => {
    media.setHandler((_req, res) => res.writeHead(302, { Location: `${offList.url}/steal` }).end());
    const outcome = await run();
    expect(outcome.ok).toBe(false);
    if (!outcome.ok)
      expect(outcome.reason).toBe(`redirect to host ${offList.host}, which is not on the allowlist; not contacted`);
    const direct = await run({ url: `${offList.url}/Media/ME1` });
    expect(direct.ok).toBe(false);
    expect(offList.requests).toHaveLength(0);
  });

  it('refuses media over the byte budget while reading, without retrying', async () => {
    media.setHandler((_req, res) => {
      res.writeHead(200); // no Content-Length: caught while reading
      res.end(Buffer.alloc(5000));
    });
    const outcome = await run({ budget: new ByteBudget(4000) });
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.reason).toBe('media exceeds the 4000 bytes allowed per message');
    expect(media.requests).toHaveLength(1);
  });

  it("charges only a kept attempt to the budget: a cut attempt's bytes are given back before the retry", async () => {
    // the issue's case, scaled down: 3000 bytes declared, cut at 2500, then served whole, within a 5000-byte budget
    let calls = 0;
    media.setHandler((_req, res) => {
      calls += 1;
      res.writeHead(200, { 'Content-Length': '3000', 'Content-Type': 'image/png' });
      if (calls === 1) {
        res.write(Buffer.alloc(2500));
        setTimeout(() => res.destroy(), 30);
      } else res.end(Buffer.alloc(3000));
    });
    const budget = new ByteBudget(5000);
    const outcome = await run({ budget });
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.body.length).toBe(3000);
    expect(calls).toBe(2);
    expect(budget.remaining).toBe(2000);
  });

  it('gives back the bytes of an attempt cut by its timeout', async () => {
    media.setHandler((_req, res) => {
      res.writeHead(200, { 'Content-Length': '3000' });
      res.write(Buffer.alloc(1000)); // and never more
    });
    const budget = new ByteBudget(5000);
    const outcome = await run({ budget, attemptTimeoutMs: 150, deadlineAt: Date.now() + 600 });
    expect(outcome.ok).toBe(false);
    expect(budget.remaining).toBe(5000);
  });

  it('never returns a body shorter than its Content-Length: the cut is retried', async () => {
    let calls = 0;
    media.setHandler((_req, res) => {
      calls += 1;
      res.writeHead(200, { 'Content-Length': '1000' });
      if (calls === 1) {
        res.write(Buffer.alloc(400));
        res.socket?.end(); // a clean close of the connection, 600 bytes short
        return;
      }
      res.end(Buffer.alloc(1000, 7));
    });
    const outcome = await run();
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.body).toEqual(Buffer.alloc(1000, 7));
    expect(media.requests).toHaveLength(2);
  });

  it('an empty 200 is a failed attempt, retried like a 404, and given up at the deadline if it stays empty', async () => {
    let calls = 0;
    media.setHandler((_req, res) => {
      calls += 1;
      res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': calls === 1 ? '0' : '3' });
      res.end(calls === 1 ? undefined : 'png');
    });
    const outcome = await run();
    expect(outcome.ok && outcome.body.toString()).toBe('png');
    expect(outcome.attempts[0]).toMatchObject({ status: 200, error: 'the body is empty (0 bytes)' });

    media.setHandler((_req, res) => res.writeHead(200, { 'Content-Length': '0' }).end());
    const empty = await run({ deadlineAt: Date.now() + 700 });
    expect(empty.ok).toBe(false);
    expect(empty.attempts.length).toBeGreaterThan(1);
    expect(empty.attempts.every((a) => a.error === 'the body is empty (0 bytes)')).toBe(true);
  });

  it('a body without Content-Length cut by the connection closing is never returned: chunked or not', async () => {
    // close-delimited (no Content-Length, not chunked): written raw, as a server that sends the body until it closes
    media.setHandler((req) => {
      req.socket.end('HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\nhalf of it');
    });
    const unframed = await run({ deadlineAt: Date.now() + 700 });
    expect(unframed.ok).toBe(false);
    expect(unframed.attempts[0].error).toMatch(/no Content-Length and is not chunked/);

    let calls = 0;
    media.setHandler((req, res) => {
      calls += 1;
      res.writeHead(200, { 'Content-Type': 'image/png' }); // chunked
      if (calls === 1) {
        res.write('half of it');
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      res.end('the whole of it');
    });
    const chunked = await run();
    expect(chunked.ok && chunked.body.toString()).toBe('the whole of it');
    expect(calls).toBe(2);
  });

  it('a probe asks for the first bytes only and reads no more, whether or not the server honours Range', async () => {
    const full = Buffer.alloc(2_000_000, 1);
    media.setHandler((req, res) => {
      const range = /^bytes=0-(\d+)$/.exec(req.headers.range ?? '');
      if (range && req.url?.endsWith('ranged')) {
        const end = Number(range[1]);
        res.writeHead(206, { 'Content-Range': `bytes 0-${end}/${full.length}`, 'Content-Length': String(end + 1) });
        return res.end(full.subarray(0, end + 1));
      }
      res.writeHead(200, { 'Content-Length': String(full.length) });
      res.end(full);
    });
    const ranged = await run({ url: `${media.url}/Recordings/ranged`, probeBytes: 44 });
    const ignored = await run({ url: `${media.url}/Recordings/ignored`, probeBytes: 44 });
    for (const outcome of [ranged, ignored]) {
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect([outcome.body.length, outcome.totalBytes]).toEqual([44, full.length]);
    }
    expect(media.requests.map((r) => r.headers.range)).toEqual(['bytes=0-43', 'bytes=0-43']);
    expect(logs.map((l) => l.totalBytes)).toEqual([full.length, full.length]);
  });
});
