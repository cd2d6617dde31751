import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  deleteTwilioMedia,
  extensionFor,
  keepMediaItem,
  KeepMediaInput,
  KeptMedia,
  mediaKeyOf,
  MessageRecord,
  messageRecordKey,
  recordMessage,
} from '../../src/lib/keep/media';
import type { MediaStore } from '../../src/lib/storage/media-store';
import { S3Store } from '../../src/lib/storage/s3-store';
import { S3Front, S3RVER_CREDENTIALS, startS3Front } from '../support/s3-front';
import type { LogRecord } from '../../src/lib/log';
import { LocalFolderStore, ObjectStore } from '../../src/lib/storage/store';
import { FakeHost, startFakeHost } from '../support/fake-host';

const AC = `AC${'a'.repeat(32)}`;
const MM = `MM${'b'.repeat(32)}`;
const ME = (n: number) => `ME${String(n).padStart(32, '0')}`;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const RECEIVED = Date.parse('2026-12-01T10:00:00.000Z');

describe('keeping one media item', () => {
  let dir: string;
  let store: LocalFolderStore;
  let logs: LogRecord[];
  const input = (extra: Partial<KeepMediaInput> = {}): KeepMediaInput => ({
    store,
    accountSid: AC,
    messageSid: MM,
    index: 0,
    mediaUrl: `https://api.twilio.com/2010-04-01/Accounts/${AC}/Messages/${MM}/Media/${ME(1)}`,
    contentType: 'image/png',
    body: PNG,
    receivedAt: RECEIVED,
    log: (r) => logs.push(r),
    ...extra,
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-keep-'));
    store = new LocalFolderStore(dir);
    logs = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stores under AccountSid/MessageSid/MediaSid.ext, verified, with one media_store line in the agreed shape', async () => {
    const kept = await keepMediaItem(input());
    const key = `${AC}/${MM}/${ME(1)}.png`;
    expect(kept).toMatchObject({ outcome: 'stored', verified: true, key, mediaSid: ME(1), sha256: sha(PNG) });
    expect(fs.readFileSync(path.join(dir, key))).toEqual(PNG);
    expect(logs).toEqual([
      {
        level: 'info',
        event: 'media_store',
        outcome: 'stored',
        messageSid: MM,
        mediaSid: ME(1),
        index: 0,
        key,
        bytes: PNG.length,
        sha256: sha(PNG),
        webhookReceivedAt: expect.stringMatching(/^2026-12-01T\d\d:00:00\.000[+-]\d\d:\d\d$/),
      },
    ]);
  });

  it('a redelivery finds the same bytes (already_stored); other bytes under the key are a conflict, nothing written', async () => {
    await keepMediaItem(input());
    expect(await keepMediaItem(input())).toMatchObject({ outcome: 'already_stored', verified: true });
    const other = Buffer.from('not the same picture');
    const conflict = await keepMediaItem(input({ body: other }));
    expect(conflict).toMatchObject({ outcome: 'conflict', verified: false });
    expect(conflict.problem).toContain(`sha256 ${sha(PNG)}`);
    expect(fs.readFileSync(path.join(dir, AC, MM, `${ME(1)}.png`))).toEqual(PNG);
    expect(logs.map((l) => [l.level, l.outcome])).toEqual([
      ['info', 'stored'],
      ['info', 'already_stored'],
      ['warn', 'conflict'],
    ]);
  });

  it.each([
    ['a MessageSid with ../', { messageSid: '../../etc' }, 'MessageSid "../../etc" is not MM'],
    ['a MessageSid with an encoded slash', { messageSid: `MM${'b'.repeat(30)}%2F` }, 'is not MM'],
    ['an SMS SID', { messageSid: `SM${'b'.repeat(32)}` }, 'is not MM'],
    ['an AccountSid that is missing', { accountSid: undefined }, 'AccountSid "" is not AC'],
    [
      'a media URL ending in ../',
      { mediaUrl: `https://api.twilio.com/Media/${ME(1)}/..` },
      'does not end in a Media SID',
    ],
    ['a media URL with an encoded slash', { mediaUrl: `https://api.twilio.com/Media/..%2F..%2F${ME(1)}` }, 'Media SID'],
    ['a media URL with a Media SID too long', { mediaUrl: `https://api.twilio.com/Media/${ME(1)}0` }, 'Media SID'],
  ])('refuses %s: store_failed, nothing written anywhere', async (_name, extra, problem) => {
    const kept = await keepMediaItem(input(extra));
    expect(kept).toMatchObject({ outcome: 'store_failed', verified: false });
    expect(kept.key).toBeUndefined();
    expect(logs[0]).toMatchObject({
      level: 'error',
      outcome: 'store_failed',
      problem: expect.stringContaining(problem),
    });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a store that throws is store_failed with its message, never an exception', async () => {
    const failing: ObjectStore = {
      description: 'broken',
      prefix: 'p/',
      put: () => Promise.reject(new Error('disk full')),
      inspect: () => Promise.resolve(undefined),
      readText: () => Promise.resolve(''),
      writeText: () => Promise.resolve(),
    };
    expect(await keepMediaItem(input({ store: failing }))).toMatchObject({
      outcome: 'store_failed',
      problem: 'disk full',
      verified: false,
    });
    expect(logs[0]).toMatchObject({ key: `p/${AC}/${MM}/${ME(1)}.png` });
  });

  it('a store whose read-back differs from what was sent is store_failed, not stored', async () => {
    const lying: ObjectStore = {
      ...store,
      prefix: '',
      description: 'lying',
      put: (k, b, o) => store.put(k, Buffer.concat([b, Buffer.from('!')]), o),
      inspect: (k) => store.inspect(k),
      readText: (n) => store.readText(n),
      writeText: (n, t) => store.writeText(n, t),
    };
    const kept = await keepMediaItem(input({ store: lying }));
    expect(kept).toMatchObject({ outcome: 'store_failed', verified: false });
    expect(kept.problem).toContain(`read back ${PNG.length + 1} bytes`);
  });

  it('names the extension from the received content type', () => {
    expect(extensionFor('image/jpeg')).toBe('jpg');
    expect(extensionFor('IMAGE/PNG; charset=binary')).toBe('png');
    expect(extensionFor('video/3gpp')).toBe('3gp');
    expect(extensionFor('application/x-unknown-thing')).toBe('bin');
    expect(mediaKeyOf(AC, MM, `https://h/Media/${ME(2)}?x=1`, 'text/vcard')).toEqual({
      key: `${AC}/${MM}/${ME(2)}.vcard`,
      mediaSid: ME(2),
    });
  });

  describe('the message record', () => {
    it('lists the verified items, completes on redelivery, and holds From/To/Body only when configured', async () => {
      const first = await keepMediaItem(input());
      const failed = await keepMediaItem(input({ index: 1, mediaUrl: 'https://api.twilio.com/Media/nope' }));
      const params = { From: '+15005550006', To: '+15005550001', Body: 'my claim photo' };
      const record = (kept = [first, failed], fields: ('From' | 'To' | 'Body')[] = []) =>
        recordMessage({
          store,
          accountSid: AC,
          messageSid: MM,
          receivedAt: RECEIVED,
          kept,
          params,
          fields,
          log: (r) => logs.push(r),
        });
      expect((await record()).outcome).toBe('written');
      const file = path.join(dir, AC, MM, 'message.json');
      const written = JSON.parse(fs.readFileSync(file, 'utf8')) as MessageRecord;
      expect(written).toEqual({
        accountSid: AC,
        messageSid: MM,
        receivedAt: expect.stringMatching(/^2026-12-01T/),
        media: [
          {
            index: 0,
            mediaSid: ME(1),
            key: `${AC}/${MM}/${ME(1)}.png`,
            bytes: PNG.length,
            contentType: 'image/png',
            sha256: sha(PNG),
          },
        ],
      });
      expect(JSON.stringify(written)).not.toContain('+1500555');
      expect(await record()).toEqual({ outcome: 'unchanged', listed: new Set([ME(1)]) });

      const second = await keepMediaItem(
        input({
          index: 1,
          mediaUrl: `https://api.twilio.com/Media/${ME(2)}`,
          body: Buffer.from('gif'),
          contentType: 'image/gif',
        }),
      );
      expect(await record([second], ['From', 'Body'])).toEqual({ outcome: 'written', listed: new Set([ME(1), ME(2)]) });
      const completed = JSON.parse(fs.readFileSync(file, 'utf8')) as MessageRecord;
      expect(completed.media.map((m) => m.mediaSid)).toEqual([ME(1), ME(2)]);
      expect(completed.receivedAt).toBe(written.receivedAt);
      expect(completed).toMatchObject({ From: '+15005550006', Body: 'my claim photo' });
      expect(completed.To).toBeUndefined();
      expect(logs.filter((l) => l.event === 'message_record').map((l) => l.outcome)).toEqual([
        'written',
        'unchanged',
        'written',
      ]);
    });

    it('an unreadable record is rewritten with the items kept, its old text set aside, and a warning', async () => {
      const file = path.join(dir, AC, MM, 'message.json');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, '{"accountSid": "AC', 'utf8'); // cut short
      const kept = await keepMediaItem(input());
      const result = await recordMessage({
        store,
        accountSid: AC,
        messageSid: MM,
        receivedAt: RECEIVED,
        kept: [kept],
        params: {},
        fields: [],
        log: (r) => logs.push(r),
      });
      expect(result).toEqual({ outcome: 'written', listed: new Set([ME(1)]) });
      expect((JSON.parse(fs.readFileSync(file, 'utf8')) as MessageRecord).media.map((m) => m.mediaSid)).toEqual([
        ME(1),
      ]);
      expect(fs.readFileSync(path.join(dir, AC, MM, 'message.unreadable.json'), 'utf8')).toBe('{"accountSid": "AC');
      expect(logs.find((l) => l.event === 'message_record')).toMatchObject({
        level: 'warn',
        outcome: 'written',
        problem: expect.stringContaining('not a message record; rewritten, its old text kept as'),
      });
    });

    it('writes nothing when no item was kept', async () => {
      const failed = await keepMediaItem(input({ messageSid: 'MMbad' }));
      expect(
        await recordMessage({
          store,
          accountSid: AC,
          messageSid: 'MMbad',
          receivedAt: RECEIVED,
          kept: [failed],
          params: {},
          fields: [],
          log: () => undefined,
        }),
      ).toEqual({ outcome: 'none', listed: new Set() });
      expect(fs.readdirSync(dir)).toEqual([]);
    });
  });
});

describe('two writers completing one message record at once', () => {
  let dir: string;
  let front: S3Front;
  beforeAll(async () => (front = await startS3Front(['records'])));
  afterAll(() => front.close());
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-writers-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** the webhook and media:sync (or two deliveries), each having kept other items of the message */
  async function race(store: MediaStore): Promise<{ record: MessageRecord; logs: LogRecord[] }> {
    const logs: LogRecord[] = [];
    const keepAll = (from: number) =>
      Promise.all(
        [from, from + 1].map((n) =>
          keepMediaItem({
            store,
            accountSid: AC,
            messageSid: MM,
            index: n,
            mediaUrl: `https://api.twilio.com/2010-04-01/Accounts/${AC}/Messages/${MM}/Media/${ME(n)}`,
            contentType: 'image/png',
            body: Buffer.concat([PNG, Buffer.from([n])]),
            receivedAt: RECEIVED,
            log: () => undefined,
          }),
        ),
      );
    const [first, second] = await Promise.all([keepAll(0), keepAll(2)]);
    const write = (kept: KeptMedia[]) =>
      recordMessage({
        store,
        accountSid: AC,
        messageSid: MM,
        receivedAt: RECEIVED,
        kept,
        params: {},
        fields: [],
        log: (r) => logs.push(r),
      });
    const results = await Promise.all([write(first), write(second), write([first[1], second[0]])]);
    // every writer's own items are in what it read back, so each may delete them at Twilio
    expect(results.map((r) => r.listed.size >= 2)).toEqual([true, true, true]);
    const record = JSON.parse((await store.readVersioned(messageRecordKey(AC, MM))).text) as MessageRecord;
    return { record, logs };
  }

  it('the folder store: no entry lost, each write conditional on the version read', async () => {
    const { record, logs } = await race(new LocalFolderStore(dir));
    expect(record.media.map((m) => m.mediaSid)).toEqual([ME(0), ME(1), ME(2), ME(3)]);
    expect(logs.filter((l) => l.outcome === 'failed')).toEqual([]);
  });

  it('S3 (If-Match / If-None-Match, enforced by the front as S3 does): no entry lost', async () => {
    const store = new S3Store({
      bucket: 'records',
      prefix: 'in/',
      endpoint: front.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
    const { record, logs } = await race(store);
    expect(record.media.map((m) => m.mediaSid)).toEqual([ME(0), ME(1), ME(2), ME(3)]);
    expect(logs.filter((l) => l.outcome === 'failed')).toEqual([]);
    // the writers did meet: at least one conditional write was refused and retried after a merge
    expect(front.requests.filter((r) => r.method === 'PUT' && r.status === 412).length).toBeGreaterThan(0);
  });
});

describe("deleting Twilio's copy after a verified one", () => {
  let twilio: FakeHost;
  let status = 204;
  let logs: LogRecord[];
  beforeAll(async () => {
    // status 0: never answer (the connection stays open), as a DELETE Twilio does not answer
    twilio = await startFakeHost((_req, res) => (status === 0 ? undefined : res.writeHead(status).end()));
  });
  afterAll(() => twilio.close());
  beforeEach(() => {
    twilio.requests.length = 0;
    status = 204;
    logs = [];
  });
  const url = `http://127.0.0.1/2010-04-01/Accounts/${AC}/Messages/${MM}/Media/${ME(1)}`;
  const kept = (outcome: 'stored' | 'already_stored' | 'store_failed' | 'conflict', verified: boolean) => ({
    outcome,
    verified,
    index: 0,
    messageSid: MM,
    mediaSid: ME(1),
    key: `${AC}/${MM}/${ME(1)}.png`,
    bytes: PNG.length,
    sha256: sha(PNG),
    contentType: 'image/png',
  });
  const remove = (
    k: ReturnType<typeof kept>,
    extra: { allowedHosts?: string[]; signal?: AbortSignal; listed?: Set<string>; timeoutMs?: number } = {},
  ) =>
    deleteTwilioMedia({
      kept: k,
      listed: extra.listed ?? new Set([ME(1)]),
      mediaUrl: url.replace('127.0.0.1', twilio.host),
      auth: { username: AC, password: 'token' },
      allowedHosts: extra.allowedHosts ?? [twilio.host],
      prefix: 'p/',
      receivedAt: RECEIVED,
      signal: extra.signal,
      timeoutMs: extra.timeoutMs,
      log: (r) => logs.push(r),
    });

  it('DELETEs the media URL with the fetch credentials once the copy is verified, and logs deleted', async () => {
    expect(await remove(kept('stored', true))).toBe('deleted');
    expect(twilio.requests).toHaveLength(1);
    expect(twilio.requests[0]).toMatchObject({
      method: 'DELETE',
      url: `/2010-04-01/Accounts/${AC}/Messages/${MM}/Media/${ME(1)}`,
    });
    expect(twilio.requests[0].headers.authorization).toBe(`Basic ${Buffer.from(`${AC}:token`).toString('base64')}`);
    expect(logs).toEqual([
      expect.objectContaining({
        event: 'media_store',
        outcome: 'deleted',
        status: 204,
        key: `p/${AC}/${MM}/${ME(1)}.png`,
      }),
    ]);
    expect(await remove(kept('already_stored', true))).toBe('deleted');
  });

  it('never DELETEs when the store failed or disagreed', async () => {
    expect(await remove(kept('store_failed', false))).toBeUndefined();
    expect(await remove(kept('conflict', false))).toBeUndefined();
    expect(twilio.requests).toHaveLength(0);
    expect(logs).toEqual([]);
  });

  it('a DELETE Twilio never answers is given up after its timeout, without any signal from the caller', async () => {
    status = 0;
    expect(await remove(kept('stored', true), { timeoutMs: 300 })).toBe('delete_failed');
    expect(logs).toEqual([
      expect.objectContaining({
        outcome: 'delete_failed',
        problem: 'no answer to the DELETE within 300 ms; the media stays at Twilio',
      }),
    ]);
  });

  it('never DELETEs a verified item that the message record does not list', async () => {
    expect(await remove(kept('stored', true), { listed: new Set([ME(2)]) })).toBe('delete_failed');
    expect(twilio.requests).toHaveLength(0);
    expect(logs).toEqual([
      expect.objectContaining({
        outcome: 'delete_failed',
        problem: expect.stringContaining('the message record does not list it'),
      }),
    ]);
  });

  it('a refused DELETE, or a host off the allowlist, is delete_failed and left for the sync command', async () => {
    status = 403;
    expect(await remove(kept('stored', true))).toBe('delete_failed');
    expect(logs[0]).toMatchObject({
      level: 'warn',
      outcome: 'delete_failed',
      status: 403,
      problem: expect.stringContaining('Twilio answered 403'),
    });
    status = 404; // already gone is what was wanted
    expect(await remove(kept('stored', true))).toBe('deleted');
    twilio.requests.length = 0;
    expect(await remove(kept('stored', true), { allowedHosts: ['api.twilio.com'] })).toBe('delete_failed');
    expect(twilio.requests).toHaveLength(0);
    expect(JSON.stringify(logs)).not.toContain('token');
  });
});
