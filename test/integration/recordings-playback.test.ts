import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { recordingAudioKey, RecordingRecord, recordingRecordKey } from '../../src/lib/keep/recording-record';
import { S3Store, s3SettingsFrom } from '../../src/lib/storage/s3-store';
import { LocalFolderStore, ObjectStore } from '../../src/lib/storage/store';
import type { FakeHost } from '../support/fake-host';
import { startFakeIam, startWithIam } from '../support/fake-iam';
import { wav } from '../support/fake-twilio-api';
import { request } from '../support/http';
import { RunningRuntime, TEST_ACCOUNT_SID } from '../support/runtime';
import { S3Front, S3RVER_CREDENTIALS, startS3Front } from '../support/s3-front';

const BUCKET = 'playback-test';
const PREFIX = 'kept';
const FLEX = 'https://flex.twilio.com';
const re = (n: number) => `RE${String(n).padStart(32, 'a')}`;
const ca = (n: number) => `CA${String(n).padStart(32, 'b')}`;
const basic = (token: string) => `Basic ${Buffer.from(`token:${token}`).toString('base64')}`;

/** A recording as the keep routine leaves it: the audio under its key and the record beside. */
async function keep(store: ObjectStore, n: number, audio: Buffer): Promise<RecordingRecord> {
  const key = recordingAudioKey(TEST_ACCOUNT_SID, ca(n), re(n), 'wav');
  await store.put(key, audio, { contentType: 'audio/wav' });
  const record: RecordingRecord = {
    schema: 1,
    accountSid: TEST_ACCOUNT_SID,
    recordingSid: re(n),
    callSid: ca(n),
    key,
    format: 'wav',
    contentType: 'audio/wav',
    bytes: audio.length,
    sha256: createHash('sha256').update(audio).digest('hex'),
    keptAt: new Date().toISOString(),
    keptBy: 'callback',
  };
  await store.writeText(recordingRecordKey(TEST_ACCOUNT_SID, re(n)), JSON.stringify(record));
  return record;
}

function playLines(runtime: RunningRuntime, event: string): Record<string, unknown>[] {
  return runtime
    .output()
    .split('\n')
    .filter((l) => l.includes(`"event":"${event}"`))
    .map((l) => JSON.parse(l.slice(l.indexOf('{'), l.lastIndexOf('}') + 1)));
}

describe('GET /recordings/url-provider on the real twilio-run', () => {
  let iam: FakeHost;
  let front: S3Front;
  let s3: RunningRuntime;
  let local: RunningRuntime;
  let folder: string;
  const audio = wav(3, 30_000);
  const localAudio = wav(4, 5_000);

  beforeAll(async () => {
    iam = await startFakeIam();
    front = await startS3Front([BUCKET]);
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-playback-'));
    const store = new S3Store(
      s3SettingsFrom({
        url: `s3://${BUCKET}/${PREFIX}`,
        endpoint: front.endpoint,
        ...S3RVER_CREDENTIALS,
        names: { url: 'u', endpoint: 'e', region: 'r', accessKeyId: 'a', secretAccessKey: 's' },
      }),
    );
    await keep(store, 1, audio);
    await keep(new LocalFolderStore(folder), 2, localAudio);
    s3 = await startWithIam(iam.url, {
      env: {
        MEDIA_STORE_URL: `s3://${BUCKET}/${PREFIX}`,
        MEDIA_STORE_ENDPOINT: front.endpoint,
        MEDIA_STORE_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        MEDIA_STORE_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        RECORDINGS_LINK_SECONDS: '120',
      },
    });
    local = await startWithIam(iam.url, { env: { MEDIA_STORE_URL: `folder:${folder}` } });
  });
  afterAll(async () => {
    await Promise.all([s3?.stop(), local?.stop()]);
    await Promise.all([iam?.close(), front?.close()]);
    fs.rmSync(folder, { recursive: true, force: true });
  });

  const ask = (runtime: RunningRuntime, query: string, headers: Record<string, string> = {}) =>
    request(`${runtime.baseUrl}/recordings/url-provider${query}`, { headers: { Origin: FLEX, ...headers } });

  it('a valid Flex token gets a presigned link whose GET returns exactly the kept bytes', async () => {
    const res = await ask(s3, `?recording=${re(1)}`, { Authorization: basic('agent-token-1') });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(FLEX);
    expect(res.headers['cache-control']).toBe('no-store');
    const { media_url: link } = JSON.parse(res.body.toString()) as { media_url: string };
    const url = new URL(link);
    expect(url.origin).toBe(front.endpoint);
    expect(url.pathname).toBe(`/${BUCKET}/${PREFIX}/${TEST_ACCOUNT_SID}/${ca(1)}/${re(1)}.wav`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const played = await request(link);
    expect(played.status).toBe(200);
    expect(played.body.equals(audio)).toBe(true);
    // the link is the authorization: altered, the bucket refuses it
    const forged = new URL(link);
    forged.searchParams.set('X-Amz-Expires', '3600');
    expect((await request(forged.toString())).status).toBe(403);
    await s3.quiet();
    expect(playLines(s3, 'recording_played').at(-1)).toMatchObject({
      recordingSid: re(1),
      callSid: ca(1),
      identity: 'agent_alice',
      key: `${PREFIX}/${TEST_ACCOUNT_SID}/${ca(1)}/${re(1)}.wav`,
    });
    expect(s3.output()).not.toContain('agent-token-1');
  });

  it('refuses without a token, with a token IAM refuses, and with a token sent another way', async () => {
    const none = await ask(s3, `?recording=${re(1)}`);
    expect(none.status).toBe(403);
    expect(none.headers['access-control-allow-origin']).toBe(FLEX);
    expect(JSON.parse(none.body.toString()).error).toMatch(/"Authorization"/);
    const refused = await ask(s3, `?recording=${re(1)}`, { Authorization: basic('not-a-valid-token') });
    expect(refused.status).toBe(403);
    expect(refused.body.toString()).not.toContain('media_url');
    const bearer = await ask(s3, `?recording=${re(1)}`, { Authorization: 'Bearer agent-token-2' });
    expect(bearer.status).toBe(403);
    const expired = await ask(s3, `?recording=${re(1)}`, { Authorization: basic('expired-token') });
    expect(expired.status).toBe(403);
    expect(JSON.parse(expired.body.toString()).error).toMatch(/expired/);
  });

  it('an unknown or not kept recording is a 404 naming it; a malformed SID a 400 naming the parameter', async () => {
    const unknown = await ask(s3, `?recording=${re(9)}`, { Authorization: basic('agent-token-3') });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body.toString()).error).toContain(re(9));
    const bad = await ask(s3, '?recording=RE123', { Authorization: basic('agent-token-3') });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString()).error).toMatch(/parameter "recording"/);
  });

  it('from the local folder store: a signed, expiring link to /recordings/audio with the exact bytes and ranges', async () => {
    const res = await ask(local, `?recording=${re(2)}`, { Authorization: basic('agent-token-4') });
    expect(res.status).toBe(200);
    const link = new URL((JSON.parse(res.body.toString()) as { media_url: string }).media_url);
    expect(link.pathname).toBe('/recordings/audio');
    const direct = `${local.baseUrl}${link.pathname}${link.search}`;
    const played = await request(direct);
    expect(played.status).toBe(200);
    expect(played.headers['content-type']).toBe('audio/wav');
    expect(played.body.equals(localAudio)).toBe(true);
    const part = await request(direct, { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.body.equals(localAudio.subarray(100, 200))).toBe(true);
    const tampered = new URL(direct);
    tampered.searchParams.set('expires', String(Number(tampered.searchParams.get('expires')) + 3600));
    expect((await request(tampered.toString())).status).toBe(403);
    const unsigned = await request(`${local.baseUrl}/recordings/audio?recording=${re(2)}`);
    expect(unsigned.status).toBe(403);
  });
});
