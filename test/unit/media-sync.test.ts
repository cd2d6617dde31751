import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../../src/commands/args';
import { main, parseArgs } from '../../src/commands/media-sync';
import type { LogRecord } from '../../src/lib/log';
import type { MediaStore } from '../../src/lib/storage/media-store';
import { keepMediaItem, MessageRecord, recordMessage } from '../../src/lib/keep/media';
import { syncMedia, SyncOptions } from '../../src/lib/sync/media';
import { restApi } from '../../src/lib/sync/twilio-messages';
import { LocalFolderStore, ObjectStore, sha256Of, StoreError } from '../../src/lib/storage/store';
import { FakeMessage, FakeTwilioApi, startFakeTwilioApi } from '../support/fake-twilio-api';

const AC = 'AC' + '4'.repeat(32);
const TOKEN = 'sync-engine-token';
const mm = (n: number) => `MM${String(n).padStart(32, '0')}`;
const me = (n: number, i: number) => `ME${String(n).padStart(30, '0')}${String(i).padStart(2, '0')}`;
const png = (n: number, i: number) =>
  Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from(`item ${n}-${i}`)]);

function messages(): FakeMessage[] {
  const media = (n: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ sid: me(n, i), contentType: 'image/png', body: png(n, i) }));
  return [
    {
      sid: mm(1),
      to: '+15005550001',
      from: '+15005550006',
      body: 'claim photo',
      dateSent: new Date('2026-11-02T08:00:00Z'),
      media: media(1, 1),
    },
    {
      sid: mm(2),
      to: '+15005550001',
      from: '+15005550007',
      dateSent: new Date('2026-11-02T09:00:00Z'),
      media: media(2, 3),
    },
    {
      sid: mm(3),
      to: '+15005550001',
      from: '+15005550008',
      dateSent: new Date('2026-11-03T10:00:00Z'),
      media: media(3, 2),
    },
  ];
}

/** The folder store, with a put that fails while `failing` says so (a store outage). */
class FlakyStore implements MediaStore {
  failing = false;
  constructor(private readonly inner: MediaStore) {}
  get description() {
    return this.inner.description;
  }
  get prefix() {
    return this.inner.prefix;
  }
  put: ObjectStore['put'] = (key, body, options) => {
    if (this.failing) return Promise.reject(new StoreError('the store answered 503 Slow Down', 503));
    return this.inner.put(key, body, options);
  };
  inspect: ObjectStore['inspect'] = (key, options) => this.inner.inspect(key, options);
  readText: ObjectStore['readText'] = (name, options) => this.inner.readText(name, options);
  writeText: ObjectStore['writeText'] = (name, text, options) => this.inner.writeText(name, text, options);
  readVersioned: MediaStore['readVersioned'] = (name, options) => this.inner.readVersioned(name, options);
  writeTextIf: MediaStore['writeTextIf'] = (name, text, version, options) =>
    this.inner.writeTextIf(name, text, version, options);
}

describe('syncMedia against the fake REST API and a folder store', () => {
  let api: FakeTwilioApi;
  let dir: string;
  let store: FlakyStore;
  const logs: LogRecord[] = [];
  beforeEach(async () => {
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(), pageSize: 2 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-sync-'));
    store = new FlakyStore(new LocalFolderStore(dir));
    logs.length = 0;
  });
  afterEach(async () => {
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const options = (over: Partial<SyncOptions> = {}): SyncOptions => ({
    accountSid: AC,
    apiBase: api.baseUrl,
    get: restApi({ base: api.baseUrl, auth: { username: AC, password: TOKEN }, sleep: async () => {} }),
    store,
    range: { since: new Date('2026-11-01T00:00:00Z'), until: new Date('2026-11-30T23:59:59Z') },
    dryRun: false,
    delete: false,
    concurrency: 2,
    auth: { username: AC, password: TOKEN },
    allowedHosts: [api.host.host],
    redirectAllowedHosts: [api.host.host],
    messageFields: [],
    downloadTimeoutMs: 3000,
    pageSize: 2,
    log: (r) => logs.push(r),
    ...over,
  });
  const objectFile = (n: number, i: number) => path.join(dir, AC, mm(n), `${me(n, i)}.png`);
  const downloads = () => api.host.requests.filter((r) => r.method === 'GET' && /\/Media\/ME\w+$/.test(r.url));
  const allItems = [
    [1, 0],
    [2, 0],
    [2, 1],
    [2, 2],
    [3, 0],
    [3, 1],
  ] as const;

  it('stores every item under its key, verified, with the message record; a re-run downloads nothing', async () => {
    const first = await syncMedia(options());
    expect(first).toMatchObject({ messages: 3, media: 6, stored: 6, alreadyStored: 0, deleted: 0, failed: 0 });
    for (const [n, i] of allItems) expect(fs.readFileSync(objectFile(n, i))).toEqual(png(n, i));
    const record = JSON.parse(fs.readFileSync(path.join(dir, AC, mm(2), 'message.json'), 'utf8'));
    expect(record).toMatchObject({
      accountSid: AC,
      messageSid: mm(2),
      receivedAt: expect.stringMatching(/^2026-11-02T/),
    });
    expect(record.media.map((m: { mediaSid: string; sha256: string }) => [m.mediaSid, m.sha256])).toEqual(
      [0, 1, 2].map((i) => [me(2, i), sha256Of(png(2, i))]),
    );
    // personal data only when configured
    expect(record).not.toHaveProperty('From');
    expect(record).not.toHaveProperty('Body');
    expect(logs.filter((l) => l.event === 'media_store' && l.outcome === 'stored')).toHaveLength(6);
    expect(downloads()).toHaveLength(6);

    api.host.requests.length = 0;
    const again = await syncMedia(options());
    expect(again).toMatchObject({ messages: 3, media: 6, stored: 0, alreadyStored: 6, failed: 0 });
    expect(downloads()).toHaveLength(0);
    expect(api.deletedMedia).toEqual([]);
  });

  it('records no MediaUrlN number it cannot know: one entry per Media SID, the webhook index kept, none guessed', async () => {
    // the webhook kept item 0 of message 2 (MediaUrl0) and deleted it at Twilio: Media.json now lists 1 and 2 only
    const url = (i: number) => `${api.baseUrl}/2010-04-01/Accounts/${AC}/Messages/${mm(2)}/Media/${me(2, i)}`;
    const webhookKeep = (i: number) =>
      keepMediaItem({
        store,
        accountSid: AC,
        messageSid: mm(2),
        index: i,
        mediaUrl: url(i),
        contentType: 'image/png',
        body: png(2, i),
        receivedAt: Date.parse('2026-11-02T09:00:00Z'),
        log: () => undefined,
      });
    const webhookRecord = async (i: number) =>
      recordMessage({
        store,
        accountSid: AC,
        messageSid: mm(2),
        receivedAt: Date.parse('2026-11-02T09:00:00Z'),
        kept: [await webhookKeep(i)],
        params: {},
        fields: [],
        log: () => undefined,
      });
    await webhookRecord(0);
    api.messages.get(mm(2))!.media[0].deletedAt = Date.now();

    expect(await syncMedia(options())).toMatchObject({ stored: 5, failed: 0 });
    const read = () =>
      (JSON.parse(fs.readFileSync(path.join(dir, AC, mm(2), 'message.json'), 'utf8')) as MessageRecord).media.map(
        (m) => [m.mediaSid, m.index],
      );
    expect(read()).toEqual([
      [me(2, 0), 0],
      [me(2, 1), undefined],
      [me(2, 2), undefined],
    ]);
    const syncLines = logs.filter((l) => l.event === 'media_store' && l.messageSid === mm(2));
    expect(syncLines.map((l) => 'index' in l)).toEqual([false, false]);

    // a later redelivery of the webhook knows item 1's number: the entry gains it, nothing is duplicated
    await webhookRecord(1);
    expect(read()).toEqual([
      [me(2, 0), 0],
      [me(2, 1), 1],
      [me(2, 2), undefined],
    ]);
  });

  it('copies From, To and Body into the record only when MEDIA_STORE_MESSAGE_FIELDS names them', async () => {
    await syncMedia(options({ messageFields: ['From', 'Body'] }));
    const record = JSON.parse(fs.readFileSync(path.join(dir, AC, mm(1), 'message.json'), 'utf8'));
    expect(record).toMatchObject({ From: '+15005550006', Body: 'claim photo' });
    expect(record).not.toHaveProperty('To');
  });

  it('--dry-run lists what it would store and delete, and changes nothing', async () => {
    const result = await syncMedia(options({ dryRun: true, delete: true }));
    expect(result).toMatchObject({ dryRun: true, media: 6, stored: 0, wouldStore: 6, wouldDelete: 6, failed: 0 });
    expect(result.planned.map((p) => `${p.mediaSid} ${p.actions.join('+')}`)).toEqual(
      expect.arrayContaining(allItems.map(([n, i]) => `${me(n, i)} would_store+would_delete`)),
    );
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(downloads()).toHaveLength(0);
    expect(api.host.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('--delete deletes each item from Twilio only after its verified copy, and a re-run has nothing left', async () => {
    const result = await syncMedia(options({ delete: true }));
    expect(result).toMatchObject({ stored: 6, deleted: 6, failed: 0 });
    expect([...api.deletedMedia].sort()).toEqual(allItems.map(([n, i]) => me(n, i)).sort());
    // each DELETE came after that item's object was complete on disk
    for (const [n, i] of allItems) {
      const del = api.host.requests.find((r) => r.method === 'DELETE' && r.url.endsWith(me(n, i)))!;
      expect(fs.statSync(objectFile(n, i)).mtimeMs).toBeLessThanOrEqual(del.at);
    }
    const again = await syncMedia(options({ delete: true }));
    expect(again).toMatchObject({ messages: 3, media: 0, stored: 0, deleted: 0, failed: 0 });
  });

  it('a store outage deletes nothing and names every item; the next run stores and deletes them', async () => {
    store.failing = true;
    const result = await syncMedia(options({ delete: true }));
    expect(result).toMatchObject({ stored: 0, deleted: 0, failed: 6 });
    expect(result.failures[0].problem).toMatch(/^store: .*503/);
    expect(api.host.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    expect(logs.filter((l) => l.outcome === 'store_failed')).toHaveLength(6);
    store.failing = false;
    expect(await syncMedia(options({ delete: true }))).toMatchObject({ stored: 6, deleted: 6, failed: 0 });
  });

  it('a DELETE Twilio never answers fails its item by name after the request timeout; the run goes on', async () => {
    api.messages.get(mm(2))!.media[1].hangDeletes = 1;
    const result = await syncMedia(options({ delete: true, requestTimeoutMs: 500 }));
    expect(result).toMatchObject({ stored: 6, deleted: 5, failed: 1 });
    expect(result.failures).toEqual([
      expect.objectContaining({
        mediaSid: me(2, 1),
        problem: 'delete: no answer to the DELETE within 500 ms; the media stays at Twilio',
      }),
    ]);
    expect(await syncMedia(options({ delete: true }))).toMatchObject({ deleted: 1, failed: 0 });
  });

  it('an object with other bytes under the key is a conflict: not overwritten, not deleted', async () => {
    const file = objectFile(1, 0);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'someone else');
    const result = await syncMedia(options({ delete: true }));
    expect(result).toMatchObject({ stored: 5, deleted: 5, failed: 1 });
    expect(result.failures).toEqual([
      expect.objectContaining({
        messageSid: mm(1),
        mediaSid: me(1, 0),
        actions: ['conflict'],
        problem: expect.stringMatching(/^conflict: /),
      }),
    ]);
    expect(fs.readFileSync(file, 'utf8')).toBe('someone else');
    expect(api.deletedMedia).not.toContain(me(1, 0));
  });

  it("--delete compares the stored bytes with Twilio's before deleting: a consistent object of other bytes is a conflict", async () => {
    // an object and a record that agree with each other, but not with what Twilio holds for this Media SID
    const other = Buffer.from('other bytes under the same key');
    const file = objectFile(1, 0);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, other);
    fs.writeFileSync(
      path.join(path.dirname(file), 'message.json'),
      JSON.stringify({
        accountSid: AC,
        messageSid: mm(1),
        receivedAt: 'x',
        media: [
          {
            index: 0,
            mediaSid: me(1, 0),
            key: `${AC}/${mm(1)}/${me(1, 0)}.png`,
            bytes: other.length,
            contentType: 'image/png',
            sha256: sha256Of(other),
          },
        ],
      }),
    );
    // without --delete the store's own agreement is enough to skip it
    expect(
      await syncMedia(
        options({ range: { since: new Date('2026-11-02T00:00:00Z'), until: new Date('2026-11-02T08:30:00Z') } }),
      ),
    ).toMatchObject({ media: 1, alreadyStored: 1 });
    const result = await syncMedia(options({ delete: true }));
    expect(result.failures).toEqual([expect.objectContaining({ mediaSid: me(1, 0), actions: ['conflict'] })]);
    expect(api.deletedMedia).not.toContain(me(1, 0));
    expect(api.deletedMedia).toHaveLength(5);
    expect(fs.readFileSync(file)).toEqual(other);
  });

  it('waits through a 404 window; an item Twilio keeps failing is named and the rest are kept', async () => {
    api.messages.get(mm(1))!.media[0].availableAt = Date.now() + 700;
    api.messages.get(mm(3))!.media[1].failFetches = 1000;
    const result = await syncMedia(options({ downloadTimeoutMs: 2500 }));
    expect(result).toMatchObject({ stored: 5, failed: 1 });
    expect(fs.readFileSync(objectFile(1, 0))).toEqual(png(1, 0));
    expect(result.failures).toEqual([
      expect.objectContaining({ messageSid: mm(3), mediaSid: me(3, 1), problem: expect.stringMatching(/^download: /) }),
    ]);
  });

  it('a refused delete is named and done by the next run', async () => {
    api.messages.get(mm(2))!.media[1].failDeletes = 1;
    const result = await syncMedia(options({ delete: true }));
    expect(result).toMatchObject({ stored: 6, deleted: 5, failed: 1 });
    expect(result.failures[0]).toMatchObject({ mediaSid: me(2, 1), problem: expect.stringMatching(/^delete: .*500/) });
    const again = await syncMedia(options({ delete: true }));
    expect(again).toMatchObject({ media: 1, alreadyStored: 1, deleted: 1, failed: 0 });
  });
});

describe('media:sync main (in process, folder store)', () => {
  it('prints progress on stderr while it runs and the summary as JSON', async () => {
    const api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages() });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-sync-main-'));
    for (const m of api.messages.values()) for (const x of m.media) x.delayMs = 40;
    const out: string[] = [];
    const err: string[] = [];
    try {
      const code = await main(['--since', '2026-11-01', '--until', '2026-11-30', '--json', '--concurrency', '1'], {
        env: {
          ACCOUNT_SID: AC,
          AUTH_TOKEN: TOKEN,
          TWILIO_API_BASE_URL: api.baseUrl,
          MEDIA_ALLOWED_HOSTS: api.host.host,
          MEDIA_STORE_URL: `folder:${dir}`,
        },
        out: (t) => out.push(t),
        err: (t) => err.push(t),
        progressEveryMs: 50,
      });
      expect(code).toBe(0);
      const summary = JSON.parse(out.join('\n'));
      expect(summary).toMatchObject({ store: `folder ${dir}`, messages: 3, media: 6, stored: 6, failed: 0 });
      expect(err.length).toBeGreaterThan(0);
      expect(
        err.every((l) =>
          /^media:sync: \d+ messages, \d+ media: \d+ stored, \d+ already there, \d+ deleted, 0 failed \(\d+ s\)$/.test(
            l,
          ),
        ),
      ).toBe(true);
    } finally {
      await api.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('media:sync arguments', () => {
  const now = () => new Date('2026-12-01T10:00:00Z');
  it('reads the range, the number and the switches', () => {
    expect(
      parseArgs(
        [
          '--since',
          '2026-11-01',
          '--until',
          '2026-11-02',
          '--to',
          '+15005550001',
          '--delete',
          '--dry-run',
          '--concurrency',
          '8',
          '--timeout',
          '5',
        ],
        now,
      ),
    ).toEqual({
      since: new Date('2026-11-01T00:00:00.000Z'),
      until: new Date('2026-11-02T23:59:59.999Z'),
      to: '+15005550001',
      delete: true,
      dryRun: true,
      concurrency: 8,
      timeoutMs: 5000,
      json: false,
      verbose: false,
    });
    expect(parseArgs(['--since', '2026-11-01T10:00:00+01:00'], now)).toMatchObject({
      since: new Date('2026-11-01T09:00:00Z'),
      until: now(),
      concurrency: 4,
    });
  });

  it.each([
    [[], /--since is needed/],
    [['--since', '2026-02-30'], /--since: "2026-02-30" is not a date/],
    [['--since', 'yesterday'], /--since: "yesterday"/],
    [['--since', '2026-11-05', '--until', '2026-11-01'], /--since .* is after --until/],
    [['--since', '2026-11-01', '--to', '5550001x'], /--to: "5550001x" is not a number in E.164/],
    [['--since', '2026-11-01', '--concurrency', '0'], /--concurrency: "0"/],
    [['--since', '2026-11-01', '--concurrency', '17'], /--concurrency: "17"/],
    [['--since', '2026-11-01', '--yes'], /unknown option "--yes"/],
    [['--since'], /--since needs a value/],
  ])('%j is refused naming the flag', (argv, message) => {
    expect(() => parseArgs(argv, now)).toThrow(UsageError);
    expect(() => parseArgs(argv, now)).toThrow(message);
  });
});
