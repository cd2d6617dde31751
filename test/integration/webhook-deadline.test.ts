import { FakeHost, startFakeHost } from '../support/fake-host';
import { RunningRuntime, startRuntime, TEST_ACCOUNT_SID, postSignedWebhook } from '../support/runtime';

/**
 * The case: twenty webhooks at once, two media each, on a host that accepts the connection and never
 * answers. With the default settings (8 s deadline, 3 s attempts) every webhook must still be answered within the
 * platform's 10 s, counted from when the request was sent: the deadline counts from the request's arrival.
 */
describe('webhook deadline under concurrency', () => {
  let runtime: RunningRuntime;
  let silent: FakeHost;
  beforeAll(async () => {
    silent = await startFakeHost(() => new Promise(() => undefined)); // never answers
    runtime = await startRuntime({ env: { MEDIA_ALLOWED_HOSTS: silent.host } });
  });
  afterAll(async () => {
    await runtime?.stop();
    await silent?.close();
  });

  it('answers 20 concurrent webhooks whose media host never answers, each within 10 s of being sent', async () => {
    const send = async (n: number) => {
      const params: Record<string, string> = {
        MessageSid: `MM${String(n).padStart(32, '0')}`,
        AccountSid: TEST_ACCOUNT_SID,
        From: '+15005550006',
        To: '+15005550001',
        NumMedia: '2',
        MediaUrl0: `${silent.url}/Media/ME${n}a`,
        MediaContentType0: 'image/png',
        MediaUrl1: `${silent.url}/Media/ME${n}b`,
        MediaContentType1: 'image/png',
      };
      const sent = Date.now();
      const res = await postSignedWebhook(runtime, '/mms/inbound', params);
      return { status: res.status, body: res.body.toString(), ms: Date.now() - sent };
    };
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => send(i + 1)));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('<Response');
      expect(answer.ms).toBeLessThan(10000);
    }
    expect(silent.requests.length).toBeGreaterThanOrEqual(40); // every media was tried, none ever answered
  }, 60000);
});
