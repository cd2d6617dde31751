import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jsonLine, LogRecord } from '../../src/lib/log';
import { handleInboundMms } from '../../src/lib/mms/inbound';
import { buildReport, DaySummary, parseLogLines } from '../../src/lib/report/build';
import { mmsSummaryRecord, SummaryItem } from '../../src/lib/mms/summary';
import { FakeHost, startFakeHost } from '../support/fake-host';

// The mms_summary line against Twilio's Logs API limit, "the last 3 KB of output per invocation": the webhook is
// run for real (fake media host on loopback, a folder store, deletes from Twilio), its lines written as the
// Function writes them, then cut as Twilio cuts them; the report must read the same numbers either way.

const ACCOUNT_SID = `AC${'a'.repeat(32)}`;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const TWILIO_KEEPS_BYTES = 3072;
const mediaSid = (k: number) => `ME${String(k).padStart(32, 'f')}`;

let host: FakeHost;
let dir: string;
beforeAll(async () => {
  host = await startFakeHost((_req, res) => res.writeHead(404).end());
});
afterAll(() => host.close());
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-summary-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * One invocation of /mms/inbound for a message of `count` items, its lines as the deployed Function prints them.
 * Item 1 answers 404 for 300 ms, item 9 never appears (gave up), item 4's DELETE fails, item 5 meets a different
 * object under its key (conflict); the rest are stored and deleted.
 */
async function invocation(messageSid: string, count: number): Promise<string[]> {
  const lines: string[] = [];
  const started = Date.now();
  const base = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${messageSid}/Media/`;
  fs.mkdirSync(path.join(dir, ACCOUNT_SID, messageSid), { recursive: true });
  fs.writeFileSync(path.join(dir, ACCOUNT_SID, messageSid, `${mediaSid(5)}.png`), 'other bytes');
  host.setHandler((req, res) => {
    const k = Number(req.url?.slice(-1));
    if (req.method === 'DELETE') return res.writeHead(k === 4 ? 500 : 204).end();
    if (k === 9 || (k === 1 && Date.now() - started < 300)) return res.writeHead(404).end();
    return res.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG);
  });
  const params: Record<string, string> = {
    MessageSid: messageSid,
    AccountSid: ACCOUNT_SID,
    NumMedia: String(count),
    From: '+15550001111',
    To: '+15550002222',
    Body: 'a private text',
  };
  for (let k = 0; k < count; k += 1) {
    params[`MediaUrl${k}`] = `${host.url}${base}${mediaSid(k)}`;
    params[`MediaContentType${k}`] = 'image/png';
  }
  await handleInboundMms({
    params,
    url: 'https://x.twil.io/mms/inbound',
    env: {
      ACCOUNT_SID,
      AUTH_TOKEN: 'unit-auth-token',
      MEDIA_ALLOWED_HOSTS: host.host,
      MEDIA_FETCH_DEADLINE_MS: '1500',
      MEDIA_ATTEMPT_TIMEOUT_MS: '500',
      MEDIA_STORE_URL: `folder:${dir}`,
      MEDIA_DELETE_AFTER_STORE: 'true',
    },
    receivedAt: started,
    // as src/runtime/function.ts prints every line: jsonLine's `at`, then `fn`
    log: (record: LogRecord) => void lines.push(jsonLine({ fn: 'mms/inbound', ...record })),
  });
  return lines;
}

/** What Twilio's Logs API keeps of an invocation: its last 3072 bytes, the line cut at the start dropped. */
function lastThreeKb(lines: string[]): string[] {
  const text = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  if (text.length <= TWILIO_KEEPS_BYTES) return lines;
  const kept = text.subarray(text.length - TWILIO_KEEPS_BYTES).toString('utf8');
  return kept
    .slice(kept.indexOf('\n') + 1)
    .split('\n')
    .filter(Boolean);
}

/** The per-day numbers; the incidents' details (first attempt, reason) are what a summary does not carry. */
const counts = (lines: string[]) => {
  const parsed = parseLogLines(lines);
  const report = buildReport(parsed.records, 1, parsed.skipped, parsed.recordingFetches, parsed.storeRecords);
  return {
    skipped: parsed.skipped,
    days: report.days.map(({ incidents, ...day }: DaySummary) => ({ ...day, incidents: incidents.length })),
    delay: report.delay,
  };
};

describe('the mms_summary line', () => {
  it('stays under 2 KB for 10 items with the longest outcomes and figures, and carries no personal data', () => {
    const items: SummaryItem[] = Array.from({ length: 10 }, (_, i) => ({
      i,
      me: `ME${'0123456789abcdef'.repeat(2)}`,
      f: 'succeeded',
      ms: 99_999,
      a: 99,
      nf: 98,
      st: 'already_stored',
      dl: 'delete_failed',
    }));
    const line = jsonLine({
      fn: 'mms/inbound',
      ...mmsSummaryRecord({
        messageSid: `MM${'0123456789abcdef'.repeat(2)}`,
        accountSid: `AC${'0123456789abcdef'.repeat(2)}`,
        receivedAt: Date.parse('2026-11-26T10:00:00.000Z'),
        items,
      }),
    });
    expect(Buffer.byteLength(line)).toBeLessThan(2048);
    expect(JSON.parse(line)).toMatchObject({ level: 'warn', event: 'mms_summary', items });
  });

  it.each([1, 10])(
    'a message of %i item(s): the report over the last 3 KB equals the report over every line',
    async (count) => {
      const messageSid = `MM${String(count).padStart(32, '0')}`;
      const full = await invocation(messageSid, count);
      const cut = lastThreeKb(full);
      const summary = JSON.parse(full[full.length - 1]) as LogRecord;
      expect(summary.event).toBe('mms_summary');
      expect(full.join('\n')).not.toMatch(/\+1555000|a private text|unit-auth-token/);
      if (count === 10) {
        // the cut is real: most of the per-item lines are gone, the summary is not
        const fetchLines = (ls: string[]) => ls.filter((l) => l.includes('"event":"media_fetch"')).length;
        expect(fetchLines(full)).toBe(10);
        expect(fetchLines(cut)).toBeLessThan(3);
        expect(cut[cut.length - 1]).toBe(full[full.length - 1]);
      } else expect(cut).toEqual(full);

      const expected = counts(full);
      expect(counts(cut)).toEqual(expected);
      const [day] = expected.days;
      expect(day).toMatchObject({ fetches: count, messages: 1, with404: count === 10 ? 2 : 0 });
      if (count === 10) {
        expect(day.gaveUp).toBe(1);
        expect(day.store).toEqual({
          stored: 8,
          already_stored: 0,
          store_failed: 0,
          conflict: 1,
          deleted: 7,
          delete_failed: 1,
        });
      } else expect(day.store).toMatchObject({ stored: 1, deleted: 1 });
      // without the summary the cut loses fetches: what this line is for
      if (count === 10) expect(counts(cut.slice(0, -1)).days[0]?.fetches ?? 0).toBeLessThan(3);
    },
  );

  it('is not counted on top of the lines it summarises, whichever of them are present, nor ever skipped', async () => {
    const full = await invocation(`MM${'7'.repeat(32)}`, 10);
    const expected = counts(full);
    const summary = full[full.length - 1];
    // every per-item line alone, the summary alone, and each cut in between: always the same numbers
    expect(counts(full.slice(0, -1))).toEqual(expected);
    expect(counts([summary]).days.map((d) => [d.fetches, d.with404, d.gaveUp, d.store])).toEqual(
      expected.days.map((d) => [d.fetches, d.with404, d.gaveUp, d.store]),
    );
    for (let drop = 0; drop < full.length; drop += 1) expect(counts(full.slice(drop))).toEqual(expected);
    // the same log read twice counts twice per line, as before, but the summary adds nothing to it
    const twice = counts([...full, ...full]).days[0];
    expect([twice.fetches, twice.store.stored]).toEqual([20, 16]);
    expect(counts([`2026-11-26T10:00:00Z ${summary.slice(0, 300)}`, ...full]).skipped).toBe(0);
  });

  it('synthesised fetches carry the canonical media URL and are marked as such', async () => {
    const messageSid = `MM${'8'.repeat(32)}`;
    const full = await invocation(messageSid, 10);
    const parsed = parseLogLines(full.slice(-1));
    expect(parsed.records.map((r) => r.mediaUrl)).toEqual(
      Array.from(
        { length: 10 },
        (_, k) =>
          `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${messageSid}/Media/${mediaSid(k)}`,
      ),
    );
    expect(parsed.records.every((r) => r.fromSummary === true)).toBe(true);
    const real = parseLogLines(full.filter((l) => l.includes('"index":9,') && l.includes('media_fetch'))).records[0];
    const rebuilt = parsed.records[9];
    expect(rebuilt).toMatchObject({
      outcome: 'gave_up',
      webhookReceivedAt: real.webhookReceivedAt,
      endedAt: real.endedAt,
      delayMs: real.delayMs,
      attemptCount: real.attemptCount,
      notFoundCount: real.notFoundCount,
    });
  });
});
