// `npm run media:sync` as a user runs it: a separate process, against the fake Twilio REST API and s3rver behind
// the checksum-checking front, with the webhook's MEDIA_STORE_* variables.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256Of } from '../../src/lib/storage/store';
import { RunningRuntime, startRuntime, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, postSignedWebhook } from '../support/runtime';
import { FakeMessage, FakeTwilioApi, startFakeTwilioApi } from '../support/fake-twilio-api';
import { PROJECT_ROOT } from '../support/paths';
import { S3Front, S3RVER_CREDENTIALS, startS3Front } from '../support/s3-front';

jest.setTimeout(180_000);

const AC = 'AC' + '5'.repeat(32);
const TOKEN = 'media-sync-token';
const BUCKET = 'inbound-media';
const PREFIX = 'mms';
const mm = (n: number) => `MM${String(n).padStart(32, '0')}`;
const me = (n: number, i: number) => `ME${String(n).padStart(30, '0')}${String(i).padStart(2, '0')}`;
const jpeg = (n: number, i: number) =>
  Buffer.concat([Buffer.from('ffd8ffe0', 'hex'), Buffer.alloc(2000 + n * 10 + i, (n * 7 + i) & 0xff)]);

function messages(count: number, perMessage: (n: number) => number): FakeMessage[] {
  return Array.from({ length: count }, (_, k) => {
    const n = k + 1;
    return {
      sid: mm(n),
      to: '+15005550001',
      from: '+15005550006',
      dateSent: new Date(Date.UTC(2026, 10, 2, 8, 0, n)),
      media: Array.from({ length: perMessage(n) }, (_, i) => ({
        sid: me(n, i),
        contentType: 'image/jpeg',
        body: jpeg(n, i),
      })),
    };
  });
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `npm run media:sync -- ARGS` in its own process group (tsx runs it in a child: a kill must reach both), from
 * an empty folder, so the project's own .env and .env.local are not read. */
function startSync(args: string[], cwd: string, env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(
    process.execPath,
    [require.resolve('tsx/cli'), path.join(PROJECT_ROOT, 'src/commands/media-sync.ts'), ...args],
    { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

describe('npm run media:sync (the command, spawned)', () => {
  let api: FakeTwilioApi;
  let s3: S3Front;
  let cwd: string;

  // a new bucket for each test: what one test stored is not "already there" for the next
  beforeEach(async () => {
    s3 = await startS3Front([BUCKET]);
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-sync-cwd-'));
  });
  const children = new Set<ChildProcess>();
  afterEach(async () => {
    // a failed test leaves no command running
    for (const child of children) {
      try {
        if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
    children.clear();
    await api?.close();
    await s3.close();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  const env = (over: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ACCOUNT_SID: AC,
    AUTH_TOKEN: TOKEN,
    TWILIO_API_BASE_URL: api.baseUrl,
    MEDIA_ALLOWED_HOSTS: api.host.host,
    MEDIA_STORE_URL: `s3://${BUCKET}/${PREFIX}`,
    MEDIA_STORE_ENDPOINT: s3.endpoint,
    MEDIA_STORE_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    MEDIA_STORE_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    ...over,
  });

  function start(args: string[], runEnv: NodeJS.ProcessEnv = env()): { child: ChildProcess; done: Promise<Run> } {
    const started = startSync(args, cwd, runEnv);
    children.add(started.child);
    return started;
  }
  const run = (args: string[], runEnv?: NodeJS.ProcessEnv) => start(args, runEnv).done;
  const range = ['--since', '2026-11-01', '--until', '2026-11-30'];
  /** the bucket's media objects (message records aside), under our prefix */
  const mediaKeys = async () => (await s3.listKeys(BUCKET)).filter((k) => !k.endsWith('/message.json'));
  const keyOf = (n: number, i: number) => `${PREFIX}/${AC}/${mm(n)}/${me(n, i)}.jpg`;

  it('stores what is missing (verified by the store), skips what is there, and exits 0', async () => {
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(4, (n) => n), pageSize: 3 });
    // message 1 was kept by its webhook already
    const first = await run(['--since', '2026-11-01', '--until', '2026-11-02T08:00:01Z', '--to', '+15005550001']);
    expect(first.code).toBe(0);
    expect(await mediaKeys()).toEqual([keyOf(1, 0)]);

    const result = await run(range);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // 4 messages, 1 + 2 + 3 + 4 media: 9 stored now, 1 already there
    expect(result.stdout).toMatch(
      /messages\s+media\s+stored\s+already there\s+deleted\s+failed\n4\s+10\s+9\s+1\s+0\s+0/,
    );
    const expected = [1, 2, 3, 4].flatMap((n) => Array.from({ length: n }, (_, i) => keyOf(n, i))).sort();
    expect(await mediaKeys()).toEqual(expected);
    for (const [n, i] of [
      [2, 1],
      [4, 3],
    ]) {
      const object = (await s3.getObject(BUCKET, keyOf(n, i)))!;
      expect(object.body).toEqual(jpeg(n, i));
      expect(object.headers.get('x-amz-meta-sha256')).toBe(sha256Of(jpeg(n, i)));
      expect(object.headers.get('x-amz-meta-message-sid')).toBe(mm(n));
    }
    // every media PUT carried the body's sha256 for the store to check
    const puts = s3.requests.filter((r) => r.method === 'PUT' && !r.url.includes('message.json'));
    expect(puts.length).toBeGreaterThanOrEqual(9);
    expect(puts.every((r) => typeof r.headers['x-amz-checksum-sha256'] === 'string')).toBe(true);
    const record = JSON.parse((await s3.getObject(BUCKET, `${PREFIX}/${AC}/${mm(3)}/message.json`))!.body.toString());
    expect(record.media).toHaveLength(3);
    expect(api.deletedMedia).toEqual([]);
  });

  it('--dry-run lists what it would do and changes nothing', async () => {
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(2, () => 2) });
    const before = await s3.listKeys(BUCKET);
    const result = await run([...range, '--dry-run', '--delete']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('dry run: nothing changed');
    expect(result.stdout).toContain(`would store, would delete: ${mm(2)}/${me(2, 1)} -> ${keyOf(2, 1)}`);
    expect(s3.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([]);
    expect(api.host.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    expect(await s3.listKeys(BUCKET)).toEqual(before);
  });

  it('--delete: nothing deleted while the store fails (exit 1, each item named); once it is back, stored then deleted', async () => {
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(2, () => 2) });
    s3.script('fail', ['PUT']);
    const failing = await run([...range, '--delete']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain(`FAILED ${mm(1)}/${me(1, 0)}: store:`);
    expect(failing.stdout).toMatch(/2\s+4\s+0\s+0\s+0\s+4/);
    expect(api.host.requests.filter((r) => r.method === 'DELETE')).toEqual([]);

    s3.script('pass');
    const ok = await run([...range, '--delete']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/2\s+4\s+4\s+0\s+4\s+0/);
    expect([...api.deletedMedia].sort()).toEqual([me(1, 0), me(1, 1), me(2, 0), me(2, 1)]);
    // what Twilio no longer has, the store has, byte for byte
    for (const [n, i] of [
      [1, 0],
      [1, 1],
      [2, 0],
      [2, 1],
    ])
      expect((await s3.getObject(BUCKET, keyOf(n, i)))!.body).toEqual(jpeg(n, i));
  });

  it('--delete: an empty 200 or a cut body from the media host is retried, never kept, never a reason to delete', async () => {
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(1, () => 2) });
    const [empty, cut] = api.messages.get(mm(1))!.media;
    empty.emptyFetches = 1;
    cut.cutFetches = 1;
    const result = await run([...range, '--delete']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/1\s+2\s+2\s+0\s+2\s+0/);
    // each kept whole, from the retry
    expect((await s3.getObject(BUCKET, keyOf(1, 0)))!.body).toEqual(jpeg(1, 0));
    expect((await s3.getObject(BUCKET, keyOf(1, 1)))!.body).toEqual(jpeg(1, 1));
    expect([...api.deletedMedia].sort()).toEqual([me(1, 0), me(1, 1)]);
  });

  it('--delete: a store refusing the message record deletes nothing and exits 1, each item named', async () => {
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(1, () => 2) });
    s3.script('fail', ['PUT'], 'message.json');
    const result = await run([...range, '--delete']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`FAILED ${mm(1)}/${me(1, 0)}: delete: the message record does not list it`);
    expect(result.stdout).toContain(`FAILED ${mm(1)}/${me(1, 1)}: delete: the message record does not list it`);
    expect(await mediaKeys()).toEqual([keyOf(1, 0), keyOf(1, 1)]);
    expect(api.host.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });

  it('a message record that cannot be written is a failure: exit 1, the message named', async () => {
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(1, () => 1) });
    s3.script('fail', ['PUT'], 'message.json');
    const result = await run(range);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`FAILED ${mm(1)}: message record: the store answered 500`);
    expect(await mediaKeys()).toEqual([keyOf(1, 0)]);
  });

  it('--delete --timeout: a DELETE never answered and a store that hangs fail their items by name; the run ends', async () => {
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(2, () => 2) });
    api.messages.get(mm(1))!.media[0].hangDeletes = 1;
    const stuck = await run([...range, '--delete', '--timeout', '2', '--concurrency', '1']);
    expect(stuck.code).toBe(1);
    expect(stuck.stdout).toContain(
      `FAILED ${mm(1)}/${me(1, 0)}: delete: no answer to the DELETE within 2000 ms; the media stays at Twilio`,
    );
    expect([...api.deletedMedia].sort()).toEqual([me(1, 1), me(2, 0), me(2, 1)]);

    // the store stops answering its PUTs: every item still to keep fails by name
    api.messages.get(mm(1))!.media[0].hangDeletes = 0;
    const more = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(3, () => 1) });
    await api.close();
    api = more;
    s3.script('hang', ['PUT']);
    const hanging = await run([...range, '--timeout', '2']);
    expect(hanging.code).toBe(1);
    expect(hanging.stdout).toContain(`FAILED ${mm(3)}/${me(3, 0)}: store: no answer from the store in time`);
  });

  it('a store that corrupts the bytes is refused by its checksum: exit 1, nothing kept, nothing deleted', async () => {
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(1, () => 1) });
    s3.script('corrupt', ['PUT']);
    const result = await run([...range, '--delete']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAILED .*store: .*(400|BadDigest|XAmzContentSHA256Mismatch)/);
    expect(await mediaKeys()).not.toContain(keyOf(1, 0));
    expect(api.deletedMedia).toEqual([]);
  });

  it('exit 2 names the flag or variable at fault, before any request', async () => {
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(1, () => 1) });
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--until', '2026-11-30'], env(), /--since is needed/],
      [[...range, '--bogus'], env(), /unknown option "--bogus"/],
      [range, env({ MEDIA_STORE_URL: 'ftp://x' }), /MEDIA_STORE_URL: "ftp:\/\/x" is neither/],
      [range, env({ AUTH_TOKEN: '' }), /AUTH_TOKEN is not set, but ACCOUNT_SID is/],
      [range, env({ MEDIA_STORE_URL: 'none' }), /MEDIA_STORE_URL is none: media:sync has nowhere to keep media/],
      [range, env({ MEDIA_ALLOWED_HOSTS: 'api.twilio.com' }), /MEDIA_ALLOWED_HOSTS does not allow 127\.0\.0\.1/],
      [range, env({ AUTH_TOKEN: 'wrong-token' }), /Twilio answered 401.*check ACCOUNT_SID and AUTH_TOKEN/],
    ];
    for (const [args, runEnv, message] of cases) {
      const result = await run(args, runEnv);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain(TOKEN);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(s3.requests).toEqual([]);
  });

  it('resumes after being killed halfway: all kept, nothing duplicated or lost', async () => {
    const count = 40;
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(count, () => 1) });
    for (const m of api.messages.values()) m.media[0].delayMs = 60;
    const { child, done } = start([...range, '--delete', '--concurrency', '2']);
    // kill it once a part is stored and deleted, with more to go
    const deadline = Date.now() + 90_000;
    while (api.deletedMedia.length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    process.kill(-child.pid!, 'SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    const keptBefore = (await mediaKeys()).length;
    expect(keptBefore).toBeGreaterThanOrEqual(8);
    expect(keptBefore).toBeLessThan(count);
    // every item deleted so far has its verified copy
    for (const sid of api.deletedMedia) {
      const n = Number(sid.slice(2, 32));
      const object = (await s3.getObject(BUCKET, keyOf(n, 0)))!;
      expect(sha256Of(object.body)).toBe(sha256Of(jpeg(n, 0)));
    }

    for (const m of api.messages.values()) m.media[0].delayMs = 0;
    const resumed = await run([...range, '--delete']);
    expect(resumed.code).toBe(0);
    const keys = await mediaKeys();
    expect(keys).toEqual(Array.from({ length: count }, (_, k) => keyOf(k + 1, 0)).sort());
    for (let n = 1; n <= count; n += 1) {
      expect((await s3.getObject(BUCKET, keyOf(n, 0)))!.body).toEqual(jpeg(n, 0));
    }
    // deleted once each, every one of them
    expect(api.deletedMedia).toHaveLength(count);
    expect(new Set(api.deletedMedia).size).toBe(count);
    // a third run finds nothing to do
    const third = await run([...range, '--delete']);
    expect(third.code).toBe(0);
    expect(third.stdout).toMatch(new RegExp(`${count}\\s+0\\s+0\\s+0\\s+0\\s+0`));
  });
});

describe('a store outage during the webhook, then media:sync', () => {
  let api: FakeTwilioApi;
  let s3: S3Front;
  let runtime: RunningRuntime;
  const messageSid = `MM${'a'.repeat(32)}`;
  const mediaSids = [0, 1].map((i) => `ME${'b'.repeat(30)}0${i}`);
  const bodies = mediaSids.map((_, i) => jpeg(90, i));
  const storeEnv = () => ({
    MEDIA_STORE_URL: `s3://${BUCKET}/${PREFIX}`,
    MEDIA_STORE_ENDPOINT: s3.endpoint,
    MEDIA_STORE_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    MEDIA_STORE_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    MEDIA_ALLOWED_HOSTS: api.host.host,
  });

  beforeAll(async () => {
    s3 = await startS3Front([BUCKET]);
    api = await startFakeTwilioApi({
      accountSid: TEST_ACCOUNT_SID,
      authToken: TEST_AUTH_TOKEN,
      messages: [
        {
          sid: messageSid,
          to: '+15005550001',
          from: '+15005550006',
          dateSent: new Date(),
          media: mediaSids.map((sid, i) => ({ sid, contentType: 'image/jpeg', body: bodies[i] })),
        },
      ],
    });
    runtime = await startRuntime({
      env: { ...storeEnv(), MEDIA_FETCH_DEADLINE_MS: '3000', MEDIA_DELETE_AFTER_STORE: 'true' },
    });
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
    await api?.close();
    await s3?.close();
  });

  it('the webhook answers TwiML and deletes nothing while the store fails; media:sync then keeps every item and deletes', async () => {
    s3.script('fail', ['PUT']);
    const params: Record<string, string> = {
      MessageSid: messageSid,
      AccountSid: TEST_ACCOUNT_SID,
      From: '+15005550006',
      To: '+15005550001',
      NumMedia: '2',
    };
    mediaSids.forEach((sid, i) => {
      params[`MediaUrl${i}`] =
        `${api.baseUrl}/2010-04-01/Accounts/${TEST_ACCOUNT_SID}/Messages/${messageSid}/Media/${sid}`;
      params[`MediaContentType${i}`] = 'image/jpeg';
    });
    const res = await postSignedWebhook(runtime, '/mms/inbound', params);
    expect(res.status).toBe(200);
    await runtime.quiet();
    const failed = runtime
      .output()
      .split('\n')
      .filter((l) => l.includes('"event":"media_store"') && l.includes('"outcome":"store_failed"'));
    expect(failed).toHaveLength(2);
    expect(api.host.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    expect(await s3.listKeys(BUCKET)).toEqual([]);

    s3.script('pass');
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-sync-cwd-'));
    try {
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const result = await startSync(['--since', since, '--delete'], cwd, {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ACCOUNT_SID: TEST_ACCOUNT_SID,
        AUTH_TOKEN: TEST_AUTH_TOKEN,
        TWILIO_API_BASE_URL: api.baseUrl,
        ...storeEnv(),
      }).done;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/1\s+2\s+2\s+0\s+2\s+0/);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
    for (const [i, sid] of mediaSids.entries()) {
      const object = (await s3.getObject(BUCKET, `${PREFIX}/${TEST_ACCOUNT_SID}/${messageSid}/${sid}.jpg`))!;
      expect(object.body).toEqual(bodies[i]);
    }
    expect([...api.deletedMedia].sort()).toEqual([...mediaSids].sort());
  });
});
