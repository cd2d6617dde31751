import twilio from 'twilio';
import { FakeHost, startFakeHost } from '../support/fake-host';
import { FakeTwilioApi, startFakeTwilioApi, wav } from '../support/fake-twilio-api';
import { request } from '../support/http';
import { RunningRuntime, startRuntime, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN } from '../support/runtime';

const DEADLINE_MS = 2500;
const re = (n: number) => `RE${String(n).padStart(32, '0')}`;

describe('POST /recordings/status on the real twilio-run', () => {
  let runtime: RunningRuntime;
  let api: FakeTwilioApi;
  let offList: FakeHost;
  const long = wav(9, 2_000_000);

  beforeAll(async () => {
    api = await startFakeTwilioApi({
      accountSid: TEST_ACCOUNT_SID,
      authToken: TEST_AUTH_TOKEN,
      recordings: [
        { sid: re(1), callSid: 'CA1', dateCreated: new Date(), duration: '4', status: 'completed', audio: wav(1) },
        { sid: re(2), callSid: 'CA2', dateCreated: new Date(), duration: '125', status: 'completed', audio: long },
      ],
    });
    offList = await startFakeHost((_req, res) => res.end('never'));
    runtime = await startRuntime({
      env: {
        MEDIA_ALLOWED_HOSTS: api.host.host,
        MEDIA_FETCH_DEADLINE_MS: String(DEADLINE_MS),
        MEDIA_ATTEMPT_TIMEOUT_MS: '600',
      },
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await Promise.all([api?.close(), offList?.close()]);
  });
  beforeEach(() => {
    api.host.requests.length = 0;
  });

  const recordingUrl = (sid: string, base = api.baseUrl) =>
    `${base}/2010-04-01/Accounts/${TEST_ACCOUNT_SID}/Recordings/${sid}`;

  /** A callback signed as Twilio signs it, for the URL Twilio would have called. */
  async function callback(params: Record<string, string>, options: { forge?: boolean } = {}) {
    const url = `http://localhost:${runtime.port}/recordings/status`;
    const signature = twilio.getExpectedTwilioSignature(
      options.forge ? 'not-the-auth-token' : TEST_AUTH_TOKEN,
      url,
      params,
    );
    const started = Date.now();
    const res = await request(`${runtime.baseUrl}/recordings/status`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature },
      body: new URLSearchParams(params).toString(),
    });
    const ms = Date.now() - started;
    await runtime.quiet();
    return { res, ms, body: JSON.parse(res.body.toString()) as Record<string, unknown> };
  }

  const completed = (sid: string, extra: Record<string, string> = {}) => ({
    AccountSid: TEST_ACCOUNT_SID,
    CallSid: 'CA1',
    RecordingSid: sid,
    RecordingUrl: recordingUrl(sid),
    RecordingStatus: 'completed',
    RecordingDuration: '4',
    RecordingChannels: '1',
    RecordingSource: 'RecordVerb',
    ...extra,
  });

  function logsOf(event: string, sid: string): Record<string, unknown>[] {
    return runtime
      .output()
      .split('\n')
      .filter((l) => l.includes(`"${event}"`) && l.includes(sid))
      .map((l) => JSON.parse(l.slice(l.indexOf('{'), l.lastIndexOf('}') + 1)));
  }

  it('confirms a completed recording through a 404 right after the callback, reading only its header', async () => {
    api.recordings.get(re(1))!.availableAt = Date.now() + 700;
    const { res, body } = await callback(completed(re(1)));
    expect(res.status).toBe(200);
    expect(body).toEqual({ recordingSid: re(1), status: 'completed', available: true });
    const wavRequests = api.host.requests.filter((r) => r.url.endsWith(`${re(1)}.wav`));
    expect(wavRequests.length).toBeGreaterThan(1);
    expect(wavRequests.every((r) => r.headers.range === 'bytes=0-43')).toBe(true);
    const [fetch] = logsOf('media_fetch', re(1));
    expect(fetch).toMatchObject({
      outcome: 'succeeded',
      recordingSid: re(1),
      callSid: 'CA1',
      totalBytes: wav(1).length,
    });
    expect((fetch.attempts as { status: number }[])[0].status).toBe(404);
    expect(fetch.webhookReceivedAt).toMatch(/[+-]\d\d:\d\d$/);
    expect(logsOf('recording_status', re(1)).at(-1)).toMatchObject({
      level: 'info',
      available: true,
      bytes: wav(1).length,
      durationSeconds: 4,
    });
    expect(runtime.output()).not.toContain(TEST_AUTH_TOKEN);
  });

  it('a long recording costs a header, not a download', async () => {
    const { body } = await callback(completed(re(2), { CallSid: 'CA2' }));
    expect(body.available).toBe(true);
    expect(logsOf('recording_status', re(2)).at(-1)).toMatchObject({ available: true, bytes: long.length });
    expect(logsOf('media_fetch', re(2)).at(-1)!.bytes).toBe(44);
  });

  it('a recording that never appears: gives up before the deadline, still 200, logged as unavailable', async () => {
    const { res, ms, body } = await callback(completed(re(3)));
    expect(res.status).toBe(200);
    expect(body.available).toBe(false);
    expect(ms).toBeLessThan(DEADLINE_MS + 1500);
    expect(logsOf('recording_status', re(3)).at(-1)).toMatchObject({
      level: 'warn',
      available: false,
      problem: expect.stringMatching(/could not be fetched/),
    });
  });

  it('absent and failed are logged with their ErrorCode, nothing fetched', async () => {
    for (const [status, n] of [
      ['absent', 4],
      ['failed', 5],
    ] as const) {
      const { res } = await callback({
        AccountSid: TEST_ACCOUNT_SID,
        CallSid: 'CA4',
        RecordingSid: re(n),
        RecordingStatus: status,
        ErrorCode: '13617',
        RecordingUrl: recordingUrl(re(n)),
      });
      expect(res.status).toBe(200);
      expect(logsOf('recording_status', re(n)).at(-1)).toMatchObject({ level: 'warn', status, errorCode: '13617' });
    }
    expect(api.host.requests).toHaveLength(0);
  });

  it('a forged signature is a 400 from the gateway, as deployed, and nothing is fetched', async () => {
    const { res, body } = await callback(completed(re(1)), { forge: true });
    expect(res.status).toBe(400);
    expect(body.error).toMatch(/X-Twilio-Signature/);
    expect(api.host.requests).toHaveLength(0);
  });

  it('a RecordingUrl off the allowlist is never contacted', async () => {
    const { body } = await callback(completed(re(6), { RecordingUrl: recordingUrl(re(6), offList.url) }));
    expect(body.available).toBe(false);
    expect(offList.requests).toHaveLength(0);
    expect(logsOf('media_fetch', re(6)).at(-1)!.reason).toMatch(/not on the media allowlist/);
  });

  it('a missing or malformed RecordingSid is a 400 naming the parameter', async () => {
    const missing = await callback({ AccountSid: TEST_ACCOUNT_SID, RecordingStatus: 'completed' });
    expect([missing.res.status, missing.body.error]).toEqual([400, 'parameter "RecordingSid" is missing']);
    const bad = await callback(completed('RE../../x'));
    expect(bad.res.status).toBe(400);
    expect(bad.body.error).toMatch(/^parameter "RecordingSid"/);
  });
});
