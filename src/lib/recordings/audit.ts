import { formatTable } from '../text-table';
import { RecordingLike, RecordingSummary, summarize } from './model';
import type { RecordingRecord } from '../keep/recording-record';

export interface AuditRow extends RecordingSummary {
  /** the kept copy named by the recording's record in the media store, when there is one */
  keptKey?: string;
  keptAt?: string;
}

export function auditRows(recordings: RecordingLike[], records: Map<string, RecordingRecord>): AuditRow[] {
  return recordings.map((recording) => {
    const kept = records.get(recording.sid);
    return {
      ...summarize(recording),
      ...(kept ? { keptKey: kept.key, keptAt: kept.keptAt } : {}),
    };
  });
}

const WHERE: Record<RecordingSummary['mediaLocation'], string> = {
  twilio: 'Twilio',
  external: 'External Storage',
  deleted: 'deleted (metadata only)',
  none: 'no audio',
  pending: 'not complete yet',
};

/** A plain-text table (one line per recording) and totals by where the audio lives. */
export function formatAuditTable(rows: AuditRow[], storeDescription: string): string {
  const header = ['Recording SID', 'Created (UTC)', 'Duration', 'Status', 'Audio', 'Kept copy', 'Metadata purged'];
  const lines = rows.map((r) => [
    r.sid,
    r.dateCreated.replace('T', ' ').slice(0, 19),
    r.durationSeconds === null ? '-' : `${r.durationSeconds}s`,
    r.errorCode ? `${r.status} (${r.errorCode})` : r.status,
    r.mediaLocation === 'external' && r.mediaHost ? `External Storage (${r.mediaHost})` : WHERE[r.mediaLocation],
    r.keptKey ?? '-',
    r.metadataPurgedAt ? r.metadataPurgedAt.slice(0, 10) : '-',
  ]);
  // totals in a fixed order (WHERE's), whatever order the API listed the recordings in
  const totals = new Map<string, number>();
  for (const location of Object.keys(WHERE) as RecordingSummary['mediaLocation'][]) {
    const n = rows.filter((r) => r.mediaLocation === location).length;
    if (n) totals.set(WHERE[location], n);
  }
  const atTwilioOnly = rows.filter((r) => r.mediaLocation === 'twilio' && !r.keptKey).length;
  const rule = header.map((h, i) => '-'.repeat(Math.max(h.length, ...lines.map((l) => l[i].length))));
  return [
    formatTable([header, rule, ...lines]),
    '',
    `${rows.length} recording${rows.length === 1 ? '' : 's'}: ${[...totals].map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}`,
    `Media store ${storeDescription}: ${rows.filter((r) => r.keptKey).length} kept; ${atTwilioOnly} held only by Twilio`,
    '',
  ].join('\n');
}
