import { clip, isoWithOffset, LogRecord } from '../log';
import { SID } from '../sid';
import type { DeleteOutcome, KeepOutcome } from '../keep/media';

/**
 * The `mms_summary` line: the last line of every inbound webhook invocation, one compact record of what happened
 * to each media item. Twilio's Logs API keeps only the last 3 KB of output per invocation, so a message with
 * several items loses its first `media_fetch` / `media_store` lines there; this one line, logged last and kept
 * under 2 KB for 10 items, survives, and media:report (src/lib/report/build.ts) counts from it what was cut.
 *
 * Each item of `items` (short keys, to stay small):
 *   i   the item's index (MediaUrlN)
 *   me  its Media SID (absent when the URL does not end in one)
 *   f   the fetch's outcome: `succeeded` or `gave_up`
 *   ms  the delay from webhook to the fetch's end (media_fetch's delayMs)
 *   a   attempts made (attemptCount)
 *   nf  of those, the ones answered 404 (notFoundCount)
 *   st  the store's outcome (`stored`, `already_stored`, `store_failed`, `conflict`), absent when nothing was kept
 *   dl  the delete from Twilio's outcome (`deleted`, `delete_failed`), absent when no delete was due
 * No credential, no media bytes and no personal data (From, To, Body): SIDs, outcomes and numbers only.
 */
export interface SummaryItem {
  i: number;
  me?: string;
  f: 'succeeded' | 'gave_up';
  ms: number;
  a: number;
  nf: number;
  st?: KeepOutcome;
  dl?: DeleteOutcome;
}

export interface MmsSummary {
  messageSid?: string;
  accountSid?: string;
  /** ISO 8601 with offset, exactly as the item lines of the same invocation write it */
  webhookReceivedAt: string;
  items: SummaryItem[];
}

const KEEP_OUTCOMES: readonly KeepOutcome[] = ['stored', 'already_stored', 'store_failed', 'conflict'];
const DELETE_OUTCOMES: readonly DeleteOutcome[] = ['deleted', 'delete_failed'];

/** The record the webhook logs; `warn` when an item was given up or not kept and deleted cleanly. */
export function mmsSummaryRecord(input: {
  messageSid: string | undefined;
  accountSid: string | undefined;
  receivedAt: number;
  items: SummaryItem[];
}): LogRecord {
  const items = [...input.items].sort((x, y) => x.i - y.i);
  const troubled = items.some(
    (it) =>
      it.f === 'gave_up' || (it.st && it.st !== 'stored' && it.st !== 'already_stored') || it.dl === 'delete_failed',
  );
  return {
    level: troubled ? 'warn' : 'info',
    event: 'mms_summary',
    ...(input.messageSid !== undefined ? { messageSid: clip(input.messageSid) } : {}),
    ...(input.accountSid !== undefined ? { accountSid: clip(input.accountSid) } : {}),
    webhookReceivedAt: isoWithOffset(input.receivedAt),
    items,
  };
}

const count = (v: unknown): number | undefined =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined;

/**
 * An `mms_summary` record read back, or undefined when it is not one in this shape (never an error: the report
 * neither counts nor skips a summary it cannot read). Items that are not in the shape are left out.
 */
export function mmsSummaryOf(record: Record<string, unknown>): MmsSummary | undefined {
  if (record.event !== 'mms_summary' || !Array.isArray(record.items)) return undefined;
  const at = record.webhookReceivedAt;
  if (typeof at !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(at) || Number.isNaN(Date.parse(at))) return undefined;
  const items: SummaryItem[] = [];
  for (const raw of record.items as unknown[]) {
    if (!raw || typeof raw !== 'object') continue;
    const it = raw as Record<string, unknown>;
    const [i, ms, a, nf] = [count(it.i), count(it.ms), count(it.a), count(it.nf)];
    if (i === undefined || ms === undefined || a === undefined || nf === undefined) continue;
    if (it.f !== 'succeeded' && it.f !== 'gave_up') continue;
    const st = KEEP_OUTCOMES.find((o) => o === it.st);
    const dl = DELETE_OUTCOMES.find((o) => o === it.dl);
    items.push({
      i,
      ...(typeof it.me === 'string' ? { me: it.me } : {}),
      f: it.f,
      ms,
      a,
      nf,
      ...(st ? { st } : {}),
      ...(dl ? { dl } : {}),
    });
  }
  return {
    ...(typeof record.messageSid === 'string' ? { messageSid: record.messageSid } : {}),
    ...(typeof record.accountSid === 'string' ? { accountSid: record.accountSid } : {}),
    webhookReceivedAt: at,
    items,
  };
}

/**
 * The media URL of a summary's item, rebuilt as Twilio writes it in MediaUrlN
 * (`https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME`); when a SID is missing or not in
 * shape, a text that says which item it was instead of a URL that never existed.
 */
export function summaryMediaUrl(summary: MmsSummary, item: SummaryItem): string {
  const { accountSid, messageSid } = summary;
  if (accountSid && messageSid && item.me && SID.AC.test(accountSid) && SID.MM.test(messageSid) && SID.ME.test(item.me))
    return `https://api.twilio.com/2010-04-01/Accounts/${accountSid}/Messages/${messageSid}/Media/${item.me}`;
  return `(media ${item.i} of ${messageSid ?? 'an unnamed message'}: its URL is not in the summary)`;
}

/** `iso` moved by `ms`, written with the same offset as `iso` (so a day read from it stays the writer's day). */
export function isoPlus(iso: string, ms: number): string {
  const zone = /(Z|[+-]\d{2}:\d{2})$/.exec(iso)?.[1] ?? 'Z';
  const offsetMinutes =
    zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4)));
  const local = new Date(Date.parse(iso) + ms + offsetMinutes * 60000).toISOString().slice(0, -1);
  return `${local}${zone === 'Z' ? '+00:00' : zone}`;
}
