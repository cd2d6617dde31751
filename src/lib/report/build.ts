import { isoPlus, mmsSummaryOf, MmsSummary, summaryMediaUrl } from '../mms/summary';

/**
 * The escalation report: reads the media_fetch and media_store log lines back (as `twilio serverless:logs` or the
 * local runtime print them, with or without a prefix before the JSON), completed by each invocation's mms_summary
 * line where they were cut, and summarises them per day, with the details Twilio Support asks for when transient
 * 404s become frequent: media URLs, Message SIDs, timestamps with time zone.
 */
export interface FetchRecord {
  outcome: 'succeeded' | 'gave_up';
  messageSid?: string;
  mediaUrl: string;
  webhookReceivedAt: string;
  firstAttemptAt?: string;
  endedAt: string;
  delayMs: number;
  attemptCount: number;
  notFoundCount: number;
  reason?: string;
  /**
   * true when the media_fetch line itself was not in the logs (Twilio's Logs API keeps the last 3 KB of each
   * invocation) and this record was rebuilt from the invocation's mms_summary line: no firstAttemptAt, no reason
   */
  fromSummary?: true;
}

export interface DaySummary {
  day: string;
  fetches: number;
  messages: number;
  /** fetches that met at least one 404 */
  with404: number;
  /** of those, the ones that still succeeded */
  transient404: number;
  notFoundResponses: number;
  retries: number;
  gaveUp: number;
  p50DelayMs: number | null;
  p95DelayMs: number | null;
  p99DelayMs: number | null;
  escalate: boolean;
  incidents: FetchRecord[];
  /** the inbound webhook's media_store lines of the day, by outcome (0 when none) */
  store: StoreCounts;
  /** the recording_store lines of the day (status callback and archive command), by outcome (0 when none) */
  recordings: StoreCounts;
}

export const STORE_OUTCOMES = [
  'stored',
  'already_stored',
  'store_failed',
  'conflict',
  'deleted',
  'delete_failed',
] as const;
export type StoreOutcome = (typeof STORE_OUTCOMES)[number];
export type StoreCounts = Record<StoreOutcome, number>;

/** One media_store line: what the inbound webhook did with one media item in the team's store. */
export interface StoreRecord {
  outcome: StoreOutcome;
  /** the day is taken from webhookReceivedAt, as for fetches, else from the line's own `at` */
  at: string;
}

/** The delay from webhook to media of every fetch that succeeded, over the whole report. */
export interface DelayDistribution {
  count: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** equal-width bins from 0; the last one also holds everything above it */
  bins: { fromMs: number; toMs: number; count: number }[];
}

/** Where the log lines came from, shown in the report's heading. */
export interface ReportSource {
  kind: 'files' | 'stdin' | 'service';
  files?: string[];
  serviceSid?: string;
  environmentSid?: string;
  /** the environment's domain suffix or SID as asked for */
  environment?: string;
  since?: string;
  until?: string;
  /** log entries read from the service */
  logEntries?: number;
  /** what the reader of the report must know about the range (retention, truncation) */
  notes?: string[];
}

export interface Report {
  threshold: number;
  days: DaySummary[];
  skippedLines: number;
  /** media_fetch lines of recordings (callback probes, archive downloads): not message media, left out */
  recordingFetches: number;
  delay: DelayDistribution;
  source?: ReportSource;
}

/**
 * A media_fetch line that is not message media: its `source` says so, or, in lines written before `source`
 * existed, it names a recording and no message.
 */
function isRecordingFetch(record: { source?: unknown; recordingSid?: unknown; messageSid?: unknown }): boolean {
  if (record.source !== undefined) return record.source !== 'message';
  return record.recordingSid !== undefined && record.messageSid === undefined;
}

export interface ParsedLog {
  records: FetchRecord[];
  skipped: number;
  recordingFetches: number;
  storeRecords: StoreRecord[];
  /** recording_store lines: what the status callback and the archive command did with each recording */
  recordingStoreRecords: StoreRecord[];
}

/** A media_store line in the agreed shape, or undefined when it is not one. */
function storeRecordOf(record: Record<string, unknown>): StoreRecord | undefined {
  const outcome = STORE_OUTCOMES.find((o) => o === record.outcome);
  const at = typeof record.webhookReceivedAt === 'string' ? record.webhookReceivedAt : record.at;
  if (!outcome || typeof at !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(at)) return undefined;
  return { outcome, at };
}

/**
 * One media item of one webhook invocation: the message, the invocation's webhookReceivedAt (every line of an
 * invocation writes the same one; a redelivery of the message has its own) and the item's index.
 */
const itemKey = (messageSid: unknown, webhookReceivedAt: unknown, index: unknown): string =>
  JSON.stringify([messageSid ?? null, webhookReceivedAt ?? null, index ?? null]);

const DELETE_OUTCOMES: readonly StoreOutcome[] = ['deleted', 'delete_failed'];

/**
 * What the mms_summary lines add: only what the per-item lines of the same invocation do not say themselves.
 * The rule, per media item of an invocation and per kind of line (a fetch, a store, a delete; each is logged at
 * most once per item and invocation): when the item's own line of that kind is in the input, it is counted and
 * the summary's entry of that kind is not; when it is not (cut by Twilio's 3 KB, or never saved), the summary's
 * entry is counted instead. So nothing is counted twice, and a message that lost only some of its lines (the
 * first ones: Twilio keeps the end) is completed item by item. When an invocation's summary is itself repeated
 * (the same log read twice), it is used once.
 */
function fromSummaries(
  summaries: MmsSummary[],
  seen: { fetches: Set<string>; stores: Set<string>; deletes: Set<string> },
): { records: FetchRecord[]; storeRecords: StoreRecord[] } {
  const records: FetchRecord[] = [];
  const storeRecords: StoreRecord[] = [];
  const used = new Set<string>();
  for (const summary of summaries) {
    const at = summary.webhookReceivedAt;
    for (const item of summary.items) {
      const key = itemKey(summary.messageSid, at, item.i);
      if (used.has(key)) continue;
      used.add(key);
      if (!seen.fetches.has(key))
        records.push({
          outcome: item.f,
          messageSid: summary.messageSid,
          mediaUrl: summaryMediaUrl(summary, item),
          webhookReceivedAt: at,
          endedAt: isoPlus(at, item.ms),
          delayMs: item.ms,
          attemptCount: item.a,
          notFoundCount: item.nf,
          fromSummary: true,
        });
      if (item.st && !seen.stores.has(key)) storeRecords.push({ outcome: item.st, at });
      if (item.dl && !seen.deletes.has(key)) storeRecords.push({ outcome: item.dl, at });
    }
  }
  return { records, storeRecords };
}

export function parseLogLines(lines: Iterable<string>): ParsedLog {
  const records: FetchRecord[] = [];
  const storeRecords: StoreRecord[] = [];
  const recordingStoreRecords: StoreRecord[] = [];
  const summaries: MmsSummary[] = [];
  const seen = { fetches: new Set<string>(), stores: new Set<string>(), deletes: new Set<string>() };
  let skipped = 0;
  let recordingFetches = 0;
  for (const line of lines) {
    const isStore = line.includes('"media_store"');
    const isRecordingStore = !isStore && line.includes('"recording_store"');
    const isSummary = !isStore && !isRecordingStore && line.includes('"mms_summary"');
    if (!isStore && !isRecordingStore && !isSummary && !line.includes('"media_fetch"')) continue;
    const start = line.indexOf('{');
    const end = line.lastIndexOf('}');
    if (isSummary) {
      // never skipped: one that cannot be read only means the per-item lines (if any) are all there is
      try {
        const summary = mmsSummaryOf(JSON.parse(line.slice(start, end + 1)) as Record<string, unknown>);
        if (summary) summaries.push(summary);
      } catch {
        // not counted either way
      }
      continue;
    }
    try {
      const record = JSON.parse(line.slice(start, end + 1)) as Partial<FetchRecord> & {
        event?: string;
        source?: unknown;
        recordingSid?: unknown;
        index?: unknown;
      };
      if (isRecordingStore && record.event === 'recording_store') {
        const store = storeRecordOf(record);
        if (store) recordingStoreRecords.push(store);
        else skipped += 1;
        continue;
      }
      if (isStore && record.event === 'media_store') {
        const store = storeRecordOf(record);
        if (store) {
          storeRecords.push(store);
          const key = itemKey(record.messageSid, record.webhookReceivedAt, record.index);
          (DELETE_OUTCOMES.includes(store.outcome) ? seen.deletes : seen.stores).add(key);
        } else skipped += 1;
        continue;
      }
      if (record.event === 'media_fetch' && isRecordingFetch(record)) {
        recordingFetches += 1;
        continue;
      }
      if (
        record.event !== 'media_fetch' ||
        typeof record.webhookReceivedAt !== 'string' ||
        typeof record.mediaUrl !== 'string'
      ) {
        skipped += 1;
        continue;
      }
      records.push({
        outcome: record.outcome === 'succeeded' ? 'succeeded' : 'gave_up',
        messageSid: record.messageSid,
        mediaUrl: record.mediaUrl,
        webhookReceivedAt: record.webhookReceivedAt,
        firstAttemptAt: record.firstAttemptAt,
        endedAt: record.endedAt ?? record.webhookReceivedAt,
        delayMs: Number(record.delayMs) || 0,
        attemptCount: Number(record.attemptCount) || 0,
        notFoundCount: Number(record.notFoundCount) || 0,
        reason: record.reason,
      });
      seen.fetches.add(itemKey(record.messageSid, record.webhookReceivedAt, record.index));
    } catch {
      skipped += 1;
    }
  }
  const added = fromSummaries(summaries, seen);
  return {
    records: [...records, ...added.records],
    skipped,
    recordingFetches,
    storeRecords: [...storeRecords, ...added.storeRecords],
    recordingStoreRecords,
  };
}

/** Nearest-rank percentile. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Bin widths of the delay histogram: the smallest that keeps it within MAX_BINS bins up to the p99. */
const BIN_STEPS_MS = [50, 100, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000];
const MAX_BINS = 40;

function delayDistribution(sortedDelays: number[]): DelayDistribution {
  const p99 = percentile(sortedDelays, 99);
  const bins: DelayDistribution['bins'] = [];
  if (p99 !== null) {
    const step = BIN_STEPS_MS.find((s) => p99 / s < MAX_BINS) ?? BIN_STEPS_MS[BIN_STEPS_MS.length - 1];
    // one bin past the p99 so the p99 is never on the right edge; anything slower lands in the last bin
    const count = Math.min(MAX_BINS, Math.floor(p99 / step) + 2);
    for (let i = 0; i < count; i += 1) bins.push({ fromMs: i * step, toMs: (i + 1) * step, count: 0 });
    for (const d of sortedDelays) bins[Math.min(count - 1, Math.floor(d / step))].count += 1;
  }
  return {
    count: sortedDelays.length,
    p50Ms: percentile(sortedDelays, 50),
    p95Ms: percentile(sortedDelays, 95),
    p99Ms: p99,
    bins,
  };
}

/** The delays of the fetches that succeeded, sorted: what the percentiles are taken over. */
const successDelays = (records: FetchRecord[]): number[] =>
  records
    .filter((r) => r.outcome === 'succeeded')
    .map((r) => r.delayMs)
    .sort((a, b) => a - b);

const noStore = (): StoreCounts => Object.fromEntries(STORE_OUTCOMES.map((o) => [o, 0])) as unknown as StoreCounts;

export function buildReport(
  records: FetchRecord[],
  threshold = 24,
  skippedLines = 0,
  recordingFetches = 0,
  storeRecords: StoreRecord[] = [],
  recordingStoreRecords: StoreRecord[] = [],
): Report {
  const byDay = new Map<string, FetchRecord[]>();
  const storeByDay = new Map<string, StoreCounts>();
  const recordingsByDay = new Map<string, StoreCounts>();
  for (const r of records) {
    // The day as the timestamp was written (the runtime's zone, shown with its offset), so days match the logs.
    const day = r.webhookReceivedAt.slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), r]);
  }
  for (const [lines, counted] of [
    [storeRecords, storeByDay],
    [recordingStoreRecords, recordingsByDay],
  ] as const) {
    for (const s of lines) {
      const day = s.at.slice(0, 10);
      const counts = counted.get(day) ?? noStore();
      counts[s.outcome] += 1;
      counted.set(day, counts);
      // a day with stores but no fetch line (the fetch lines were cut by the log's size limit) still shows
      if (!byDay.has(day)) byDay.set(day, []);
    }
  }
  const days = [...byDay.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, rs]): DaySummary => {
      const delays = successDelays(rs);
      const incidents = rs.filter((r) => r.notFoundCount > 0 || r.outcome === 'gave_up');
      const with404 = rs.filter((r) => r.notFoundCount > 0);
      return {
        day,
        fetches: rs.length,
        messages: new Set(rs.map((r) => r.messageSid)).size,
        with404: with404.length,
        transient404: with404.filter((r) => r.outcome === 'succeeded').length,
        notFoundResponses: rs.reduce((n, r) => n + r.notFoundCount, 0),
        retries: rs.reduce((n, r) => n + Math.max(0, r.attemptCount - 1), 0),
        gaveUp: rs.filter((r) => r.outcome === 'gave_up').length,
        p50DelayMs: percentile(delays, 50),
        p95DelayMs: percentile(delays, 95),
        p99DelayMs: percentile(delays, 99),
        escalate: with404.length >= threshold,
        incidents,
        store: storeByDay.get(day) ?? noStore(),
        recordings: recordingsByDay.get(day) ?? noStore(),
      };
    });
  return { threshold, days, skippedLines, recordingFetches, delay: delayDistribution(successDelays(records)) };
}

const ms = (v: number | null) => (v === null ? '-' : `${v}`);

/** How the report's range and origin read in its heading; empty for lines read from files or stdin. */
export function describeSource(source: ReportSource | undefined): string[] {
  if (!source || source.kind !== 'service') return [];
  const out = [
    `From the deployed service ${source.serviceSid}, environment ${source.environment} (${source.environmentSid}): ${source.logEntries ?? 0} log entries from ${source.since} to ${source.until}.`,
  ];
  for (const note of source.notes ?? []) out.push(`Note: ${note}`);
  return out;
}

/**
 * The escalation sections (days at or over the threshold) as the text pasted into a support ticket: the
 * markdown report and the page's copy button both use this, so the ticket reads the same from either.
 */
export function formatEscalation(report: Report): string {
  const out: string[] = [];
  for (const d of report.days.filter((x) => x.escalate)) {
    if (out.length) out.push('');
    out.push(`## Escalation for ${d.day}`, '');
    out.push(
      `${d.with404} media fetches met HTTP 404 on ${d.day} (${d.transient404} succeeded on a later attempt, ${d.gaveUp} gave up). Details for Twilio Support:`,
      '',
    );
    out.push('| Message SID | media URL | webhook received | first attempt | ended | outcome | 404s | attempts |');
    out.push('| --- | --- | --- | --- | --- | --- | ---: | ---: |');
    for (const r of d.incidents) {
      out.push(
        `| ${r.messageSid ?? '-'} | ${r.mediaUrl} | ${r.webhookReceivedAt} | ${r.firstAttemptAt ?? '-'} | ${r.endedAt} | ${outcomeText(r)} | ${r.notFoundCount} | ${r.attemptCount} |`,
      );
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

export const outcomeText = (r: FetchRecord): string => `${r.outcome}${r.reason ? ` (${r.reason})` : ''}`;

export function formatMarkdown(report: Report): string {
  const out: string[] = ['# Inbound media fetch report', ''];
  const source = describeSource(report.source);
  if (source.length) out.push(...source, '');
  out.push(`Escalation threshold: ${report.threshold} fetches meeting a 404 in one day.`, '');
  out.push(
    '| day | fetches | messages | met a 404 | 404 then success | 404 responses | retries | gave up | p50 delay ms | p95 delay ms | p99 delay ms | escalate |',
  );
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const d of report.days) {
    out.push(
      `| ${d.day} | ${d.fetches} | ${d.messages} | ${d.with404} | ${d.transient404} | ${d.notFoundResponses} | ${d.retries} | ${d.gaveUp} | ${ms(d.p50DelayMs)} | ${ms(d.p95DelayMs)} | ${ms(d.p99DelayMs)} | ${d.escalate ? '**yes**' : 'no'} |`,
    );
  }
  for (const [of, title] of [
    ['store', 'Media store outcomes'],
    ['recordings', 'Recording outcomes'],
  ] as const) {
    const days = report.days.filter((d) => STORE_OUTCOMES.some((o) => d[of][o] > 0));
    if (!days.length) continue;
    out.push('', `## ${title}`, '');
    out.push(`| day | ${STORE_OUTCOMES.join(' | ')} |`);
    out.push(`| --- |${STORE_OUTCOMES.map(() => ' ---: |').join('')}`);
    for (const d of days) out.push(`| ${d.day} | ${STORE_OUTCOMES.map((o) => d[of][o]).join(' | ')} |`);
  }
  const escalation = formatEscalation(report);
  if (escalation) out.push('', escalation.trimEnd());
  if (report.recordingFetches)
    out.push(
      '',
      `${report.recordingFetches} media_fetch line(s) of recordings (status callback, archive downloads) are not message media and were left out of the fetch figures; their outcomes are under Recording outcomes.`,
    );
  if (report.skippedLines)
    out.push('', `${report.skippedLines} media_fetch or media_store line(s) could not be read and were skipped.`);
  return out.join('\n') + '\n';
}

function csvCell(value: string | number | boolean | null | undefined): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function formatCsv(report: Report): string {
  const header = [
    'day',
    'fetches',
    'messages',
    'with404',
    'transient404',
    'notFoundResponses',
    'retries',
    'gaveUp',
    'p50DelayMs',
    'p95DelayMs',
    'escalate',
    // appended after the older columns so that a tool reading them by position keeps working
    'p99DelayMs',
  ] as const;
  const rows = report.days.map((d) =>
    [
      ...header.map((h) => csvCell(d[h])),
      ...STORE_OUTCOMES.map((o) => d.store[o]),
      ...STORE_OUTCOMES.map((o) => d.recordings[o]),
    ].join(','),
  );
  return (
    [
      [...header, ...STORE_OUTCOMES.map((o) => `store_${o}`), ...STORE_OUTCOMES.map((o) => `recording_${o}`)].join(','),
      ...rows,
    ].join('\n') + '\n'
  );
}
