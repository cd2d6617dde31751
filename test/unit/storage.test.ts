import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mediaStoreSettingsFrom, messageFieldsFrom } from '../../src/lib/storage/media-store';
import { S3Settings, s3SettingsFrom, S3Store } from '../../src/lib/storage/s3-store';
import { ConditionalTextStore, LocalFolderStore, StoreError } from '../../src/lib/storage/store';
import { mediaStoreProblems } from '../../src/deploy/variables';
import { freePort } from '../../src/local-runtime/twilio-run';
import { S3Front, S3RVER_CREDENTIALS, startS3Front } from '../support/s3-front';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('media store settings', () => {
  const SECRET = 'the-secret-access-key-value';

  it('reads s3:// with its endpoint (path-style), region and keys, and none of the commands’ AWS_* variables', () => {
    const settings = mediaStoreSettingsFrom({
      MEDIA_STORE_URL: 's3://media-bucket/inbound/mms/',
      MEDIA_STORE_ENDPOINT: 'http://127.0.0.1:9000',
      MEDIA_STORE_REGION: 'eu-west-1',
      MEDIA_STORE_ACCESS_KEY_ID: 'AKID',
      MEDIA_STORE_SECRET_ACCESS_KEY: SECRET,
      MEDIA_STORE_MESSAGE_FIELDS: 'from, BODY',
      MEDIA_DELETE_AFTER_STORE: 'TRUE',
    });
    expect(settings).toEqual({
      location: {
        kind: 's3',
        s3: {
          bucket: 'media-bucket',
          prefix: 'inbound/mms/',
          endpoint: 'http://127.0.0.1:9000',
          region: 'eu-west-1',
          forcePathStyle: true,
          credentials: { accessKeyId: 'AKID', secretAccessKey: SECRET },
        },
      },
      messageFields: ['From', 'Body'],
      deleteAfterStore: true,
    });
  });

  it('keeps media in ./.media-store in the local runtime when unset, and nothing when deployed', () => {
    expect(mediaStoreSettingsFrom({ DOMAIN_NAME: 'localhost:3000' })?.location).toEqual({
      kind: 'folder',
      folder: path.resolve('.media-store'),
    });
    expect(mediaStoreSettingsFrom({ DOMAIN_NAME: 'my-service-1234-dev.twil.io' })).toBeUndefined();
    expect(mediaStoreSettingsFrom({ DOMAIN_NAME: 'localhost:3000', MEDIA_STORE_URL: 'none' })).toBeUndefined();
    expect(mediaStoreSettingsFrom({ MEDIA_STORE_URL: 'folder:/tmp/x' })?.location).toEqual({
      kind: 'folder',
      folder: '/tmp/x',
    });
  });

  it.each([
    [
      { MEDIA_STORE_URL: 'https://bucket.example.com' },
      'MEDIA_STORE_URL',
      'neither s3://BUCKET[/PREFIX] nor folder:PATH',
    ],
    [{ MEDIA_STORE_URL: 's3://No_Such' }, 'MEDIA_STORE_URL', 'is not s3://BUCKET[/PREFIX]'],
    [{ MEDIA_STORE_URL: 's3://bucket/../up' }, 'MEDIA_STORE_URL', 'the prefix'],
    [{ MEDIA_STORE_URL: 's3://bucket', MEDIA_STORE_ENDPOINT: 'ftp://x' }, 'MEDIA_STORE_ENDPOINT', 'not an http(s) URL'],
    [{ MEDIA_STORE_URL: 's3://bucket', MEDIA_STORE_REGION: 'EU West' }, 'MEDIA_STORE_REGION', 'not a region'],
    [
      { MEDIA_STORE_URL: 's3://bucket', MEDIA_STORE_SECRET_ACCESS_KEY: SECRET },
      'MEDIA_STORE_ACCESS_KEY_ID',
      'MEDIA_STORE_ACCESS_KEY_ID is not set',
    ],
    [
      { MEDIA_STORE_URL: 's3://bucket', MEDIA_STORE_ACCESS_KEY_ID: 'AKID' },
      'MEDIA_STORE_SECRET_ACCESS_KEY',
      'MEDIA_STORE_SECRET_ACCESS_KEY is not set',
    ],
    [
      { MEDIA_STORE_MESSAGE_FIELDS: 'From,Phone' },
      'MEDIA_STORE_MESSAGE_FIELDS',
      '"Phone" is not one of From, To, Body',
    ],
    [{ MEDIA_DELETE_AFTER_STORE: 'yes' }, 'MEDIA_DELETE_AFTER_STORE', 'must be true or false'],
    [{ MEDIA_DELETE_AFTER_STORE: 'true' }, 'MEDIA_DELETE_AFTER_STORE', 'deleted without a copy'],
  ])('refuses %j naming %s', (env, variable, text) => {
    let error: unknown;
    try {
      mediaStoreSettingsFrom(env);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ variable, message: expect.stringContaining(text) });
    expect((error as Error).message).not.toContain(SECRET);
  });

  it('takes none, one or all of the message fields', () => {
    expect(messageFieldsFrom(undefined)).toEqual([]);
    expect(messageFieldsFrom('none')).toEqual([]);
    expect(messageFieldsFrom('To,to,From')).toEqual(['To', 'From']);
  });

  it('a deploy refuses a folder store, saying why, and any setting the webhook would refuse', () => {
    expect(mediaStoreProblems({ MEDIA_STORE_URL: 'folder:.media-store' }, '.env')).toEqual([
      expect.stringMatching(/^\.env: MEDIA_STORE_URL is a folder store .*disk is temporary.*s3:\/\/BUCKET/),
    ]);
    expect(mediaStoreProblems({ MEDIA_STORE_URL: 's3://bucket', MEDIA_STORE_REGION: '!' }, '.env')).toEqual([
      expect.stringContaining('.env: MEDIA_STORE_REGION'),
    ]);
    expect(mediaStoreProblems({ MEDIA_DELETE_AFTER_STORE: 'true' }, '.env')).toEqual([
      expect.stringContaining('MEDIA_DELETE_AFTER_STORE is true but MEDIA_STORE_URL is not set'),
    ]);
    expect(mediaStoreProblems({ MEDIA_STORE_URL: 's3://bucket/p', MEDIA_DELETE_AFTER_STORE: 'true' }, '.env')).toEqual(
      [],
    );
    expect(mediaStoreProblems({}, '.env')).toEqual([]);
  });
});

describe('LocalFolderStore', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-folder-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('never replaces a key with ifAbsent, and leaves no temporary file', async () => {
    const store = new LocalFolderStore(dir);
    expect(await store.put('a/b.bin', Buffer.from('one'), { ifAbsent: true })).toBe('written');
    expect(await store.put('a/b.bin', Buffer.from('two'), { ifAbsent: true })).toBe('exists');
    expect(fs.readFileSync(path.join(dir, 'a', 'b.bin'), 'utf8')).toBe('one');
    expect(fs.readdirSync(path.join(dir, 'a'))).toEqual(['b.bin']);
    expect(await store.inspect('a/b.bin')).toEqual({
      key: 'a/b.bin',
      bytes: 3,
      sha256: sha(Buffer.from('one')),
      metadata: {},
    });
    await expect(store.put('../escape', Buffer.from('x'))).rejects.toThrow('not a safe relative path');
  });
});

/** The compare-and-swap every media store offers for its message records, the same for both kinds. */
async function checkConditionalText(store: ConditionalTextStore, name: string, read: () => Promise<string>) {
  expect(await store.readVersioned(name)).toEqual({ text: '' });
  expect(await store.writeTextIf(name, 'first', undefined)).toBe('written');
  // a second creator loses: the document is no longer absent
  expect(await store.writeTextIf(name, 'rival', undefined)).toBe('changed');
  const first = await store.readVersioned(name);
  expect(first).toEqual({ text: 'first', version: expect.any(String) });
  expect(await store.writeTextIf(name, 'second', first.version)).toBe('written');
  // a writer holding the version it read before the second write changes nothing
  expect(await store.writeTextIf(name, 'stale', first.version)).toBe('changed');
  expect(await read()).toBe('second');
  // two writers at once from the same version: exactly one wins
  const now = await store.readVersioned(name);
  const results = await Promise.all(['a', 'b'].map((t) => store.writeTextIf(name, t, now.version)));
  expect(results.sort()).toEqual(['changed', 'written']);
}

describe('conditional text writes', () => {
  let dir: string;
  let front: S3Front;
  beforeAll(async () => (front = await startS3Front(['records'])));
  afterAll(() => front.close());
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-cas-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the folder store: a lock file around compare and rename, none left behind', async () => {
    const store = new LocalFolderStore(dir);
    await checkConditionalText(store, 'm/message.json', async () =>
      fs.readFileSync(path.join(dir, 'm', 'message.json'), 'utf8'),
    );
    expect(fs.readdirSync(path.join(dir, 'm'))).toEqual(['message.json']);
  });

  it('the folder store breaks a lock left by a dead writer once it is stale', async () => {
    const store = new LocalFolderStore(dir);
    fs.mkdirSync(path.join(dir, 'm'));
    const lock = path.join(dir, 'm', 'message.json.lock');
    fs.writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    expect(await store.writeTextIf('m/message.json', 'x', undefined)).toBe('written');
  });

  it('S3: If-None-Match: * to create, If-Match on the ETag read to replace, 412 read as changed', async () => {
    const store = new S3Store({
      bucket: 'records',
      prefix: '',
      endpoint: front.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
    await checkConditionalText(store, 'm/message.json', async () =>
      (await front.getObject('records', 'm/message.json'))!.body.toString(),
    );
    const puts = front.requests.filter((r) => r.method === 'PUT');
    expect(puts[0].headers['if-none-match']).toBe('*');
    expect(puts[2].headers['if-match']).toMatch(/^"[0-9a-f]{32}"$/);
    expect(puts.map((r) => r.status)).toEqual([200, 412, 200, 412, expect.any(Number), expect.any(Number)]);
  });
});

describe('S3Store (aws4fetch) against s3rver behind a checking front', () => {
  let front: S3Front;
  const store = () =>
    new S3Store(
      s3SettingsFrom({
        url: 's3://media/pre/fix',
        endpoint: front.endpoint,
        accessKeyId: S3RVER_CREDENTIALS.accessKeyId,
        secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey,
        names: { url: 'U', endpoint: 'E', region: 'R', accessKeyId: 'A', secretAccessKey: 'S' },
      }),
    );
  beforeAll(async () => (front = await startS3Front(['media'])));
  afterAll(() => front.close());
  beforeEach(() => {
    front.script('pass');
    front.requests.length = 0;
  });

  it('PUTs with both sha256 headers and the metadata, path-style, and reads the object back hashed', async () => {
    const body = Buffer.from('hello store');
    expect(
      await store().put('x/one.txt', body, { contentType: 'text/plain', metadata: { 'Message-Sid': 'MM1' } }),
    ).toBe('written');
    const put = front.requests.find((r) => r.method === 'PUT')!;
    expect(put.url).toBe('/media/pre/fix/x/one.txt');
    expect(put.headers['x-amz-content-sha256']).toBe(sha(body));
    expect(put.headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(body).digest('base64'));
    expect(put.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=S3RVER\//);
    expect(await store().inspect('x/one.txt')).toEqual({
      key: 'x/one.txt',
      bytes: body.length,
      sha256: sha(body),
      contentType: 'text/plain',
      metadata: { 'message-sid': 'MM1' },
    });
    expect(await store().inspect('x/none.txt')).toBeUndefined();
    expect(await store().readText('x/none.txt')).toBe('');
  });

  it('answers exists to a conditional PUT on a taken key and leaves the object alone', async () => {
    await store().put('x/taken.txt', Buffer.from('first'));
    expect(await store().put('x/taken.txt', Buffer.from('second'), { ifAbsent: true })).toBe('exists');
    expect((await front.getObject('media', 'pre/fix/x/taken.txt'))?.body.toString()).toBe('first');
  });

  it('writeText reads back what it wrote: a store that acknowledges a PUT and keeps nothing is a StoreError', async () => {
    await store().writeText('x/index.jsonl', 'one\n');
    expect(await store().readText('x/index.jsonl')).toBe('one\n');
    front.script('swallow', ['PUT']);
    await expect(store().writeText('x/index.jsonl', 'two\n')).rejects.toMatchObject({
      name: 'StoreError',
      message: expect.stringContaining('x/index.jsonl read back as 4 bytes'),
    });
    await expect(store().writeText('x/other.jsonl', 'two\n')).rejects.toThrow(
      'x/other.jsonl is missing when read back after the store acknowledged its write',
    );
  });

  it('a body corrupted on the way is refused by the checksum: StoreError 400, nothing stored', async () => {
    front.script('corrupt');
    await expect(store().put('x/corrupt.bin', Buffer.alloc(1000, 7))).rejects.toMatchObject({
      name: 'StoreError',
      status: 400,
      message: expect.stringContaining('XAmzContentSHA256Mismatch'),
    });
    front.script('pass');
    expect(await store().inspect('x/corrupt.bin')).toBeUndefined();
  });

  it('a refusing, failing or hanging store is a StoreError with its status, the hang cut by the signal', async () => {
    front.script('forbidden');
    await expect(store().put('x/f.bin', Buffer.from('f'))).rejects.toMatchObject({
      status: 403,
      message: 'the store answered 403 AccessDenied: Access Denied',
    });
    front.script('fail');
    await expect(store().inspect('x/f.bin')).rejects.toMatchObject({ status: 500 });
    front.script('hang');
    const started = Date.now();
    const error = await store()
      .put('x/h.bin', Buffer.from('h'), { signal: AbortSignal.timeout(300) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain('no answer from the store in time');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a store that cannot be reached is a StoreError naming the cause', async () => {
    const down = new S3Store({
      bucket: 'media',
      prefix: '',
      endpoint: `http://127.0.0.1:${await freePort()}`,
      region: 'us-east-1',
      forcePathStyle: true,
    });
    await expect(down.inspect('k')).rejects.toMatchObject({
      name: 'StoreError',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('addresses AWS virtual-hosted without an endpoint', async () => {
    const calls: string[] = [];
    const original = global.fetch;
    global.fetch = (async (input: Request) => {
      calls.push(input.url);
      return new Response(null, { status: 404 });
    }) as typeof fetch;
    try {
      const s3Of = (env: Parameters<typeof mediaStoreSettingsFrom>[0]) =>
        new S3Store((mediaStoreSettingsFrom(env)!.location as { s3: S3Settings }).s3);
      await s3Of({ MEDIA_STORE_URL: 's3://my-bucket/p', MEDIA_STORE_REGION: 'eu-west-2' }).inspect('k.bin');
      // a dotted name would need my.bucket.s3..., which AWS's wildcard certificate does not cover: path-style
      await s3Of({ MEDIA_STORE_URL: 's3://my.bucket/p', MEDIA_STORE_REGION: 'eu-west-2' }).inspect('k.bin');
      const media = mediaStoreSettingsFrom({ MEDIA_STORE_URL: 's3://media.example.com/in' })!.location;
      await new S3Store((media as { s3: S3Settings }).s3).inspect('k.bin');
    } finally {
      global.fetch = original;
    }
    expect(calls).toEqual([
      'https://my-bucket.s3.eu-west-2.amazonaws.com/p/k.bin',
      'https://s3.eu-west-2.amazonaws.com/my.bucket/p/k.bin',
      'https://s3.us-east-1.amazonaws.com/media.example.com/in/k.bin',
    ]);
  });
});
