import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tokenFromAuthorization } from '../../src/lib/flex/token';
import { keepObject } from '../../src/lib/keep/object';
import { buildReport, formatMarkdown, parseLogLines } from '../../src/lib/report/build';
import { voiceRecordingMedia, withVoiceRecording } from '../../src/lib/recordings/flex-media';
import {
  parseRecordingRecord,
  recordingAudioKey,
  RecordingRecord,
  recordingsSettingsFrom,
  recordMismatch,
} from '../../src/lib/keep/recording-record';
import { LocalFolderStore } from '../../src/lib/storage/store';

const AC = `AC${'1'.repeat(32)}`;
const CA = `CA${'2'.repeat(32)}`;
const RE = `RE${'3'.repeat(32)}`;
const OTHER_RE = `RE${'4'.repeat(32)}`;

const record = (extra: Partial<RecordingRecord> = {}): RecordingRecord => ({
  schema: 1,
  accountSid: AC,
  recordingSid: RE,
  callSid: CA,
  key: recordingAudioKey(AC, CA, RE, 'wav'),
  format: 'wav',
  contentType: 'audio/wav',
  bytes: 10,
  sha256: 'a'.repeat(64),
  keptAt: '2026-12-04T21:00:00.000Z',
  keptBy: 'callback',
  ...extra,
});

describe('the recording record', () => {
  it('keys name account, call and recording; the record is tied to its recording before anyone trusts it', () => {
    expect(recordingAudioKey(AC, CA, RE, 'mp3')).toBe(`${AC}/${CA}/${RE}.mp3`);
    expect(recordMismatch(record(), { accountSid: AC, recordingSid: RE, callSid: CA })).toBeUndefined();
    expect(recordMismatch(record(), { accountSid: AC, recordingSid: OTHER_RE })).toBe(
      `its record names recording ${RE}`,
    );
    expect(recordMismatch(record({ recordingSid: OTHER_RE }), { accountSid: AC, recordingSid: OTHER_RE })).toBe(
      `its record names the object ${AC}/${CA}/${RE}.wav, not ${AC}/${CA}/${OTHER_RE}.wav`,
    );
    expect(recordMismatch(record(), { accountSid: AC, recordingSid: RE, callSid: `CA${'9'.repeat(32)}` })).toMatch(
      /^its record names call CA2+, Twilio says CA9+$/,
    );
    expect(parseRecordingRecord(JSON.stringify(record()))).toEqual(record());
    expect(parseRecordingRecord('{"schema":1,"recordingSid":"RE"}')).toBeUndefined();
    expect(parseRecordingRecord('not json')).toBeUndefined();
  });

  it('RECORDINGS_* settings: defaults, and errors naming the variable', () => {
    expect(recordingsSettingsFrom({})).toEqual({ format: 'wav', deleteAfterStore: false, linkSeconds: 600 });
    expect(
      recordingsSettingsFrom({
        RECORDINGS_FORMAT: 'MP3',
        RECORDINGS_DELETE_AFTER_STORE: 'true',
        RECORDINGS_LINK_SECONDS: '3600',
      }),
    ).toEqual({ format: 'mp3', deleteAfterStore: true, linkSeconds: 3600 });
    expect(() => recordingsSettingsFrom({ RECORDINGS_FORMAT: 'ogg' })).toThrow(/^RECORDINGS_FORMAT must be wav or mp3/);
    expect(() => recordingsSettingsFrom({ RECORDINGS_LINK_SECONDS: '7200' })).toThrow(
      /^RECORDINGS_LINK_SECONDS must be a whole number of seconds from 60 to 3600/,
    );
    expect(() => recordingsSettingsFrom({ RECORDINGS_DELETE_AFTER_STORE: 'yes' })).toThrow(
      /^RECORDINGS_DELETE_AFTER_STORE must be true or false/,
    );
  });
});

describe('conversations.media for Flex Insights', () => {
  it('builds the VoiceRecording entry and adds it to task attributes once', () => {
    expect(voiceRecordingMedia('https://media-1234.twil.io', RE)).toEqual({
      type: 'VoiceRecording',
      url_provider: `https://media-1234.twil.io/recordings/url-provider?recording=${RE}`,
    });
    const attributes = { from: 'x', conversations: { conversation_id: 'WT1', media: [{ type: 'Other' }] } };
    const once = withVoiceRecording(attributes, 'https://media-1234.twil.io/', RE);
    const twice = withVoiceRecording(once, 'https://media-1234.twil.io', RE);
    expect(twice).toEqual({
      from: 'x',
      conversations: {
        conversation_id: 'WT1',
        media: [{ type: 'Other' }, voiceRecordingMedia('https://media-1234.twil.io', RE)],
      },
    });
    expect(() => voiceRecordingMedia('https://media-1234.twil.io', 'RE123')).toThrow(/not a Recording SID/);
  });
});

describe("the Flex Insights Player's Authorization header", () => {
  const basic = (text: string) => ({ authorization: `Basic ${Buffer.from(text).toString('base64')}` });
  it('takes the token from Basic "token:JWE", and refuses anything else before IAM is asked', () => {
    expect(tokenFromAuthorization(basic('token:eyJ.abc.def'))).toEqual({ ok: true, token: 'eyJ.abc.def' });
    expect(tokenFromAuthorization({})).toMatchObject({ ok: false, status: 403, reason: 'missing' });
    expect(tokenFromAuthorization({ authorization: 'Bearer eyJ' })).toMatchObject({ ok: false, status: 403 });
    expect(tokenFromAuthorization(basic('agent:eyJ'))).toMatchObject({ ok: false, status: 403 });
    expect(tokenFromAuthorization(basic('token:'))).toMatchObject({ ok: false, reason: 'missing' });
    expect(tokenFromAuthorization(basic('token:has space'))).toMatchObject({ ok: false, status: 400 });
    expect(tokenFromAuthorization(basic(`token:${'x'.repeat(9000)}`))).toMatchObject({
      ok: false,
      status: 400,
      reason: 'too-long',
    });
  });
});

describe('the keep routine on a spooled body', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-keepobj-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stores a spooled file verified, finds it already stored, and never replaces other bytes', async () => {
    const store = new LocalFolderStore(path.join(dir, 'store'));
    const body = Buffer.from('RIFF....WAVE and some audio');
    const file = path.join(dir, 'spool.wav');
    fs.writeFileSync(file, body);
    const spooled = { file, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
    const input = { store, key: 'a/b.wav', body: spooled, contentType: 'audio/wav', metadata: {} };
    expect(await keepObject(input)).toMatchObject({ outcome: 'stored', verified: true, bytes: body.length });
    expect(fs.readFileSync(path.join(dir, 'store', 'a', 'b.wav')).equals(body)).toBe(true);
    expect(await keepObject(input)).toMatchObject({ outcome: 'already_stored', verified: true });
    const other = Buffer.from('other bytes');
    expect(await keepObject({ ...input, body: other })).toMatchObject({ outcome: 'conflict', verified: false });
    expect(fs.readFileSync(path.join(dir, 'store', 'a', 'b.wav')).equals(body)).toBe(true);
  });
});

describe('media:report counts recording outcomes per day beside the media', () => {
  it('kept, store failed and deleted per day, in the markdown and the CSV', () => {
    const line = (outcome: string, day: string) =>
      `2026-12-0${day}T10:00:00.000Z ${JSON.stringify({
        event: 'recording_store',
        outcome,
        recordingSid: RE,
        webhookReceivedAt: `2026-12-0${day}T10:00:00.000+00:00`,
      })}`;
    const parsed = parseLogLines([
      line('stored', '3'),
      line('deleted', '3'),
      line('store_failed', '3'),
      line('stored', '4'),
      line('already_stored', '4'),
    ]);
    expect(parsed.recordingStoreRecords).toHaveLength(5);
    const report = buildReport(
      parsed.records,
      24,
      parsed.skipped,
      parsed.recordingFetches,
      parsed.storeRecords,
      parsed.recordingStoreRecords,
    );
    expect(
      report.days.map((d) => [d.day, d.recordings.stored, d.recordings.store_failed, d.recordings.deleted]),
    ).toEqual([
      ['2026-12-03', 1, 1, 1],
      ['2026-12-04', 1, 0, 0],
    ]);
    expect(report.days[1].store.stored).toBe(0);
    const markdown = formatMarkdown(report);
    expect(markdown).toContain('## Recording outcomes');
    expect(markdown).toContain('| 2026-12-03 | 1 | 0 | 1 | 0 | 1 | 0 |');
  });
});
