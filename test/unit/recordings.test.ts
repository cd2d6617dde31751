import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { archiveRecordings, purgeRecordings, recordOf, twilioRecordingSource } from '../../src/lib/recordings/archive';
import { recordingRecordKey } from '../../src/lib/keep/recording-record';
import { keepRecording } from '../../src/lib/keep/recording';
import { LocalFolderStore, ObjectStore } from '../../src/lib/storage/store';
import { twilioClientFrom } from '../../src/lib/recordings/client';
import { summarize } from '../../src/lib/recordings/model';
import { FakeRecording, FakeTwilioApi, startFakeTwilioApi, wav } from '../support/fake-twilio-api';

const SID = 'AC22222222222222222222222222222222';
const TOKEN = 'recordings-test-token';
const day = (d: number) => new Date(Date.UTC(2026, 10, d, 12, 0, 0));
const re = (n: number) => `RE${String(n).padStart(32, '0')}`;
const ca = (n: number) => `CA${String(n).padStart(32, '0')}`;

function recordings(): FakeRecording[] {
  return [
    { sid: re(1), callSid: ca(1), dateCreated: day(1), duration: '12', status: 'completed', audio: wav(1) },
    { sid: re(2), callSid: ca(2), dateCreated: day(2), duration: '30', status: 'completed', audio: wav(2, 4000) },
    {
      sid: re(3),
      callSid: ca(3),
      dateCreated: day(3),
      duration: '7',
      status: 'completed',
      audio: wav(3),
      mediaUrl: 'https://my-bucket.s3.amazonaws.com/RE3.wav',
    },
    {
      sid: re(4),
      callSid: ca(4),
      dateCreated: day(4),
      duration: '-1',
      status: 'absent',
      errorCode: 13617,
      audio: Buffer.alloc(0),
    },
    {
      sid: re(5),
      callSid: ca(5),
      dateCreated: day(5),
      duration: '20',
      status: 'deleted',
      dateUpdated: day(6),
      audio: Buffer.alloc(0),
    },
    {
      sid: re(6),
      callSid: ca(6),
      dateCreated: day(6),
      duration: '5',
      status: 'completed',
      audio: wav(6),
      availableAt: Date.now() + 600,
    },
  ];
}

describe('recordings against a fake Twilio REST API, through the real twilio client', () => {
  let api: FakeTwilioApi;
  let dir: string;
  let store: LocalFolderStore;
  const logs: Record<string, unknown>[] = [];
  const env = () => ({
    ACCOUNT_SID: SID,
    AUTH_TOKEN: TOKEN,
    TWILIO_API_BASE_URL: api.baseUrl,
    MEDIA_ALLOWED_HOSTS: api.host.host,
  });
  const source = () => twilioRecordingSource(env());
  const log = (r: Record<string, unknown>) => logs.push(r);
  const archive = (range = {}, timeoutMs = 5000, to: ObjectStore = store) =>
    archiveRecordings({ source: source(), store: to, range, log, format: 'wav', timeoutMs });
  const file = (n: number) => path.join(dir, SID, ca(n), `${re(n)}.wav`);

  beforeEach(async () => {
    api = await startFakeTwilioApi({ accountSid: SID, authToken: TOKEN, recordings: recordings(), pageSize: 2 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-rec-'));
    store = new LocalFolderStore(dir);
    logs.length = 0;
  });
  afterEach(async () => {
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists every page and says where each recording lives', async () => {
    const all = await twilioClientFrom(env()).recordings.list({ pageSize: 1000 });
    expect(all.map((r) => r.sid).sort()).toEqual([1, 2, 3, 4, 5, 6].map(re));
    expect(
      api.host.requests.filter((r) => r.url.startsWith(`/2010-04-01/Accounts/${SID}/Recordings.json`)),
    ).toHaveLength(3);
    const byId = Object.fromEntries(all.map((r) => [r.sid, summarize(r)]));
    expect(byId[re(1)]).toMatchObject({
      mediaLocation: 'twilio',
      durationSeconds: 12,
      dateCreated: day(1).toISOString(),
      callSid: ca(1),
    });
    expect(byId[re(3)]).toMatchObject({ mediaLocation: 'external', mediaHost: 'my-bucket.s3.amazonaws.com' });
    expect(byId[re(4)]).toMatchObject({ mediaLocation: 'none', errorCode: 13617, durationSeconds: null });
    expect(byId[re(5)]).toMatchObject({
      mediaLocation: 'deleted',
      metadataPurgedAt: new Date(day(6).getTime() + 40 * 86_400_000).toISOString(),
    });
  });

  it("keeps what Twilio holds in the media store under the callback's keys, verified, with its record", async () => {
    const result = await archive();
    expect(result.archived.sort()).toEqual([re(1), re(2), re(6)]);
    expect(result.failed).toEqual([]);
    expect(result.skipped.map((s) => s.sid).sort()).toEqual([re(3), re(4), re(5)]);
    expect(fs.readFileSync(file(2)).equals(api.recordings.get(re(2))!.audio)).toBe(true);
    expect(await recordOf(store, SID, re(2))).toMatchObject({
      key: `${SID}/${ca(2)}/${re(2)}.wav`,
      bytes: 4044,
      callSid: ca(2),
      durationSeconds: 30,
      keptBy: 'archive',
    });
    const wavRequests = api.host.requests.filter((r) => r.url.endsWith(`${re(6)}.wav`));
    expect(wavRequests.length).toBeGreaterThan(1); // 404 first, then the audio
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });

  it('never keeps a partial download, and an interrupted archive resumes without duplicates or loss', async () => {
    api.recordings.get(re(2))!.cutDownloads = 1000; // every download of RE2 is cut half way
    api.recordings.get(re(6))!.availableAt = 0;
    let failRecordWrite = true;
    const crashing: ObjectStore = {
      description: store.description,
      prefix: store.prefix,
      put: (k, b, o) => store.put(k, b, o),
      putFile: (k, f, o) => store.putFile(k, f, o),
      inspect: (k) => store.inspect(k),
      readText: (n) => store.readText(n),
      // the run "dies" after storing the first recording (the newest, RE6) but before its record is written
      writeText: async (n, t) => {
        if (failRecordWrite) {
          failRecordWrite = false;
          throw new Error('interrupted');
        }
        return store.writeText(n, t);
      },
    };
    const first = await archive({}, 800, crashing);
    expect(first.failed.map((f) => f.sid).sort()).toEqual([re(2), re(6)]);
    expect(fs.existsSync(file(2))).toBe(false); // never a partial file
    expect(fs.existsSync(file(6))).toBe(true); // stored, but without its record: not kept yet
    expect(await recordOf(store, SID, re(6))).toBeUndefined();

    api.recordings.get(re(2))!.cutDownloads = 0;
    const second = await archive();
    // RE6's object was already there, whole: its record is written now, nothing stored twice
    expect(second.archived).toEqual([re(2)]);
    expect(second.alreadyArchived.sort()).toEqual([re(1), re(6)]);
    expect(await recordOf(store, SID, re(6))).toMatchObject({ sha256: expect.any(String), keptBy: 'archive' });
    const third = await archive();
    expect(third.archived).toEqual([]);
    expect(third.alreadyArchived.sort()).toEqual([re(1), re(2), re(6)]);
    expect(fs.readdirSync(path.join(dir, SID, 'recordings')).sort()).toEqual(
      [re(1), re(2), re(6)].map((s) => `${s}.json`),
    );
  });

  it('keeps dual-channel recordings dual-channel, and the MP3 Twilio serves with RECORDINGS_FORMAT=mp3', async () => {
    api.recordings.get(re(1))!.channels = 2;
    const result = await archive({ until: day(2) });
    expect(result.archived.sort()).toEqual([re(1), re(2)]);
    const wavAsked = (n: number) => api.host.requests.filter((r) => r.url.includes(`${re(n)}.wav`)).map((r) => r.url);
    // only a dual-channel recording is asked for both channels (a mono one would be refused: 16113)
    expect(wavAsked(1).every((u) => u.endsWith('.wav?RequestedChannels=2'))).toBe(true);
    expect(wavAsked(2).every((u) => u.endsWith('.wav'))).toBe(true);
    expect(await recordOf(store, SID, re(1))).toMatchObject({ channels: 2 });

    const mp3 = Buffer.from('ID3\u0004 an mp3 body of some bytes');
    api.recordings.get(re(6))!.mp3 = mp3;
    api.recordings.get(re(6))!.availableAt = 0;
    const asMp3 = await archiveRecordings({
      source: source(),
      store,
      range: { since: day(6) },
      log,
      format: 'mp3',
      timeoutMs: 5000,
    });
    expect(asMp3.archived).toEqual([re(6)]);
    expect(fs.readFileSync(path.join(dir, SID, ca(6), `${re(6)}.mp3`)).equals(mp3)).toBe(true);
    expect(await recordOf(store, SID, re(6))).toMatchObject({
      format: 'mp3',
      contentType: 'audio/mpeg',
      key: `${SID}/${ca(6)}/${re(6)}.mp3`,
      bytes: mp3.length,
    });
  });

  it('two keeps of one recording at once (a redelivery racing the callback) store it once, with one record', async () => {
    api.recordings.get(re(1))!.channels = 1;
    const keep = (keptBy: 'callback' | 'archive') =>
      keepRecording({
        store,
        settings: { format: 'wav', deleteAfterStore: true },
        recording: { accountSid: SID, callSid: ca(1), recordingSid: re(1), mediaUrl: source().mediaUrlOf(re(1)) },
        fetch: source().fetch,
        fetchDeadlineAt: Date.now() + 5000,
        deadlineAt: Date.now() + 10_000,
        keptBy,
        receivedAt: Date.now(),
        log,
      });
    const [a, b] = await Promise.all([keep('callback'), keep('archive')]);
    expect([a.outcome, b.outcome].sort()).toEqual(['already_stored', 'stored']);
    expect(api.deleted).toEqual([re(1)]);
    const record = (await recordOf(store, SID, re(1)))!;
    expect(record).toMatchObject({ bytes: api.recordings.get(re(1))!.audio.length, deletedAt: expect.any(String) });
    expect(fs.readdirSync(path.join(dir, SID, ca(1)))).toEqual([`${re(1)}.wav`]);
  });

  it('filters by date', async () => {
    const result = await archive({ since: day(2), until: day(3) });
    expect(result.archived).toEqual([re(2)]);
  });

  it('purges only verified copies: dry run first, refuses unkept, missing and altered copies, notes the deletion', async () => {
    await archive({ until: day(2) });
    await archive({ since: day(6) });
    // RE2's copy altered, RE6's copy deleted behind the store's back
    fs.appendFileSync(file(2), 'x');
    fs.rmSync(file(6));

    const dry = await purgeRecordings({ source: source(), store, range: {}, yes: false, log });
    expect(dry).toMatchObject({ dryRun: true, deleted: [], wouldDelete: [re(1)] });
    expect(api.deleted).toEqual([]);

    const now = new Date('2026-11-24T23:00:00.000Z');
    const done = await purgeRecordings({ source: source(), store, range: {}, yes: true, log, now: () => now });
    expect(done.deleted).toEqual([re(1)]);
    expect(api.deleted).toEqual([re(1)]);
    expect(Object.fromEntries(done.refused.map((r) => [r.sid, r.reason]))).toEqual({
      [re(2)]: `kept copy ${SID}/${ca(2)}/${re(2)}.wav does not match its record`,
      [re(6)]: `kept copy ${SID}/${ca(6)}/${re(6)}.wav is missing from ${store.description}`,
    });
    expect(await recordOf(store, SID, re(1))).toMatchObject({
      deletedAt: now.toISOString(),
      metadataPurgedAt: '2027-01-03T23:00:00.000Z',
      key: `${SID}/${ca(1)}/${re(1)}.wav`,
    });
  });

  it("never deletes a recording on the strength of another one's copy (a record copied by hand)", async () => {
    await archive({ until: day(1) });
    // RE2 was never kept; someone copies RE1's record (naming RE1's verified object) under RE2's name, and also
    // writes one for RE6 that says it is RE6 but points at RE1's object
    const one = (await recordOf(store, SID, re(1)))!;
    await store.writeText(recordingRecordKey(SID, re(2)), JSON.stringify(one));
    await store.writeText(
      recordingRecordKey(SID, re(6)),
      JSON.stringify({ ...one, recordingSid: re(6), callSid: ca(6) }),
    );
    const done = await purgeRecordings({ source: source(), store, range: {}, yes: true, log });
    expect(done.deleted).toEqual([re(1)]);
    expect(api.deleted).toEqual([re(1)]);
    const reasons = Object.fromEntries(done.refused.map((r) => [r.sid, r.reason]));
    expect(reasons[re(2)]).toMatch(/^not kept: its record names recording RE0+1$/);
    expect(reasons[re(6)]).toMatch(/^not kept: its record names the object .*RE0+1\.wav, not .*RE0+6\.wav$/);
  });

  it('a purge interrupted after deleting notes the deletion on the next run', async () => {
    await archive({ until: day(1) });
    let recordWrites = 0;
    const dying: ObjectStore = {
      description: store.description,
      prefix: store.prefix,
      put: store.put.bind(store),
      putFile: store.putFile.bind(store),
      inspect: store.inspect.bind(store),
      readText: store.readText.bind(store),
      writeText: async () => {
        recordWrites += 1;
        throw new Error('interrupted');
      },
    };
    await expect(purgeRecordings({ source: source(), store: dying, range: {}, yes: true, log })).rejects.toThrow(
      'interrupted',
    );
    expect(recordWrites).toBe(1);
    expect(api.deleted).toEqual([re(1)]);
    const again = await purgeRecordings({ source: source(), store, range: {}, yes: true, log });
    expect(again.deleted).toEqual([]);
    expect(again.noted).toEqual([re(1)]);
    expect((await recordOf(store, SID, re(1)))!.deletedAt).toBeDefined();
  });
});
