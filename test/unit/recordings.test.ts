import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  archiveRecordings,
  INDEX_NAME,
  LEDGER_NAME,
  parseJsonLines,
  purgeRecordings,
  IndexEntry,
  LedgerEntry,
  twilioRecordingSource,
} from '../../src/lib/recordings/archive';
import { LocalFolderStore, ObjectStore } from '../../src/lib/storage/store';
import { twilioClientFrom } from '../../src/lib/recordings/client';
import { summarize } from '../../src/lib/recordings/model';
import { FakeRecording, FakeTwilioApi, startFakeTwilioApi, wav } from '../support/fake-twilio-api';

const SID = 'AC22222222222222222222222222222222';
const TOKEN = 'recordings-test-token';
const day = (d: number) => new Date(Date.UTC(2026, 10, d, 12, 0, 0));
const re = (n: number) => `RE${String(n).padStart(32, '0')}`;

function recordings(): FakeRecording[] {
  return [
    { sid: re(1), callSid: 'CA1', dateCreated: day(1), duration: '12', status: 'completed', audio: wav(1) },
    { sid: re(2), callSid: 'CA2', dateCreated: day(2), duration: '30', status: 'completed', audio: wav(2, 4000) },
    {
      sid: re(3),
      callSid: 'CA3',
      dateCreated: day(3),
      duration: '7',
      status: 'completed',
      audio: wav(3),
      mediaUrl: 'https://my-bucket.s3.amazonaws.com/RE3.wav',
    },
    {
      sid: re(4),
      callSid: 'CA4',
      dateCreated: day(4),
      duration: '-1',
      status: 'absent',
      errorCode: 13617,
      audio: Buffer.alloc(0),
    },
    {
      sid: re(5),
      callSid: 'CA5',
      dateCreated: day(5),
      duration: '20',
      status: 'deleted',
      dateUpdated: day(6),
      audio: Buffer.alloc(0),
    },
    {
      sid: re(6),
      callSid: 'CA6',
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
  let destination: LocalFolderStore;
  const logs: Record<string, unknown>[] = [];
  const env = () => ({
    ACCOUNT_SID: SID,
    AUTH_TOKEN: TOKEN,
    TWILIO_API_BASE_URL: api.baseUrl,
    MEDIA_ALLOWED_HOSTS: api.host.host,
  });
  const source = (downloadDeadlineMs = 5000) =>
    twilioRecordingSource(env(), (r) => logs.push(r), { downloadDeadlineMs });

  beforeEach(async () => {
    api = await startFakeTwilioApi({ accountSid: SID, authToken: TOKEN, recordings: recordings(), pageSize: 2 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-rec-'));
    destination = new LocalFolderStore(dir);
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
      callSid: 'CA1',
    });
    expect(byId[re(3)]).toMatchObject({ mediaLocation: 'external', mediaHost: 'my-bucket.s3.amazonaws.com' });
    expect(byId[re(4)]).toMatchObject({ mediaLocation: 'none', errorCode: 13617, durationSeconds: null });
    expect(byId[re(5)]).toMatchObject({
      mediaLocation: 'deleted',
      metadataPurgedAt: new Date(day(6).getTime() + 40 * 86_400_000).toISOString(),
    });
  });

  it('archives what Twilio holds, verified, through a 404 right after the callback', async () => {
    const result = await archiveRecordings({ source: source(), destination, range: {}, log: (r) => logs.push(r) });
    expect(result.archived.sort()).toEqual([re(1), re(2), re(6)]);
    expect(result.failed).toEqual([]);
    expect(result.skipped.map((s) => s.sid).sort()).toEqual([re(3), re(4), re(5)]);
    expect(fs.readFileSync(path.join(dir, '2026', '11', `${re(2)}.wav`)).equals(api.recordings.get(re(2))!.audio)).toBe(
      true,
    );
    const index = parseJsonLines<IndexEntry>(fs.readFileSync(path.join(dir, INDEX_NAME), 'utf8'));
    expect(index.get(re(2))).toMatchObject({
      key: `2026/11/${re(2)}.wav`,
      bytes: 4044,
      callSid: 'CA2',
      durationSeconds: 30,
    });
    const wavRequests = api.host.requests.filter((r) => r.url.endsWith(`${re(6)}.wav`));
    expect(wavRequests.length).toBeGreaterThan(1); // 404 first, then the audio
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });

  it('never counts a partial download, and an interrupted archive resumes without duplicates or loss', async () => {
    api.recordings.get(re(2))!.cutDownloads = 1000; // every download of RE2 is cut half way
    api.recordings.get(re(6))!.availableAt = 0; // RE6 downloads at once: this test is about the crash after it
    let failIndexWrite = true;
    const crashing: ObjectStore = {
      description: destination.description,
      prefix: destination.prefix,
      put: (k, b, o) => destination.put(k, b, o),
      inspect: (k) => destination.inspect(k),
      readText: (n) => destination.readText(n),
      // the run "dies" after storing the first recording (the newest, RE6) but before writing it to the index
      writeText: async (n, t) => {
        if (failIndexWrite) {
          failIndexWrite = false;
          throw new Error('interrupted');
        }
        return destination.writeText(n, t);
      },
    };
    const first = await archiveRecordings({
      source: source(800),
      destination: crashing,
      range: {},
      log: () => undefined,
    });
    expect(first.failed.map((f) => f.sid).sort()).toEqual([re(2), re(6)]);
    expect(first.failed.find((f) => f.sid === re(2))!.reason).toMatch(/^download: /);
    expect(fs.existsSync(path.join(dir, '2026', '11', `${re(2)}.wav`))).toBe(false); // never a partial file
    expect(fs.existsSync(path.join(dir, '2026', '11', `${re(6)}.wav`))).toBe(true); // stored, but not in the index
    expect(parseJsonLines<IndexEntry>(await destination.readText(INDEX_NAME)).has(re(6))).toBe(false);

    api.recordings.get(re(2))!.cutDownloads = 0;
    const second = await archiveRecordings({ source: source(), destination, range: {}, log: () => undefined });
    expect(second.archived.sort()).toEqual([re(2), re(6)]);
    expect(second.alreadyArchived).toEqual([re(1)]);
    const third = await archiveRecordings({ source: source(), destination, range: {}, log: () => undefined });
    expect(third.archived).toEqual([]);
    expect(third.alreadyArchived.sort()).toEqual([re(1), re(2), re(6)]);
    const lines = (await destination.readText(INDEX_NAME)).trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(fs.readdirSync(path.join(dir, '2026', '11')).sort()).toEqual([re(1), re(2), re(6)].map((s) => `${s}.wav`));
  });

  it('filters by date', async () => {
    const result = await archiveRecordings({
      source: source(),
      destination,
      range: { since: day(2), until: day(3) },
      log: () => undefined,
    });
    expect(result.archived).toEqual([re(2)]);
  });

  it('purges only verified copies: dry run first, refuses unarchived, missing and altered copies, writes the ledger', async () => {
    await archiveRecordings({ source: source(), destination, range: { until: day(2) }, log: () => undefined });
    await archiveRecordings({ source: source(), destination, range: { since: day(6) }, log: () => undefined });
    // RE2's copy altered, RE6's copy deleted behind the archive's back
    fs.appendFileSync(path.join(dir, '2026', '11', `${re(2)}.wav`), 'x');
    fs.rmSync(path.join(dir, '2026', '11', `${re(6)}.wav`));

    const dry = await purgeRecordings({ source: source(), destination, range: {}, yes: false, log: () => undefined });
    expect(dry).toMatchObject({ dryRun: true, deleted: [], wouldDelete: [re(1)] });
    expect(api.deleted).toEqual([]);

    const now = new Date('2026-11-24T23:00:00.000Z');
    const done = await purgeRecordings({
      source: source(),
      destination,
      range: {},
      yes: true,
      log: () => undefined,
      now: () => now,
    });
    expect(done.deleted).toEqual([re(1)]);
    expect(api.deleted).toEqual([re(1)]);
    expect(Object.fromEntries(done.refused.map((r) => [r.sid, r.reason]))).toEqual({
      [re(2)]: `archived copy 2026/11/${re(2)}.wav does not match its checksum`,
      [re(6)]: `archived copy 2026/11/${re(6)}.wav is missing from ${destination.description}`,
    });
    const ledger = parseJsonLines<LedgerEntry>(await destination.readText(LEDGER_NAME));
    expect(ledger.get(re(1))).toMatchObject({
      deletedAt: now.toISOString(),
      metadataExpiresAt: '2027-01-03T23:00:00.000Z',
      key: `2026/11/${re(1)}.wav`,
    });
    expect(ledger.size).toBe(1);
  });

  it('a purge interrupted after deleting completes its ledger on the next run', async () => {
    await archiveRecordings({ source: source(), destination, range: { until: day(1) }, log: () => undefined });
    let ledgerWrites = 0;
    const dying: ObjectStore = {
      ...destination,
      description: destination.description,
      put: destination.put.bind(destination),
      inspect: destination.inspect.bind(destination),
      readText: destination.readText.bind(destination),
      writeText: async () => {
        ledgerWrites += 1;
        throw new Error('interrupted');
      },
    };
    await expect(
      purgeRecordings({ source: source(), destination: dying, range: {}, yes: true, log: () => undefined }),
    ).rejects.toThrow('interrupted');
    expect(ledgerWrites).toBe(1);
    expect(api.deleted).toEqual([re(1)]);
    const again = await purgeRecordings({ source: source(), destination, range: {}, yes: true, log: () => undefined });
    expect(again.deleted).toEqual([]);
    expect(again.ledgerAdded).toEqual([re(1)]);
    expect(parseJsonLines<LedgerEntry>(await destination.readText(LEDGER_NAME)).get(re(1))!.note).toMatch(
      /found already deleted/,
    );
  });
});
