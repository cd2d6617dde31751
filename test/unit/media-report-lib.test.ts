import { buildReport, formatMarkdown, parseLogLines } from '../../src/lib/report/build';
import { renderReportPage } from '../../src/lib/report/page';
import { dayWindows, rangeWithinRetention } from '../../src/lib/report/service-logs';

const ACCOUNT = `AC${'1'.repeat(32)}`;

/** a media_store line in the agreed shape, as the webhook's `log` writes it */
function storeLine(outcome: string, webhookReceivedAt: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    at: webhookReceivedAt,
    fn: 'mms/inbound',
    level: outcome === 'stored' || outcome === 'deleted' ? 'info' : 'warn',
    event: 'media_store',
    outcome,
    messageSid: 'MM1',
    mediaSid: 'ME1',
    index: 0,
    key: `inbound/${ACCOUNT}/MM1/ME1.jpg`,
    bytes: 10,
    sha256: 'ab'.repeat(32),
    webhookReceivedAt,
    ...extra,
  });
}

function fetchLine(delayMs: number, receivedAt: string, notFoundCount = 0): string {
  return JSON.stringify({
    at: receivedAt,
    fn: 'mms/inbound',
    event: 'media_fetch',
    source: 'message',
    outcome: 'succeeded',
    messageSid: 'MM1',
    mediaUrl: 'https://api.twilio.com/x/Media/ME1',
    webhookReceivedAt: receivedAt,
    endedAt: receivedAt,
    delayMs,
    attemptCount: notFoundCount + 1,
    notFoundCount,
  });
}

describe("the report counts the inbound webhook's media_store lines per day", () => {
  it('counts each outcome on the day of its webhook, a day with stores only included', () => {
    const parsed = parseLogLines([
      fetchLine(300, '2026-11-26T10:00:00.000+00:00'),
      storeLine('stored', '2026-11-26T10:00:00.000+00:00'),
      storeLine('deleted', '2026-11-26T10:00:00.000+00:00'),
      storeLine('already_stored', '2026-11-26T23:59:59.000+00:00', { at: '2026-11-27T00:00:01.000+00:00' }),
      `2026-11-27T08:00:00Z ${storeLine('store_failed', '2026-11-27T08:00:00.000+00:00', { status: 503, problem: 'the store answered 503' })}`,
      storeLine('conflict', '2026-11-27T09:00:00.000+00:00'),
      storeLine('delete_failed', '2026-11-27T09:00:00.000+00:00', { status: 500 }),
      storeLine('exploded', '2026-11-27T09:00:00.000+00:00'),
      JSON.stringify({ event: 'media_store', outcome: 'stored' }),
    ]);
    expect(parsed.skipped).toBe(2);
    const report = buildReport(parsed.records, 24, parsed.skipped, 0, parsed.storeRecords);
    expect(report.days.map((d) => [d.day, d.fetches, d.store])).toEqual([
      ['2026-11-26', 1, { stored: 1, already_stored: 1, store_failed: 0, conflict: 0, deleted: 1, delete_failed: 0 }],
      ['2026-11-27', 0, { stored: 0, already_stored: 0, store_failed: 1, conflict: 1, deleted: 0, delete_failed: 1 }],
    ]);
    const markdown = formatMarkdown(report);
    expect(markdown).toContain('| 2026-11-27 | 0 | 0 | 1 | 1 | 0 | 1 |');
    expect(markdown).toContain('2 media_fetch or media_store line(s) could not be read');
  });

  it('gives every day all six outcomes, 0 when none', () => {
    const parsed = parseLogLines([fetchLine(100, '2026-11-26T10:00:00.000+00:00')]);
    const [day] = buildReport(parsed.records).days;
    expect(day.store).toEqual({
      stored: 0,
      already_stored: 0,
      store_failed: 0,
      conflict: 0,
      deleted: 0,
      delete_failed: 0,
    });
    expect(formatMarkdown(buildReport(parsed.records))).not.toContain('## Media store outcomes');
  });
});

describe('the delay distribution', () => {
  it('puts every successful fetch in one equal-width bin from 0, the slow tail in the last, with p50/p95/p99', () => {
    const delays = [...Array.from({ length: 97 }, (_, i) => 100 + i * 10), 5000, 9000, 60_000];
    const parsed = parseLogLines(delays.map((d) => fetchLine(d, '2026-11-26T10:00:00.000+00:00')));
    const { delay, days } = buildReport(parsed.records);
    expect(delay.count).toBe(100);
    expect([delay.p50Ms, delay.p95Ms, delay.p99Ms]).toEqual([590, 1040, 9000]);
    expect([days[0].p50DelayMs, days[0].p95DelayMs, days[0].p99DelayMs]).toEqual([590, 1040, 9000]);
    const width = delay.bins[0].toMs - delay.bins[0].fromMs;
    expect(delay.bins.every((b, i) => b.fromMs === i * width && b.toMs === (i + 1) * width)).toBe(true);
    expect(delay.bins.length).toBeLessThanOrEqual(40);
    expect(delay.bins.reduce((n, b) => n + b.count, 0)).toBe(100);
    // the p99 lies inside the bins, and the 60 s outlier sits in the last one
    expect(delay.bins[delay.bins.length - 1].fromMs).toBeGreaterThan(9000);
    expect(delay.bins[delay.bins.length - 1].count).toBe(1);
  });

  it('is empty without a successful fetch', () => {
    expect(buildReport([]).delay).toEqual({ count: 0, p50Ms: null, p95Ms: null, p99Ms: null, bins: [] });
  });
});

describe('the report page', () => {
  it('keeps hostile log text inert: escaped in the tables, unable to close the embedded JSON', () => {
    const evil = 'https://api.twilio.com/x/Media/ME1</script><script>alert(1)</script>';
    const parsed = parseLogLines([
      JSON.stringify({ ...JSON.parse(fetchLine(100, '2026-11-26T10:00:00.000+00:00', 2)), mediaUrl: evil }),
    ]);
    const report = buildReport(parsed.records, 1);
    const page = renderReportPage(report, { chartJs: '/* chart.js */', generatedAt: '2026-11-27T00:00:00.000+00:00' });
    expect(page).not.toContain('<script>alert(1)');
    expect(page).toContain('ME1&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    const embedded = /<script type="application\/json" id="report-json">(.*?)<\/script>/s.exec(page)?.[1] ?? '';
    expect(JSON.parse(embedded)).toEqual(JSON.parse(JSON.stringify(report)));
    // no address to fetch anything from, and a policy that forbids it
    expect(page).toContain(`default-src 'none'`);
    expect(page).not.toMatch(/\b(src|href)="(https?:)?\/\//);
  });

  it('inlines the chart library so that a `</script` inside it cannot end its element', () => {
    const page = renderReportPage(buildReport([]), { chartJs: 'var s = "</script>";', generatedAt: 'now' });
    expect(page).toContain('var s = "<\\/script>";');
    expect(page).toContain('No media_fetch or media_store lines in this range.');
    expect(page).not.toContain('<canvas');
  });
});

describe('the range read from the Logs API', () => {
  const now = new Date('2026-11-30T09:00:00.000Z');

  it('is cut at each UTC midnight, on whole seconds widened outwards', () => {
    const windows = dayWindows(new Date('2026-11-28T22:00:00.400Z'), new Date('2026-11-30T08:59:59.999Z'));
    expect(windows.map((w) => [w.start.toISOString(), w.end.toISOString()])).toEqual([
      ['2026-11-28T22:00:00.000Z', '2026-11-29T00:00:00.000Z'],
      ['2026-11-29T00:00:00.000Z', '2026-11-30T00:00:00.000Z'],
      ['2026-11-30T00:00:00.000Z', '2026-11-30T09:00:00.000Z'],
    ]);
  });

  it('keeps to the 30 days Twilio holds logs for', () => {
    expect(rangeWithinRetention(new Date('2026-11-01T09:00:00Z'), now, now).notes).toEqual([]);
    const cut = rangeWithinRetention(new Date('2026-10-01T00:00:00Z'), now, now);
    expect(cut.since.toISOString()).toBe('2026-10-31T09:00:00.000Z');
    expect(cut.notes[0]).toContain('this report starts at 2026-10-31T09:00:00.000Z');
    expect(() => rangeWithinRetention(new Date('2026-10-01'), new Date('2026-10-31T09:00:00Z'), now)).toThrow(
      /older than 30 days/,
    );
  });
});
