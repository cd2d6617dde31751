import { createHash } from 'node:crypto';
import { FakeHost, startFakeHost } from '../support/fake-host';
import { RunningRuntime, startRuntime, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, postSignedWebhook } from '../support/runtime';
import { S3Store } from '../../src/lib/storage/s3-store';
import { S3Front, S3RVER_CREDENTIALS, startS3Front } from '../support/s3-front';

const DEADLINE_MS = 3000;
const BUCKET = 'mms-media';
const PREFIX = 'inbound';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const picture = (n: number) => Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(2000 + n, n)]);

// The webhook keeping media in an S3-compatible store, through the real twilio-run and the local gateway: s3rver
// behind a front that checks what S3 checks (test/support/s3-front.ts), and a fake Twilio media host that answers
// 404 for a while after the webhook, then the media, and records every DELETE.
describe('POST /mms/inbound keeping media in an S3-compatible store', () => {
  let runtime: RunningRuntime;
  let media: FakeHost;
  let front: S3Front;
  let counter = 0;
  /** media path -> [bytes, available from (epoch ms)] */
  const served = new Map<string, { body: Buffer; availableAt: number; answer?: 'empty' | 'cut' }>();

  beforeAll(async () => {
    front = await startS3Front([BUCKET]);
    media = await startFakeHost((req, res) => {
      const item = served.get(req.url ?? '');
      if (req.method === 'DELETE') return res.writeHead(item ? 204 : 404).end();
      if (!item || Date.now() < item.availableAt) return res.writeHead(404).end();
      if (item.answer === 'empty')
        return res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': 0 }).end();
      if (item.answer === 'cut') {
        // no Content-Length, not chunked: the body ends where the connection closes, half way
        const head = 'HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n';
        return req.socket.end(Buffer.concat([Buffer.from(head), item.body.subarray(0, item.body.length >> 1)]));
      }
      return res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': item.body.length }).end(item.body);
    });
    runtime = await startRuntime({
      env: {
        MEDIA_ALLOWED_HOSTS: media.host,
        MEDIA_FETCH_DEADLINE_MS: String(DEADLINE_MS),
        MEDIA_ATTEMPT_TIMEOUT_MS: '800',
        MEDIA_STORE_URL: `s3://${BUCKET}/${PREFIX}`,
        MEDIA_STORE_ENDPOINT: front.endpoint,
        MEDIA_STORE_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        MEDIA_STORE_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        MEDIA_STORE_MESSAGE_FIELDS: 'From',
        MEDIA_DELETE_AFTER_STORE: 'true',
      },
    });
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
    await media?.close();
    await front?.close();
  });
  beforeEach(() => front.script('pass'));

  const sid = (prefix: string, n: number) => `${prefix}${n.toString(16).padStart(32, '0')}`;

  /** A message with `count` media items, each available after `windowMs`; the webhook is signed as Twilio signs. */
  function message(count: number, windowMs = 0) {
    counter += 1;
    const messageSid = sid('MM', counter);
    const items = Array.from({ length: count }, (_, i) => {
      const mediaSid = sid('ME', counter * 100 + i);
      const mediaPath = `/2010-04-01/Accounts/${TEST_ACCOUNT_SID}/Messages/${messageSid}/Media/${mediaSid}`;
      const body = picture(counter * 10 + i);
      served.set(mediaPath, { body, availableAt: Date.now() + windowMs });
      return { mediaSid, mediaPath, body, key: `${PREFIX}/${TEST_ACCOUNT_SID}/${messageSid}/${mediaSid}.png` };
    });
    const params: Record<string, string> = {
      MessageSid: messageSid,
      AccountSid: TEST_ACCOUNT_SID,
      From: '+15005550006',
      To: '+15005550001',
      Body: 'my private words',
      NumMedia: String(count),
    };
    items.forEach((item, i) => {
      params[`MediaUrl${i}`] = `${media.url}${item.mediaPath}`;
      params[`MediaContentType${i}`] = 'image/png';
    });
    return { messageSid, items, params };
  }

  async function post(params: Record<string, string>) {
    const started = Date.now();
    const res = await postSignedWebhook(runtime, '/mms/inbound', params);
    const elapsedMs = Date.now() - started;
    await runtime.quiet();
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    return { elapsedMs };
  }

  function storeLines(messageSid: string): Record<string, unknown>[] {
    return runtime
      .output()
      .split('\n')
      .filter((l) => l.includes('"event":"media_store"') && l.includes(messageSid))
      .map((l) => JSON.parse(l.slice(l.indexOf('{'), l.lastIndexOf('}') + 1)) as Record<string, unknown>);
  }
  const deletesOf = (items: { mediaPath: string }[]) =>
    media.requests.filter((r) => r.method === 'DELETE' && items.some((i) => i.mediaPath === r.url));
  const putsOf = (messageSid: string) => front.requests.filter((r) => r.method === 'PUT' && r.url.includes(messageSid));

  it('keeps one item behind a 404 window under its key, verified by the store, with metadata and the message record; then deletes it at Twilio', async () => {
    const { messageSid, items, params } = message(1, 1000);
    await post(params);
    const [item] = items;
    const object = await front.getObject(BUCKET, item.key);
    expect(object?.body.equals(item.body)).toBe(true);
    expect(Object.fromEntries([...object!.headers].filter(([k]) => k.startsWith('x-amz-meta-')))).toEqual({
      'x-amz-meta-account-sid': TEST_ACCOUNT_SID,
      'x-amz-meta-message-sid': messageSid,
      'x-amz-meta-media-sid': item.mediaSid,
      'x-amz-meta-content-type': 'image/png',
      'x-amz-meta-bytes': String(item.body.length),
      'x-amz-meta-sha256': sha(item.body),
      'x-amz-meta-received-at': expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d$/),
    });
    const [put] = putsOf(item.mediaSid);
    expect(put.headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(item.body).digest('base64'));
    expect(put.headers['if-none-match']).toBe('*');

    const record = JSON.parse(
      (await front.getObject(BUCKET, `${PREFIX}/${TEST_ACCOUNT_SID}/${messageSid}/message.json`))!.body.toString(),
    );
    expect(record).toEqual({
      accountSid: TEST_ACCOUNT_SID,
      messageSid,
      receivedAt: expect.any(String),
      media: [
        {
          index: 0,
          mediaSid: item.mediaSid,
          key: item.key,
          bytes: item.body.length,
          contentType: 'image/png',
          sha256: sha(item.body),
        },
      ],
      From: '+15005550006',
    });
    expect(JSON.stringify(record)).not.toContain('my private words');

    expect(storeLines(messageSid).map((l) => l.outcome)).toEqual(['stored', 'deleted']);
    expect(storeLines(messageSid)[0]).toMatchObject({
      key: item.key,
      bytes: item.body.length,
      sha256: sha(item.body),
      index: 0,
      mediaSid: item.mediaSid,
    });
    const [deleted] = deletesOf(items);
    expect(deleted.headers.authorization).toBe(
      `Basic ${Buffer.from(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64')}`,
    );
    // the DELETE came after the store had answered the PUT and the read-back
    const objectRequests = front.requests.filter((r) => r.url.endsWith(`${item.mediaSid}.png`));
    expect(objectRequests.map((r) => [r.method, r.status])).toEqual([
      ['GET', 404],
      ['PUT', 200],
      ['GET', 200],
    ]);
    expect(deleted.at).toBeGreaterThanOrEqual(objectRequests[2].answeredAt!);
  });

  it('a media host answering an empty 200 or cutting the body: retried to the deadline, nothing stored, nothing deleted', async () => {
    const { messageSid, items, params } = message(2);
    served.get(items[0].mediaPath)!.answer = 'empty';
    served.get(items[1].mediaPath)!.answer = 'cut';
    await post(params);
    const fetches = runtime
      .output()
      .split('\n')
      .filter((l) => l.includes('"event":"media_fetch"') && l.includes(messageSid));
    expect(fetches).toHaveLength(2);
    for (const line of fetches) expect(line).toContain('"outcome":"gave_up"');
    expect(fetches.join('\n')).toContain('the body is empty (0 bytes)');
    expect(fetches.join('\n')).toContain('no Content-Length and is not chunked');
    expect(media.requests.filter((r) => r.url === items[0].mediaPath).length).toBeGreaterThan(1);
    expect(storeLines(messageSid)).toEqual([]);
    expect((await front.listKeys(BUCKET)).filter((k) => k.includes(messageSid))).toEqual([]);
    expect(deletesOf(items)).toHaveLength(0);
  });

  it('keeps ten items of one message, each under its own key, and a redelivery stores nothing twice', async () => {
    const { messageSid, items, params } = message(10, 500);
    await post(params);
    const keys = await front.listKeys(BUCKET);
    for (const item of items) {
      expect(keys).toContain(item.key);
      expect((await front.getObject(BUCKET, item.key))!.body.equals(item.body)).toBe(true);
    }
    expect(putsOf(messageSid).filter((r) => !r.url.endsWith('message.json'))).toHaveLength(10);
    expect(storeLines(messageSid).filter((l) => l.outcome === 'stored')).toHaveLength(10);
    expect(deletesOf(items)).toHaveLength(10);

    await post(params); // Twilio retries a webhook it thinks failed
    expect(putsOf(messageSid).filter((r) => !r.url.endsWith('message.json'))).toHaveLength(10);
    expect(storeLines(messageSid).filter((l) => l.outcome === 'already_stored')).toHaveLength(10);
    expect((await front.listKeys(BUCKET)).filter((k) => k.includes(messageSid))).toHaveLength(11); // ten and the record
  });

  it.each([
    ['refusing (403)', 'forbidden' as const, 403],
    ['failing (500)', 'fail' as const, 500],
  ])(
    'a store %s: TwiML 200 in time, store_failed with its status, nothing written, nothing deleted',
    async (_n, mode, status) => {
      const { messageSid, items, params } = message(2);
      front.script(mode);
      await post(params);
      const lines = storeLines(messageSid);
      expect(lines.map((l) => l.outcome)).toEqual(['store_failed', 'store_failed']);
      expect(lines[0]).toMatchObject({
        level: 'error',
        status,
        problem: expect.stringContaining(`the store answered ${status}`),
      });
      front.script('pass');
      expect((await front.listKeys(BUCKET)).filter((k) => k.includes(messageSid))).toEqual([]);
      expect(deletesOf(items)).toHaveLength(0);
    },
  );

  it('a store refusing the message record: the items are kept but nothing is deleted at Twilio', async () => {
    const { messageSid, items, params } = message(2);
    front.script('fail', ['PUT'], 'message.json');
    await post(params);
    expect(storeLines(messageSid).map((l) => l.outcome)).toEqual([
      'stored',
      'stored',
      'delete_failed',
      'delete_failed',
    ]);
    expect(storeLines(messageSid)[3]).toMatchObject({
      problem: expect.stringContaining('the message record does not list it'),
    });
    expect(runtime.output()).toMatch(
      new RegExp(`"event":"message_record","outcome":"failed","messageSid":"${messageSid}"`),
    );
    expect(deletesOf(items)).toHaveLength(0);
    // a redelivery once the store is back writes the record, then deletes
    front.script('pass');
    await post(params);
    expect(
      JSON.parse(
        (await front.getObject(BUCKET, `${PREFIX}/${TEST_ACCOUNT_SID}/${messageSid}/message.json`))!.body.toString(),
      ).media,
    ).toHaveLength(2);
    expect(deletesOf(items)).toHaveLength(2);
  });

  it('a store hanging past the deadline: TwiML 200 in time, nothing deleted', async () => {
    const { messageSid, items, params } = message(1);
    front.script('hang');
    const { elapsedMs } = await post(params);
    expect(elapsedMs).toBeLessThan(DEADLINE_MS + 2000);
    expect(storeLines(messageSid)).toEqual([
      expect.objectContaining({
        outcome: 'store_failed',
        problem: expect.stringContaining('no answer from the store in time'),
      }),
    ]);
    expect(deletesOf(items)).toHaveLength(0);
  });

  it('a proxy flipping one byte on the way: refused by the checksum, nothing stored, nothing deleted', async () => {
    const { messageSid, items, params } = message(1);
    front.script('corrupt');
    await post(params);
    expect(storeLines(messageSid)).toEqual([
      expect.objectContaining({
        outcome: 'store_failed',
        status: 400,
        problem: expect.stringContaining('XAmzContentSHA256Mismatch'),
      }),
    ]);
    front.script('pass');
    expect(await front.getObject(BUCKET, items[0].key)).toBeUndefined();
    expect(deletesOf(items)).toHaveLength(0);
  });

  it('a conflicting object under the key is left alone and the media is not deleted', async () => {
    const { messageSid, items, params } = message(1);
    const bucket = new S3Store({
      bucket: BUCKET,
      prefix: '',
      endpoint: front.backendEndpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
    await bucket.put(items[0].key, Buffer.from('something else'));
    await post(params);
    expect(storeLines(messageSid)).toEqual([expect.objectContaining({ level: 'warn', outcome: 'conflict' })]);
    expect((await front.getObject(BUCKET, items[0].key))!.body.toString()).toBe('something else');
    expect(deletesOf(items)).toHaveLength(0);
  });

  it('hostile SIDs and media URLs are refused and nothing is written outside the prefix', async () => {
    const before = await front.listKeys(BUCKET);
    const hostile = message(2);
    hostile.params.MessageSid = '../../../escaped';
    await post(hostile.params);
    const encoded = message(1);
    encoded.params.MediaUrl0 = `${media.url}/2010-04-01/Media/..%2F..%2F..%2Fescaped`;
    served.set('/2010-04-01/Media/..%2F..%2F..%2Fescaped', { body: picture(1), availableAt: 0 });
    await post(encoded.params);
    expect(runtime.output()).toContain(
      'MessageSid \\"../../../escaped\\" is not MM followed by 32 hex digits; nothing stored',
    );
    expect(storeLines(encoded.messageSid)).toEqual([
      expect.objectContaining({
        outcome: 'store_failed',
        problem: expect.stringContaining('does not end in a Media SID'),
      }),
    ]);
    const after = await front.listKeys(BUCKET);
    expect(after).toEqual(before);
    expect(after.every((k) => k.startsWith(`${PREFIX}/`))).toBe(true);
    expect(deletesOf([...hostile.items, ...encoded.items])).toHaveLength(0);
  });

  it('never logs the store secret or a credential', () => {
    // s3rver's account uses the same text for its key and its secret: neither appears anywhere
    expect(runtime.output()).not.toContain(S3RVER_CREDENTIALS.secretAccessKey);
    expect(runtime.output()).not.toContain(TEST_AUTH_TOKEN);
  });
});
