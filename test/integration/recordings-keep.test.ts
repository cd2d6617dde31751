import { createHash } from 'node:crypto';
import type { FakeHost } from '../support/fake-host';
import { startFakeIam, startWithIam } from '../support/fake-iam';
import { FakeTwilioApi, startFakeTwilioApi, wav } from '../support/fake-twilio-api';
import { request } from '../support/http';
import { postSignedWebhook, RunningRuntime, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN } from '../support/runtime';
import { S3Front, S3RVER_CREDENTIALS, startS3Front } from '../support/s3-front';
import { main as recordingsCommand } from '../../src/commands/recordings';

const BUCKET = 'recordings-keep';
const PREFIX = 'kept';
const re = (n: number) => `RE${String(n).padStart(32, 'c')}`;
const ca = (n: number) => `CA${String(n).padStart(32, 'd')}`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const audioKey = (n: number) => `${PREFIX}/${TEST_ACCOUNT_SID}/${ca(n)}/${re(n)}.wav`;
const recordKey = (n: number) => `${PREFIX}/${TEST_ACCOUNT_SID}/recordings/${re(n)}.json`;

/** `npm run recordings -- ...` as its main runs it, with this environment; its exit code and output. */
async function runRecordingsCommand(argv: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await recordingsCommand(argv, {
    env: { ACCOUNT_SID: TEST_ACCOUNT_SID, AUTH_TOKEN: TEST_AUTH_TOKEN, ...env },
    cwd: process.cwd(),
    out: (t) => out.push(t),
    err: (t) => err.push(t),
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('/recordings/status keeps each recording in the media store (real twilio-run, s3rver behind the front)', () => {
  let api: FakeTwilioApi;
  let front: S3Front;
  let iam: FakeHost;
  let runtime: RunningRuntime;
  const audio = new Map<number, Buffer>([
    [1, wav(1, 40_000)],
    [2, wav(2, 20_000)],
    [3, wav(3, 8_000)],
    [5, wav(5, 20 * 1024 * 1024)],
    [6, wav(6, 12_000)],
    [7, wav(7, 14_000)],
  ]);

  const storeEnv = () => ({
    MEDIA_STORE_URL: `s3://${BUCKET}/${PREFIX}`,
    MEDIA_STORE_ENDPOINT: front.endpoint,
    MEDIA_STORE_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    MEDIA_STORE_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  });

  beforeAll(async () => {
    api = await startFakeTwilioApi({
      accountSid: TEST_ACCOUNT_SID,
      authToken: TEST_AUTH_TOKEN,
      recordings: [...audio].map(([n, body]) => ({
        sid: re(n),
        callSid: ca(n),
        dateCreated: new Date(),
        duration: '60',
        status: 'completed' as const,
        audio: body,
      })),
    });
    front = await startS3Front([BUCKET]);
    iam = await startFakeIam();
    runtime = await startWithIam(iam.url, {
      env: {
        ...storeEnv(),
        MEDIA_ALLOWED_HOSTS: api.host.host,
        RECORDINGS_DELETE_AFTER_STORE: 'true',
      },
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await Promise.all([api?.close(), front?.close(), iam?.close()]);
  });

  const completed = (n: number) => ({
    AccountSid: TEST_ACCOUNT_SID,
    CallSid: ca(n),
    RecordingSid: re(n),
    RecordingUrl: `${api.baseUrl}/2010-04-01/Accounts/${TEST_ACCOUNT_SID}/Recordings/${re(n)}`,
    RecordingStatus: 'completed',
    RecordingDuration: '60',
    RecordingChannels: '1',
    RecordingSource: 'RecordVerb',
    RecordingStartTime: 'Fri, 04 Dec 2026 21:00:00 +0000',
  });

  async function callback(params: Record<string, string>) {
    const started = Date.now();
    const res = await postSignedWebhook(runtime, '/recordings/status', params);
    return { res, ms: Date.now() - started, body: JSON.parse(res.body.toString()) as Record<string, unknown> };
  }

  it('a completed callback keeps the recording under its key, verified, with its record, then deletes Twilio’s copy', async () => {
    api.recordings.get(re(1))!.availableAt = Date.now() + 600;
    const { res, body } = await callback(completed(1));
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ recordingSid: re(1), kept: 'stored', deleted: 'deleted' });
    const object = await front.getObject(BUCKET, audioKey(1));
    expect(object?.body.equals(audio.get(1)!)).toBe(true);
    expect(object?.headers.get('x-amz-meta-recording-sid')).toBe(re(1));
    const record = JSON.parse((await front.getObject(BUCKET, recordKey(1)))!.body.toString());
    expect(record).toMatchObject({
      recordingSid: re(1),
      callSid: ca(1),
      accountSid: TEST_ACCOUNT_SID,
      key: `${TEST_ACCOUNT_SID}/${ca(1)}/${re(1)}.wav`,
      bytes: audio.get(1)!.length,
      sha256: sha(audio.get(1)!),
      contentType: 'audio/wav',
      startTime: '2026-12-04T21:00:00.000Z',
      durationSeconds: 60,
      channels: 1,
      source: 'RecordVerb',
      keptBy: 'callback',
    });
    expect(new Date(record.metadataPurgedAt).getTime() - new Date(record.deletedAt).getTime()).toBe(40 * 86_400_000);
    expect(api.deleted).toContain(re(1));
    // the DELETE reached Twilio only after the object and its record were in the bucket
    const del = api.host.requests.find((r) => r.method === 'DELETE' && r.url.includes(re(1)))!;
    const puts = front.requests.filter((r) => r.method === 'PUT' && r.url.includes(re(1)));
    expect(puts.map((p) => p.url.split('?')[0])).toEqual([
      `/${BUCKET}/${audioKey(1)}`,
      `/${BUCKET}/${recordKey(1)}`,
      `/${BUCKET}/${recordKey(1)}`,
    ]);
    expect(puts[1].answeredAt!).toBeLessThanOrEqual(del.at);
  });

  it('a redelivered callback stores nothing twice and fetches nothing', async () => {
    const before = { puts: front.requests.filter((r) => r.method === 'PUT').length, api: api.host.requests.length };
    const { res, body } = await callback(completed(1));
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ kept: 'already_stored' });
    expect(front.requests.filter((r) => r.method === 'PUT').length).toBe(before.puts);
    expect(api.host.requests.slice(before.api).filter((r) => r.url.endsWith('.wav'))).toHaveLength(0);
    expect((await front.listKeys(BUCKET)).filter((k) => k.includes(re(1)))).toHaveLength(2);
  });

  it('absent keeps and deletes nothing', async () => {
    const before = { front: front.requests.length, api: api.host.requests.length };
    const { res } = await callback({ ...completed(3), RecordingStatus: 'absent', ErrorCode: '16101' });
    expect(res.status).toBe(200);
    expect(front.requests.length).toBe(before.front);
    expect(api.host.requests.length).toBe(before.api);
  });

  it.each(['forbidden', 'fail', 'hang'] as const)(
    'a store that is %s: 200 in time, nothing deleted, nothing under the key',
    async (mode) => {
      front.script(mode, ['PUT']);
      try {
        const { res, ms, body } = await callback(completed(2));
        expect(res.status).toBe(200);
        expect(ms).toBeLessThan(10_000);
        expect(body).toMatchObject({ kept: 'store_failed' });
      } finally {
        front.script('pass');
      }
      expect(api.deleted).not.toContain(re(2));
      expect(await front.getObject(BUCKET, audioKey(2))).toBeUndefined();
      await runtime.quiet();
      const line = runtime
        .output()
        .split('\n')
        .filter((l) => l.includes('"recording_store"') && l.includes(re(2)))
        .at(-1)!;
      expect(JSON.parse(line.slice(line.indexOf('{')))).toMatchObject({ outcome: 'store_failed', level: 'error' });
    },
  );

  it.each([
    [6, 'fail'],
    [7, 'swallow'],
  ] as const)(
    'deletes only after a verified copy and its record: recording %i, its record write scripted to %s, stays at Twilio',
    async (n, mode) => {
      front.script(mode, ['PUT'], '/recordings/');
      try {
        const { res, body } = await callback(completed(n));
        expect(res.status).toBe(200);
        expect(body).toMatchObject({ kept: 'store_failed' });
        expect(body.deleted).toBeUndefined();
      } finally {
        front.script('pass');
      }
      // the audio itself is in the bucket, verified; without its record nothing is deleted
      expect((await front.getObject(BUCKET, audioKey(n)))?.body.equals(audio.get(n)!)).toBe(true);
      expect(await front.getObject(BUCKET, recordKey(n))).toBeUndefined();
      expect(api.deleted).not.toContain(re(n));
      expect(api.host.requests.filter((r) => r.method === 'DELETE' && r.url.includes(re(n)))).toHaveLength(0);
    },
  );

  it('a 20 MB recording is kept by the callback', async () => {
    const { res, ms, body } = await callback(completed(5));
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(10_000);
    expect(body).toMatchObject({ kept: 'stored', deleted: 'deleted' });
    const object = await front.getObject(BUCKET, audioKey(5));
    expect(object?.body.length).toBe(audio.get(5)!.length);
    expect(sha(object!.body)).toBe(sha(audio.get(5)!));
  });

  it('the archive command then keeps it in the same store, with the same key and record, and purge deletes it', async () => {
    const env = { ...storeEnv(), TWILIO_API_BASE_URL: api.baseUrl, MEDIA_ALLOWED_HOSTS: api.host.host };
    const archived = await runRecordingsCommand(['archive', '--json'], env);
    // the whole result on a failure: the exit code alone does not say which recording failed or why
    expect(archived).toMatchObject({ code: 0 });
    expect(JSON.parse(archived.stdout).archived).toContain(re(2));
    expect((await front.getObject(BUCKET, audioKey(2)))?.body.equals(audio.get(2)!)).toBe(true);
    const record = JSON.parse((await front.getObject(BUCKET, recordKey(2)))!.body.toString());
    expect(record).toMatchObject({
      recordingSid: re(2),
      callSid: ca(2),
      keptBy: 'archive',
      sha256: sha(audio.get(2)!),
    });
    const purged = await runRecordingsCommand(['purge', '--yes', '--json'], env);
    expect(purged).toMatchObject({ code: 0 });
    expect(JSON.parse(purged.stdout).deleted).toContain(re(2));
    expect(api.deleted).toContain(re(2));
    const after = JSON.parse((await front.getObject(BUCKET, recordKey(2)))!.body.toString());
    expect(after.deletedAt).toBeDefined();
  });

  it('Flex Insights plays the copy the callback kept, for an agent with a valid token and for no one else', async () => {
    const ask = (authorization?: string) =>
      request(`${runtime.baseUrl}/recordings/url-provider?recording=${re(1)}`, {
        headers: authorization ? { Authorization: authorization } : {},
      });
    const res = await ask(`Basic ${Buffer.from('token:agent-token-keep').toString('base64')}`);
    expect(res.status).toBe(200);
    const played = await request(JSON.parse(res.body.toString()).media_url);
    expect(played.status).toBe(200);
    expect(played.body.equals(audio.get(1)!)).toBe(true);
    expect((await ask()).status).toBe(403);
    expect((await ask(`Basic ${Buffer.from('token:someone-else').toString('base64')}`)).status).toBe(403);
  });
});
