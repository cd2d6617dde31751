import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LogRecord } from '../../src/lib/log';
import { MESSAGE_MEDIA_BYTES } from '../../src/lib/keep/media';
import { FetchedMedia, handleInboundMms } from '../../src/lib/mms/inbound';
import { parseInboundMms } from '../../src/lib/mms/webhook';
import { handleRecordingStatus } from '../../src/lib/recordings/status-callback';
import { FakeHost, startFakeHost } from '../support/fake-host';
import { wav } from '../support/fake-twilio-api';

// The handlers behind signedWebhook, called as it calls them (signature already verified), against a scripted
// media host on loopback. Retry behaviour itself is tested once, in fetch.test.ts.

const ACCOUNT_SID = 'AC00000000000000000000000000000000';
const AUTH_TOKEN = 'unit-auth-token';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const RE_SID = `RE${'0'.repeat(31)}1`;

let host: FakeHost;
let logs: LogRecord[];
beforeAll(async () => {
  host = await startFakeHost((_req, res) => res.writeHead(404).end());
});
afterAll(() => host.close());
beforeEach(() => {
  host.requests.length = 0;
  logs = [];
});

const env = (extra: Record<string, string> = {}) => ({
  ACCOUNT_SID,
  AUTH_TOKEN,
  MEDIA_ALLOWED_HOSTS: host.host,
  MEDIA_FETCH_DEADLINE_MS: '1500',
  MEDIA_ATTEMPT_TIMEOUT_MS: '500',
  ...extra,
});
const request = (params: Record<string, string>, extraEnv: Record<string, string> = {}) => ({
  params,
  url: 'https://x.twil.io/hook',
  env: env(extraEnv),
  receivedAt: Date.now(),
  log: (record: LogRecord) => void logs.push(record),
});
const mms = (paths: string[], extra: Record<string, string> = {}) => {
  const params: Record<string, string> = {
    MessageSid: 'MM1',
    AccountSid: ACCOUNT_SID,
    NumMedia: String(paths.length),
    ...extra,
  };
  paths.forEach((p, i) => {
    params[`MediaUrl${i}`] = `${host.url}${p}`;
    params[`MediaContentType${i}`] = 'image/png';
  });
  return params;
};
const events = (name: string) => logs.filter((l) => l.event === name);
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

describe('parseInboundMms', () => {
  it('lists the media NumMedia declares, in index order, with their content types', () => {
    expect(
      parseInboundMms({
        MessageSid: 'MM1',
        AccountSid: 'AC1',
        NumMedia: '2',
        MediaUrl1: 'https://a.test/1',
        MediaContentType1: 'image/gif',
        MediaUrl0: 'https://a.test/0',
        MediaContentType0: 'image/png',
      }),
    ).toEqual({
      messageSid: 'MM1',
      accountSid: 'AC1',
      media: [
        { index: 0, url: 'https://a.test/0', contentType: 'image/png' },
        { index: 1, url: 'https://a.test/1', contentType: 'image/gif' },
      ],
      problems: [],
    });
  });
  it('no media: NumMedia 0 and nothing else is fine', () => {
    expect(parseInboundMms({ MessageSid: 'MM1', NumMedia: '0' })).toMatchObject({ media: [], problems: [] });
  });
  it('reports each inconsistency by parameter and keeps the valid part', () => {
    const parsed = parseInboundMms({
      NumMedia: '3',
      MediaUrl0: 'https://a.test/0',
      MediaUrl1: 'not a url',
      MediaUrl2: 'ftp://a.test/2',
      MediaContentType2: 'x',
      MediaUrl7: 'https://a.test/7',
    });
    expect(parsed.media).toEqual([{ index: 0, url: 'https://a.test/0', contentType: undefined }]);
    expect(parsed.problems).toEqual([
      'parameter "MediaContentType0" is missing',
      'parameter "MediaUrl1" is not a URL; ignored',
      'parameter "MediaUrl2" is not an http(s) URL; ignored',
      'parameter "MediaUrl7" is beyond NumMedia 3; ignored',
      'parameter "MessageSid" is missing',
    ]);
  });
  it.each(['11', '-1', 'two', '100'])('a NumMedia of "%s" is reported and MediaUrlN counted up to 10', (raw) => {
    const parsed = parseInboundMms({
      MessageSid: 'MM1',
      NumMedia: raw,
      MediaUrl0: 'https://a.test/0',
      MediaContentType0: 'image/png',
      MediaUrl9: 'https://a.test/9',
      MediaContentType9: 'image/png',
    });
    expect(parsed.media.map((m) => m.index)).toEqual([0, 9]);
    expect(parsed.problems).toEqual([`parameter "NumMedia" is "${raw}", not 0..10; counting MediaUrlN`]);
  });
  it('a declared item without its URL is reported', () => {
    expect(
      parseInboundMms({
        MessageSid: 'MM1',
        NumMedia: '2',
        MediaUrl1: 'https://a.test/1',
        MediaContentType1: 'image/png',
      }).problems,
    ).toEqual(['NumMedia is 2 but parameter "MediaUrl0" is missing']);
  });
});

describe('handleInboundMms', () => {
  it('fetches every item with the account credentials, hands each to onMedia, answers TwiML 200 with MMS_REPLY', async () => {
    host.setHandler((req, res) =>
      res.writeHead(200, { 'Content-Type': 'image/png' }).end(Buffer.concat([PNG, Buffer.from(req.url ?? '')])),
    );
    const received: FetchedMedia[] = [];
    const response = await handleInboundMms(
      request(mms(['/Media/ME0', '/Media/ME1']), { MMS_REPLY: 'Thanks!' }),
      (item) => void received.push(item),
    );
    expect(response).toEqual({
      status: 200,
      headers: { 'Content-Type': 'text/xml; charset=utf-8', 'Cache-Control': 'no-store' },
      body: '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks!</Message></Response>',
    });
    expect(
      received.map((m) => [m.index, m.messageSid, m.body.toString('latin1').endsWith(`/Media/ME${m.index}`)]).sort(),
    ).toEqual([
      [0, 'MM1', true],
      [1, 'MM1', true],
    ]);
    expect(host.requests.map((r) => r.headers.authorization)).toEqual(
      Array(2).fill(`Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`),
    );
    expect(events('media_fetch').map((l) => l.outcome)).toEqual(['succeeded', 'succeeded']);
  });

  it('fetches the media of one message at once, not one after the other', async () => {
    host.setHandler((_req, res) => setTimeout(() => res.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG), 300));
    const started = Date.now();
    await handleInboundMms(request(mms(['/a', '/b', '/c'])), () => undefined);
    const firsts = host.requests.map((r) => r.at);
    expect(Math.max(...firsts) - Math.min(...firsts)).toBeLessThan(300);
    expect(Date.now() - started).toBeLessThan(900 + 1000);
  });

  it('the default media handler logs size, type and sha256, and a type the media host contradicts', async () => {
    host.setHandler((_req, res) => res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(PNG));
    await handleInboundMms(request(mms(['/Media/ME0'])));
    expect(events('media_received')).toEqual([
      expect.objectContaining({
        level: 'warn',
        messageSid: 'MM1',
        index: 0,
        bytes: PNG.length,
        contentType: 'image/jpeg',
        problem: 'MediaContentType0 says image/png, the media host sent image/jpeg',
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      }),
    ]);
  });

  it('a media handler that throws is logged; Twilio still gets its TwiML 200', async () => {
    host.setHandler((_req, res) => res.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG));
    const response = await handleInboundMms(request(mms(['/Media/ME0'])), () => {
      throw new Error('disk full');
    });
    expect(response).toMatchObject({ status: 200, body: EMPTY_TWIML });
    expect(events('media_handler_failed')).toEqual([
      expect.objectContaining({ level: 'error', index: 0, problem: 'disk full' }),
    ]);
  });

  it('the media of one message share the 5 MB budget', async () => {
    const three = Buffer.alloc(3 * 1024 * 1024);
    host.setHandler((_req, res) =>
      res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': String(three.length) }).end(three),
    );
    let handed = 0;
    await handleInboundMms(request(mms(['/a', '/b'])), (item) => void (handed += item.body.length));
    expect(handed).toBeLessThanOrEqual(MESSAGE_MEDIA_BYTES);
    expect(events('media_fetch').filter((l) => l.outcome === 'gave_up').length).toBeGreaterThanOrEqual(1);
    expect(events('media_fetch').find((l) => l.outcome === 'gave_up')?.reason).toMatch(
      new RegExp(`exceeds the ${MESSAGE_MEDIA_BYTES} bytes allowed per message`),
    );
  });

  it('inconsistent parameters are logged as problems, the valid media still fetched', async () => {
    host.setHandler((_req, res) => res.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG));
    const received: number[] = [];
    await handleInboundMms(request(mms(['/a'], { NumMedia: '2' })), (item) => void received.push(item.index));
    expect(received).toEqual([0]);
    expect(events('webhook_problem')).toEqual([
      expect.objectContaining({
        level: 'warn',
        messageSid: 'MM1',
        problem: 'NumMedia is 2 but parameter "MediaUrl1" is missing',
      }),
    ]);
  });

  it('a bad setting fetches nothing, logs the variable at fault, and still answers TwiML 200', async () => {
    const response = await handleInboundMms(request(mms(['/a']), { API_KEY: 'SK1' }), () => undefined);
    expect(response).toMatchObject({ status: 200, body: EMPTY_TWIML });
    expect(host.requests).toHaveLength(0);
    expect(events('config_error')).toEqual([
      expect.objectContaining({ level: 'error', problem: expect.stringMatching(/^API_SECRET is not set/) }),
    ]);
  });

  it('a bad media store setting still fetches and checks the media, logs the variable, keeps nothing, answers 200', async () => {
    host.setHandler((_req, res) => res.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG));
    const response = await handleInboundMms(
      request(mms(['/a']), { MEDIA_STORE_URL: 'ftp://x', MEDIA_DELETE_AFTER_STORE: 'true' }),
    );
    expect(response).toMatchObject({ status: 200, body: EMPTY_TWIML });
    expect(events('config_error')).toEqual([
      expect.objectContaining({ problem: expect.stringMatching(/^MEDIA_STORE_URL: "ftp:\/\/x" is neither/) }),
    ]);
    expect(events('media_received')).toHaveLength(1);
    expect(events('media_store')).toEqual([]);
    expect(host.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('keeps each fetched item in a folder store, then writes the message record', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-inbound-'));
    try {
      host.setHandler((_req, res) => res.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG));
      const messageSid = `MM${'c'.repeat(32)}`;
      const media = [`ME${'1'.repeat(32)}`, `ME${'2'.repeat(32)}`];
      await handleInboundMms(
        request(
          mms(
            media.map((m) => `/Media/${m}`),
            { MessageSid: messageSid },
          ),
          { MEDIA_STORE_URL: `folder:${dir}` },
        ),
      );
      expect(events('media_store').map((l) => [l.mediaSid, l.outcome])).toEqual(
        expect.arrayContaining(media.map((m) => [m, 'stored'])),
      );
      for (const m of media) expect(fs.readFileSync(path.join(dir, ACCOUNT_SID, messageSid, `${m}.png`))).toEqual(PNG);
      const record = JSON.parse(fs.readFileSync(path.join(dir, ACCOUNT_SID, messageSid, 'message.json'), 'utf8'));
      expect(record.media.map((m: { mediaSid: string }) => m.mediaSid)).toEqual(media);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs one mms_summary line last: per item the figures of its media_fetch line and its store and delete', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-inbound-'));
    try {
      host.setHandler((req, res) => {
        if (req.method === 'DELETE') return res.writeHead(204).end();
        if (req.url?.endsWith('/gone')) return res.writeHead(404).end();
        return res.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG);
      });
      const messageSid = `MM${'d'.repeat(32)}`;
      const media = `ME${'3'.repeat(32)}`;
      const req = request(
        mms([`/Media/${media}`, '/gone'], { MessageSid: messageSid, From: '+15550001111', Body: 'private' }),
        { MEDIA_STORE_URL: `folder:${dir}`, MEDIA_DELETE_AFTER_STORE: 'true' },
      );
      await handleInboundMms(req, () => undefined);
      const last = logs[logs.length - 1];
      expect(events('mms_summary')).toEqual([last]);
      const fetched = (index: number) => events('media_fetch').find((l) => l.index === index)!;
      expect(last).toEqual({
        level: 'warn',
        event: 'mms_summary',
        messageSid,
        accountSid: ACCOUNT_SID,
        webhookReceivedAt: fetched(0).webhookReceivedAt,
        items: [
          {
            i: 0,
            me: media,
            f: 'succeeded',
            ms: fetched(0).delayMs,
            a: fetched(0).attemptCount,
            nf: 0,
            st: 'stored',
            dl: 'deleted',
          },
          { i: 1, f: 'gave_up', ms: fetched(1).delayMs, a: fetched(1).attemptCount, nf: fetched(1).notFoundCount },
        ],
      });
      expect(fetched(1).notFoundCount).toBeGreaterThan(0);
      expect(JSON.stringify(last)).not.toMatch(/15550001111|private|unit-auth-token/);
      // the per-item lines are still all there
      expect(events('media_store').map((l) => l.outcome)).toEqual(['stored', 'deleted']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without media, or when nothing can be fetched for a setting, the summary says so or is not logged', async () => {
    await handleInboundMms(request(mms([])), () => undefined);
    expect(logs[logs.length - 1]).toMatchObject({ level: 'info', event: 'mms_summary', items: [] });
    logs = [];
    await handleInboundMms(request(mms(['/a']), { API_KEY: 'SK1' }), () => undefined);
    expect(events('mms_summary')).toEqual([]);
  });

  it('media the host never serves ends within the deadline counted from receivedAt', async () => {
    host.setHandler((_req, res) => res.writeHead(404).end());
    const req = request(mms(['/gone']));
    await handleInboundMms(req, () => undefined);
    expect(Date.now() - req.receivedAt).toBeLessThanOrEqual(1500 + 250);
    expect(events('media_fetch')).toEqual([expect.objectContaining({ outcome: 'gave_up' })]);
  });
});

describe('handleRecordingStatus', () => {
  const callback = (extra: Record<string, string>) => ({
    AccountSid: ACCOUNT_SID,
    CallSid: 'CA1',
    RecordingSid: RE_SID,
    RecordingUrl: `${host.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${RE_SID}`,
    RecordingStatus: 'completed',
    RecordingDuration: '7',
    ...extra,
  });
  const statusLog = () => events('recording_status');

  it.each([
    [{ RecordingSid: '' }, 'parameter "RecordingSid" is missing'],
    [{ RecordingSid: 'RE123' }, 'parameter "RecordingSid" ("RE123") is not a Recording SID'],
    [{ RecordingStatus: '' }, 'parameter "RecordingStatus" is missing'],
  ])('%j is a 400 naming the parameter, nothing fetched', async (extra, message) => {
    const response = await handleRecordingStatus(request(callback(extra)));
    expect(response).toMatchObject({ status: 400, body: { error: message } });
    expect(host.requests).toHaveLength(0);
  });

  it('completed: confirms the audio by its 44-byte WAV header with a Range request, through a 404 window', async () => {
    const audio = wav(1, 20_000);
    const availableAt = Date.now() + 300;
    host.setHandler((req, res) => {
      if (Date.now() < availableAt) return res.writeHead(404).end();
      const range = /^bytes=0-(\d+)$/.exec(String(req.headers.range));
      const end = range ? Number(range[1]) : audio.length - 1;
      return res
        .writeHead(206, { 'Content-Type': 'audio/x-wav', 'Content-Range': `bytes 0-${end}/${audio.length}` })
        .end(audio.subarray(0, end + 1));
    });
    const response = await handleRecordingStatus(request(callback({})));
    expect(response).toMatchObject({
      status: 200,
      body: { recordingSid: RE_SID, status: 'completed', available: true },
    });
    expect(host.requests.every((r) => r.url.endsWith(`${RE_SID}.wav`) && r.headers.range === 'bytes=0-43')).toBe(true);
    expect(host.requests.length).toBeGreaterThan(1);
    expect(statusLog()).toEqual([
      expect.objectContaining({
        level: 'info',
        available: true,
        bytes: audio.length,
        durationSeconds: 7,
        callSid: 'CA1',
      }),
    ]);
    expect(statusLog()[0].problem).toBeUndefined();
  });

  it('completed but not a WAV, or a header that disagrees with the size: available, with the problem logged', async () => {
    host.setHandler((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>not audio</html>'));
    expect(await handleRecordingStatus(request(callback({})))).toMatchObject({ body: { available: true } });
    expect(statusLog()[0]).toMatchObject({ level: 'warn', problem: 'the audio is not a WAV file' });
    logs = [];
    const audio = wav(2, 1000);
    host.setHandler((_req, res) =>
      res
        .writeHead(206, { 'Content-Type': 'audio/x-wav', 'Content-Range': `bytes 0-43/${audio.length + 10}` })
        .end(audio.subarray(0, 44)),
    );
    await handleRecordingStatus(request(callback({})));
    expect(statusLog()[0]).toMatchObject({
      level: 'warn',
      problem: `WAV header says ${audio.length} bytes, the host says ${audio.length + 10}`,
    });
  });

  it('completed but never served: available false within the deadline, still a 200 for Twilio', async () => {
    host.setHandler((_req, res) => res.writeHead(404).end());
    const req = request(callback({}));
    expect(await handleRecordingStatus(req)).toMatchObject({ status: 200, body: { available: false } });
    expect(Date.now() - req.receivedAt).toBeLessThanOrEqual(1500 + 250);
    expect(statusLog()[0]).toMatchObject({
      level: 'warn',
      available: false,
      problem: expect.stringMatching(/^the audio could not be fetched/),
    });
  });

  it('absent and failed are logged with their ErrorCode, nothing fetched', async () => {
    expect(
      await handleRecordingStatus(request(callback({ RecordingStatus: 'absent', ErrorCode: '13617' }))),
    ).toMatchObject({ status: 200, body: { status: 'absent' } });
    await handleRecordingStatus(request(callback({ RecordingStatus: 'failed' })));
    expect(statusLog()).toEqual([
      expect.objectContaining({
        level: 'warn',
        status: 'absent',
        errorCode: '13617',
        problem: 'recording absent with error 13617',
      }),
      expect.objectContaining({ level: 'warn', status: 'failed', problem: 'recording failed (no ErrorCode given)' }),
    ]);
    expect(host.requests).toHaveLength(0);
  });

  it('in-progress is logged as info; an unknown status as a warning; nothing fetched', async () => {
    await handleRecordingStatus(request(callback({ RecordingStatus: 'in-progress' })));
    await handleRecordingStatus(request(callback({ RecordingStatus: 'paused' })));
    expect(statusLog().map((l) => [l.status, l.level, l.problem !== undefined])).toEqual([
      ['in-progress', 'info', false],
      ['paused', 'warn', true],
    ]);
    expect(host.requests).toHaveLength(0);
  });

  it('completed without RecordingUrl, or with a bad setting: availability unknown, the reason logged', async () => {
    expect(await handleRecordingStatus(request(callback({ RecordingUrl: '' })))).toMatchObject({
      status: 200,
      body: { available: 'unknown' },
    });
    expect(statusLog()[0].problem).toBe('parameter "RecordingUrl" is missing; availability not checked');
    expect(await handleRecordingStatus(request(callback({}), { MEDIA_FETCH_DEADLINE_MS: '1e3' }))).toMatchObject({
      status: 200,
      body: { available: 'unknown' },
    });
    expect(events('config_error')[0].problem).toMatch(/^MEDIA_FETCH_DEADLINE_MS must be a whole number/);
    expect(host.requests).toHaveLength(0);
  });
});
