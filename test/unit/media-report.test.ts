import { jsonLine, LogRecord } from '../../src/lib/log';
import { EMPTY_MESSAGING_TWIML, handleInboundMms } from '../../src/lib/mms/inbound';
import { buildReport, formatMarkdown, parseLogLines } from '../../src/lib/report/build';
import { handleRecordingStatus } from '../../src/lib/recordings/status-callback';

const AUTH_TOKEN = 'unit-auth-token';
const SID = `RE${'c'.repeat(32)}`;

async function call<T>(
  handler: (r: Parameters<typeof handleInboundMms>[0]) => Promise<T>,
  url: string,
  params: Record<string, string>,
): Promise<string[]> {
  const lines: string[] = [];
  await handler({
    params,
    url,
    env: { AUTH_TOKEN, ACCOUNT_SID: 'AC1' },
    receivedAt: Date.now(),
    log: (record: LogRecord) => lines.push(jsonLine(record)),
  });
  return lines;
}

describe('media:report tells message media from recording fetches', () => {
  it('counts only message media, also in lines written before the source field', async () => {
    // Real log lines: media on a host off the allowlist gives up at once, without a network call.
    const message = await call(handleInboundMms, 'https://example.twil.io/mms/inbound', {
      MessageSid: 'MM1',
      NumMedia: '1',
      MediaUrl0: 'https://media.example.test/Media/ME1',
      MediaContentType0: 'image/png',
    });
    const probe = await call(handleRecordingStatus, 'https://example.twil.io/recordings/status', {
      RecordingSid: SID,
      RecordingStatus: 'completed',
      RecordingUrl: `https://media.example.test/Recordings/${SID}`,
    });
    const fetchLines = (lines: string[]) => lines.filter((l) => l.includes('"event":"media_fetch"'));
    expect(fetchLines(message)[0]).toContain('"source":"message"');
    expect(fetchLines(probe)[0]).toContain('"source":"recording_probe"');
    // A probe line as logged before `source` existed: a recording, 404s, no Message SID.
    const legacyProbe = JSON.stringify({
      event: 'media_fetch',
      outcome: 'succeeded',
      mediaUrl: `https://api.twilio.com/x/Recordings/${SID}.wav`,
      recordingSid: SID,
      webhookReceivedAt: '2026-11-25T10:00:00.000+00:00',
      endedAt: '2026-11-25T10:00:02.000+00:00',
      delayMs: 2000,
      attemptCount: 3,
      notFoundCount: 2,
    });
    const { records, recordingFetches, skipped } = parseLogLines([...message, ...probe, legacyProbe]);
    expect(skipped).toBe(0);
    expect(recordingFetches).toBe(2);
    expect(records.map((r) => r.messageSid)).toEqual(['MM1']);
    const report = buildReport(records, 1, skipped, recordingFetches);
    expect(report.days.reduce((n, d) => n + d.fetches, 0)).toBe(1);
    expect(report.days.every((d) => d.incidents.every((r) => r.messageSid))).toBe(true);
    expect(formatMarkdown(report)).toContain('2 media_fetch line(s) of recordings');
  });
});

describe("the inbound webhook's TwiML", () => {
  it('answers the same empty document MessagingResponse writes, without loading it', () => {
    const MessagingResponse =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('twilio/lib/twiml/MessagingResponse') as typeof import('twilio/lib/twiml/MessagingResponse');
    expect(EMPTY_MESSAGING_TWIML).toBe(new MessagingResponse().toString());
  });
  it('escapes a configured reply through the builder', async () => {
    const params = { MessageSid: 'MM2', NumMedia: '0' };
    const url = 'https://example.twil.io/mms/inbound';
    const response = await handleInboundMms({
      params,
      url,
      env: { AUTH_TOKEN, MMS_REPLY: 'Thanks <3 & bye' },
      receivedAt: Date.now(),
      log: () => undefined,
    });
    expect(response.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks &lt;3 &amp; bye</Message></Response>',
    );
  });
});
