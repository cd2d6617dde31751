/**
 * The escalation report: reads the media_fetch log lines back (as `twilio serverless:logs` or the local runtime
 * print them, with or without a prefix before the JSON) and summarises them per day, with the details Twilio
 * Support asks for when transient 404s become frequent: media URLs, Message SIDs, timestamps with time zone.
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
  escalate: boolean;
  incidents: FetchRecord[];
}

export interface Report {
  threshold: number;
  days: DaySummary[];
  skippedLines: number;
  /** media_fetch lines of recordings (callback probes, archive downloads): not message media, left out */
  recordingFetches: number;
}

/**
 * A media_fetch line that is not message media: its `source` says so, or, in lines written before `source`
 * existed, it names a recording and no message.
 */
function isRecordingFetch(record: { source?: unknown; recordingSid?: unknown; messageSid?: unknown }): boolean {
  if (record.source !== undefined) return record.source !== 'message';
  return record.recordingSid !== undefined && record.messageSid === undefined;
}

export function parseLogLines(lines: Iterable<string>): {
  records: FetchRecord[];
  skipped: number;
  recordingFetches: number;
} {
  const records: FetchRecord[] = [];
  let skipped = 0;
  let recordingFetches = 0;
  for (const line of lines) {
    if (!line.includes('"media_fetch"')) continue;
    const start = line.indexOf('{');
    const end = line.lastIndexOf('}');
    try {
      const record = JSON.parse(line.slice(start, end + 1)) as Partial<FetchRecord> & {
        event?: string;
        source?: unknown;
        recordingSid?: unknown;
      };
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
    } catch {
      skipped += 1;
    }
  }
  return { records, skipped, recordingFetches };
}

/** Nearest-rank percentile. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function buildReport(records: FetchRecord[], threshold = 24, skippedLines = 0, recordingFetches = 0): Report {
  const byDay = new Map<string, FetchRecord[]>();
  for (const r of records) {
    // The day as the timestamp was written (the runtime's zone, shown with its offset), so days match the logs.
    const day = r.webhookReceivedAt.slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), r]);
  }
  const days = [...byDay.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, rs]): DaySummary => {
      const delays = rs
        .filter((r) => r.outcome === 'succeeded')
        .map((r) => r.delayMs)
        .sort((a, b) => a - b);
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
        escalate: with404.length >= threshold,
        incidents,
      };
    });
  return { threshold, days, skippedLines, recordingFetches };
}

const ms = (v: number | null) => (v === null ? '-' : `${v}`);

export function formatMarkdown(report: Report): string {
  const out: string[] = ['# Inbound media fetch report', ''];
  out.push(`Escalation threshold: ${report.threshold} fetches meeting a 404 in one day.`, '');
  out.push(
    '| day | fetches | messages | met a 404 | 404 then success | 404 responses | retries | gave up | p50 delay ms | p95 delay ms | escalate |',
  );
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const d of report.days) {
    out.push(
      `| ${d.day} | ${d.fetches} | ${d.messages} | ${d.with404} | ${d.transient404} | ${d.notFoundResponses} | ${d.retries} | ${d.gaveUp} | ${ms(d.p50DelayMs)} | ${ms(d.p95DelayMs)} | ${d.escalate ? '**yes**' : 'no'} |`,
    );
  }
  for (const d of report.days.filter((x) => x.escalate)) {
    out.push('', `## Escalation for ${d.day}`, '');
    out.push(
      `${d.with404} media fetches met HTTP 404 on ${d.day} (${d.transient404} succeeded on a later attempt, ${d.gaveUp} gave up). Details for Twilio Support:`,
      '',
    );
    out.push('| Message SID | media URL | webhook received | first attempt | ended | outcome | 404s | attempts |');
    out.push('| --- | --- | --- | --- | --- | --- | ---: | ---: |');
    for (const r of d.incidents) {
      out.push(
        `| ${r.messageSid ?? '-'} | ${r.mediaUrl} | ${r.webhookReceivedAt} | ${r.firstAttemptAt ?? '-'} | ${r.endedAt} | ${r.outcome}${r.reason ? ` (${r.reason})` : ''} | ${r.notFoundCount} | ${r.attemptCount} |`,
      );
    }
  }
  if (report.recordingFetches)
    out.push(
      '',
      `${report.recordingFetches} media_fetch line(s) of recordings (status callback probes, archive downloads) are not message media and were left out.`,
    );
  if (report.skippedLines)
    out.push('', `${report.skippedLines} media_fetch line(s) could not be read and were skipped.`);
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
  ] as const;
  const rows = report.days.map((d) => header.map((h) => csvCell(d[h])).join(','));
  return [header.join(','), ...rows].join('\n') + '\n';
}
