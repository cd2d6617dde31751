import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/commands/recordings';
import { recordOf } from '../../src/lib/recordings/archive';
import { mediaStoreSettingsFrom, openMediaStore } from '../../src/lib/storage/media-store';
import { FakeRecording, FakeTwilioApi, startFakeTwilioApi, wav } from '../support/fake-twilio-api';
import { S3Front, S3RVER_CREDENTIALS, startS3Front } from '../support/s3-front';

const SID = 'AC33333333333333333333333333333333';
const TOKEN = 'cli-test-token';
const day = (d: number) => new Date(Date.UTC(2026, 10, d, 12, 0, 0));
const re = (n: number) => `RE${String(n).padStart(32, '0')}`;
const ca = (n: number) => `CA${String(n).padStart(32, '0')}`;

function recordings(): FakeRecording[] {
  return [
    { sid: re(1), callSid: ca(1), dateCreated: day(1), duration: '12', status: 'completed', audio: wav(1) },
    { sid: re(2), callSid: ca(2), dateCreated: day(2), duration: '30', status: 'completed', audio: wav(2, 3000) },
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
      sid: re(5),
      callSid: ca(5),
      dateCreated: day(5),
      duration: '20',
      status: 'deleted',
      dateUpdated: day(6),
      audio: Buffer.alloc(0),
    },
  ];
}

describe('npm run recordings', () => {
  let api: FakeTwilioApi;
  let work: string;
  let out: string[];
  let err: string[];
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ACCOUNT_SID: SID,
    AUTH_TOKEN: TOKEN,
    TWILIO_API_BASE_URL: api.baseUrl,
    MEDIA_ALLOWED_HOSTS: api.host.host,
    MEDIA_STORE_URL: 'folder:store',
    ...extra,
  });
  const run = async (argv: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    out = [];
    err = [];
    const code = await main(argv, { env: env(extraEnv), cwd: work, out: (t) => out.push(t), err: (t) => err.push(t) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeEach(async () => {
    api = await startFakeTwilioApi({ accountSid: SID, authToken: TOKEN, recordings: recordings(), pageSize: 2 });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-rec-cli-'));
  });
  afterEach(async () => {
    await api.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('refuses bad arguments and configuration with exit 2, naming the flag or variable', async () => {
    expect(await run([])).toMatchObject({ code: 2, err: expect.stringContaining('a command is needed') });
    expect(await run(['list'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown command "list"') });
    expect(await run(['audit', '--since', '2026-13-01'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--since: "2026-13-01" is not a date'),
    });
    expect(await run(['audit', '--until'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--until needs a value'),
    });
    expect(await run(['audit', '--since', '2026-11-05', '--until', '2026-11-01'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--since (2026-11-05T00:00:00.000Z) is after --until'),
    });
    expect(await run(['archive', '--yes'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('unknown option "--yes" for archive'),
    });
    expect(await run(['archive', '--timeout', '0'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--timeout: "0"'),
    });
    expect(await run(['archive', '--dest', 'ftp://host/x'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--dest: "ftp://host/x" is neither a folder nor s3://'),
    });
    expect(await run(['archive', '--dest', 's3://No_Such'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--dest: "s3://No_Such" is not s3://BUCKET'),
    });
    // the old archive's settings are refused by name, with the media store's variable to set instead
    expect(await run(['audit'], { RECORDINGS_ARCHIVE: 's3://ok-bucket' })).toMatchObject({
      code: 2,
      err: expect.stringContaining(
        'RECORDINGS_ARCHIVE is no longer read: recordings are kept in the media store; set MEDIA_STORE_URL',
      ),
    });
    expect(await run(['audit'], { S3_ENDPOINT: 'http://127.0.0.1:9000' })).toMatchObject({
      code: 2,
      err: expect.stringContaining('S3_ENDPOINT is no longer read'),
    });
    expect(await run(['audit'], { MEDIA_STORE_URL: '' })).toMatchObject({
      code: 2,
      err: expect.stringContaining('MEDIA_STORE_URL is not set (nor --dest)'),
    });
    expect(await run(['audit'], { MEDIA_STORE_URL: 's3://ok-bucket', AWS_ACCESS_KEY_ID: 'AKIA' })).toMatchObject({
      code: 2,
      err: expect.stringContaining('AWS_ACCESS_KEY_ID is no longer read: set MEDIA_STORE_ACCESS_KEY_ID'),
    });
    expect(await run(['audit'], { RECORDINGS_FORMAT: 'ogg' })).toMatchObject({
      code: 2,
      err: expect.stringContaining('RECORDINGS_FORMAT must be wav or mp3'),
    });
    expect(await run(['audit'], { ACCOUNT_SID: '' })).toMatchObject({
      code: 2,
      err: expect.stringContaining('ACCOUNT_SID is not set'),
    });
    expect(api.host.requests).toHaveLength(0);
  });

  it('a Twilio error is one line with its status and code, exit 1, no credential', async () => {
    const result = await run(['audit'], { AUTH_TOKEN: 'wrong-token' });
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^recordings audit: Twilio answered 401 \(error 20003\)/);
    expect(result.err).not.toContain('wrong-token');
  });

  it('audit, archive, audit again, purge dry run, purge --yes: the whole life of a recording in a local folder', async () => {
    const before = await run(['audit']);
    expect(before.code).toBe(0);
    const line = (sid: string, text: string) => text.split('\n').find((l) => l.startsWith(sid)) ?? '';
    expect(line(re(1), before.out)).toMatch(/2026-11-01 12:00:00\s+12s\s+completed\s+Twilio\s+-\s+-$/);
    expect(line(re(3), before.out)).toContain('External Storage (my-bucket.s3.amazonaws.com)');
    expect(line(re(5), before.out)).toMatch(/deleted \(metadata only\)\s+-\s+2026-12-16$/);
    expect(before.out).toContain('4 recordings: 2 Twilio, 1 External Storage, 1 deleted (metadata only)');
    expect(before.out).toContain('0 kept; 2 held only by Twilio');

    const archived = await run(['archive', '--dest', 'archive']);
    expect(archived).toMatchObject({
      code: 0,
      out: expect.stringContaining('2 kept now, 0 already kept, 2 skipped, 0 failed'),
    });
    const folder = path.join(work, 'archive');
    expect(fs.readFileSync(path.join(folder, SID, ca(2), `${re(2)}.wav`)).equals(wav(2, 3000))).toBe(true);

    const json = JSON.parse((await run(['audit', '--dest', 'archive', '--json'])).out) as {
      recordings: { sid: string; keptKey?: string; mediaLocation: string }[];
    };
    expect(json.recordings.find((r) => r.sid === re(2))).toMatchObject({
      mediaLocation: 'twilio',
      keptKey: `${SID}/${ca(2)}/${re(2)}.wav`,
    });

    const dry = await run(['purge', '--dest', 'archive', '--until', '2026-11-01']);
    expect(dry.out).toContain('Dry run: 1 recording would be deleted');
    expect(dry.out).toContain(`would delete ${re(1)}`);
    expect(api.deleted).toEqual([]);

    const purged = await run(['purge', '--dest', 'archive', '--yes']);
    expect(purged.code).toBe(0);
    expect(api.deleted.sort()).toEqual([re(1), re(2)]);
    const store = openMediaStore({ kind: 'folder', folder });
    expect((await recordOf(store, SID, re(1)))!.deletedAt).toBeDefined();
    const after = await run(['audit', '--dest', 'archive']);
    expect(line(re(1), after.out)).toMatch(/deleted \(metadata only\)\s+AC\d+\/CA0+1\/RE0+1\.wav\s+\d{4}-\d{2}-\d{2}$/);
  });

  it('archive exits 1 and names the recording when a download keeps failing; the next run completes it', async () => {
    api.recordings.get(re(2))!.status = 'completed';
    api.recordings.get(re(2))!.cutDownloads = 1000;
    const failed = await run(['archive', '--timeout', '1']);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(
      new RegExp(`FAILED  ${re(2)}: store_failed: the audio could not be fetched: .*run archive again`),
    );
    expect(failed.err).toContain('"media_fetch"'); // the warning outcome line on stderr
    api.recordings.get(re(2))!.cutDownloads = 0;
    const again = await run(['archive']);
    expect(again).toMatchObject({ code: 0, out: expect.stringContaining('1 kept now, 1 already kept') });
    expect(fs.existsSync(path.join(work, 'store', SID, 'recordings', `${re(2)}.json`))).toBe(true);
  });

  describe('to an S3-compatible bucket (s3rver on loopback, behind the front that checks checksums as S3 does)', () => {
    let front: S3Front;
    beforeAll(async () => (front = await startS3Front(['call-archive'])));
    afterAll(() => front.close());
    const s3env = () => ({
      MEDIA_STORE_URL: 's3://call-archive/twilio/recordings',
      MEDIA_STORE_ENDPOINT: front.endpoint,
      MEDIA_STORE_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      MEDIA_STORE_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    });

    it('keeps with verification, refuses to purge an altered object, deletes the verified one, records in the bucket', async () => {
      const archived = await run(['archive'], s3env());
      expect(archived).toMatchObject({ code: 0, out: expect.stringContaining('2 kept now') });
      const bucket = openMediaStore(mediaStoreSettingsFrom(s3env())!.location);
      const two = (await recordOf(bucket, SID, re(2)))!;
      expect((await bucket.inspect(two.key))?.sha256).toBe(two.sha256);
      // the bucket's copy of RE2 replaced behind the store's back
      await bucket.put(two.key, wav(99, 3000), { contentType: 'audio/wav' });

      const again = await run(['archive'], s3env());
      // RE2's record no longer verifies and the key holds other bytes: a conflict, never replaced, exit 1
      expect(again.code).toBe(1);
      expect(again.out).toMatch(new RegExp(`FAILED  ${re(2)}: conflict`));

      const purged = await run(['purge', '--yes'], s3env());
      expect(purged.out).toContain(`kept    ${re(2)}: kept copy ${two.key} does not match its record`);
      expect(api.deleted).toEqual([re(1)]);
      const one = (await recordOf(bucket, SID, re(1)))!;
      expect(new Date(one.metadataPurgedAt!).getTime() - new Date(one.deletedAt!).getTime()).toBe(40 * 86_400_000);
    });

    it('a store that never answers a read: purge keeps the recording at Twilio, naming it and the read, and ends; audit exits 1', async () => {
      const neverAnswers = { ...s3env(), MEDIA_STORE_URL: 's3://call-archive/never-answers' };
      const only1 = ['--until', '2026-11-01', '--timeout', '1'];
      expect(await run(['archive', ...only1], neverAnswers)).toMatchObject({ code: 0 });
      const key = `${SID}/${ca(1)}/${re(1)}.wav`;
      const recordRead = `no answer from the store in time (GET ${SID}/recordings/${re(1)}.json)`;
      /** the audit beside run's purge, at the same time (each waits its --timeout), with its own output */
      const audit = async () => {
        const lines: string[] = [];
        const code = await main(['audit', ...only1], {
          env: env(neverAnswers),
          cwd: work,
          out: () => {},
          err: (t) => lines.push(t),
        });
        return { code, err: lines.join('\n') };
      };
      try {
        front.script('hang', ['GET'], '.json');
        const [record, audited] = await Promise.all([run(['purge', '--yes', ...only1], neverAnswers), audit()]);
        expect(record.code).toBe(0);
        expect(record.out).toContain(`kept    ${re(1)}: its record could not be read: ${recordRead}`);
        expect(audited).toMatchObject({ code: 1, err: expect.stringContaining(recordRead) });
        front.script('hang', ['GET'], '.wav');
        const copy = await run(['purge', '--yes', ...only1], neverAnswers);
        expect(copy.code).toBe(0);
        expect(copy.out).toContain(
          `kept    ${re(1)}: kept copy ${key} could not be read back: no answer from the store in time (GET ${key})`,
        );
        expect(api.deleted).toEqual([]);
      } finally {
        front.script('pass');
      }
      const purged = await run(['purge', '--yes', ...only1], neverAnswers);
      expect(api.deleted).toEqual([re(1)]);
      expect(purged.out).toContain(`deleted ${re(1)}`);
    });
  });
});
