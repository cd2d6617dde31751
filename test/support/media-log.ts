/**
 * Log lines of the inbound MMS webhook in the shape the deployed Function writes them (src/runtime/function.ts's
 * `at`/`fn`, then media-fetcher's media_fetch record, then the agreed media_store record, and last the invocation's
 * mms_summary, src/lib/mms/summary.ts), for days planned by a
 * test: how many fetches, how many met a 404, how many gave up, what the store did. Deterministic (seeded), so
 * the example log under docs/ is reproducible: `npx tsx test/support/media-log.ts > docs/examples/inbound-media.jsonl`.
 */
export interface DayPlan {
  /** YYYY-MM-DD (UTC) */
  day: string;
  fetches: number;
  /** of the fetches, those that met at least one 404 */
  with404: number;
  /** of those, the ones that gave up */
  gaveUp: number;
  /** store outcomes of the day's fetches that succeeded, in order; the rest are `stored` */
  storeFailed?: number;
  conflict?: number;
  /** media deleted from Twilio after storing (a second line per item), and deletes that failed */
  deleted?: number;
  deleteFailed?: number;
}

export interface LogLine {
  /** the line as console.log prints it */
  text: string;
  /** when it was logged (ISO, UTC) */
  at: string;
  level: 'info' | 'warn' | 'error';
}

const ACCOUNT = `AC${'1'.repeat(32)}`;

/** mulberry32: a tiny seeded generator, so the same plan always gives the same lines */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00');

export function mediaLogLines(plan: DayPlan[], seed = 19): LogLine[] {
  const next = random(seed);
  const lines: LogLine[] = [];
  let serial = 0;
  for (const day of plan) {
    const dayStart = Date.parse(`${day.day}T00:00:00Z`);
    const store = [
      ...Array<string>(day.storeFailed ?? 0).fill('store_failed'),
      ...Array<string>(day.conflict ?? 0).fill('conflict'),
    ];
    let deleted = day.deleted ?? 0;
    let deleteFailed = day.deleteFailed ?? 0;
    for (let i = 0; i < day.fetches; i += 1) {
      serial += 1;
      const messageSid = `MM${hex(serial, 32)}`;
      const mediaSid = `ME${hex(serial, 32)}`;
      const mediaUrl = `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT}/Messages/${messageSid}/Media/${mediaSid}`;
      // spread over the day's working hours, in order
      const received = dayStart + Math.floor(((i + next()) / day.fetches) * 12 * 3_600_000) + 7 * 3_600_000;
      const met404 = i < day.with404;
      const gaveUp = met404 && i < day.gaveUp;
      const notFound = gaveUp ? 6 + Math.floor(next() * 3) : met404 ? 1 + Math.floor(next() * 4) : 0;
      const attempts = Array.from({ length: notFound + (gaveUp ? 0 : 1) }, (_, k) => ({
        status: k < notFound ? 404 : 200,
        ms: 40 + Math.floor(next() * 120),
      }));
      const firstAttempt = received + 15 + Math.floor(next() * 30);
      const delayMs = gaveUp
        ? 8000 + Math.floor(next() * 400)
        : met404
          ? 400 + notFound * (300 + Math.floor(next() * 500))
          : 120 + Math.floor(next() * next() * 900);
      const ended = received + delayMs;
      const bytes = gaveUp ? 0 : 48_000 + Math.floor(next() * 90_000);
      const fetch = {
        at: iso(ended),
        fn: 'mms/inbound',
        level: gaveUp ? 'warn' : 'info',
        event: 'media_fetch',
        outcome: gaveUp ? 'gave_up' : 'succeeded',
        mediaUrl,
        source: 'message',
        messageSid,
        index: 0,
        webhookReceivedAt: iso(received),
        firstAttemptAt: iso(firstAttempt),
        endedAt: iso(ended),
        delayMs,
        attemptCount: attempts.length,
        notFoundCount: notFound,
        attempts,
        ...(gaveUp ? { reason: 'still 404 at the deadline' } : { bytes, contentType: 'image/jpeg' }),
      };
      lines.push({ text: JSON.stringify(fetch), at: new Date(ended).toISOString(), level: fetch.level as 'info' });
      // the invocation's last line, as mmsSummaryRecord writes it
      const summary = (at: number, st?: string, dl?: string): LogLine => {
        const warn = gaveUp || (st !== undefined && st !== 'stored') || dl === 'delete_failed';
        const text = JSON.stringify({
          at: iso(at),
          fn: 'mms/inbound',
          level: warn ? 'warn' : 'info',
          event: 'mms_summary',
          messageSid,
          accountSid: ACCOUNT,
          webhookReceivedAt: iso(received),
          items: [
            {
              i: 0,
              me: mediaSid,
              f: fetch.outcome,
              ms: delayMs,
              a: attempts.length,
              nf: notFound,
              ...(st ? { st } : {}),
              ...(dl ? { dl } : {}),
            },
          ],
        });
        return { text, at: new Date(at).toISOString(), level: warn ? 'warn' : 'info' };
      };
      if (gaveUp) {
        lines.push(summary(ended + 5));
        continue;
      }
      const outcome = store.shift() ?? 'stored';
      const storedAt = ended + 30 + Math.floor(next() * 200);
      const key = `inbound/${ACCOUNT}/${messageSid}/${mediaSid}.jpg`;
      const level = outcome === 'stored' ? 'info' : outcome === 'conflict' ? 'warn' : 'error';
      const record = {
        at: iso(storedAt),
        fn: 'mms/inbound',
        level,
        event: 'media_store',
        outcome,
        messageSid,
        mediaSid,
        index: 0,
        key,
        bytes,
        sha256: hex(serial * 2654435761, 64).slice(-64),
        ...(outcome === 'store_failed' ? { status: 503, problem: 'the store answered 503' } : {}),
        ...(outcome === 'conflict' ? { status: 412, problem: 'a different object is stored under this key' } : {}),
        webhookReceivedAt: iso(received),
      };
      lines.push({ text: JSON.stringify(record), at: new Date(storedAt).toISOString(), level: level });
      if (outcome !== 'stored' || (deleted === 0 && deleteFailed === 0)) {
        lines.push(summary(storedAt + 5, outcome));
        continue;
      }
      const failed = deleted === 0;
      if (failed) deleteFailed -= 1;
      else deleted -= 1;
      const deletedAt = storedAt + 80;
      lines.push({
        text: JSON.stringify({
          ...record,
          at: iso(deletedAt),
          level: failed ? 'warn' : 'info',
          outcome: failed ? 'delete_failed' : 'deleted',
          ...(failed ? { status: 500, problem: 'Twilio answered 500' } : {}),
        }),
        at: new Date(deletedAt).toISOString(),
        level: failed ? 'warn' : 'info',
      });
      lines.push(summary(deletedAt + 5, outcome, failed ? 'delete_failed' : 'deleted'));
    }
  }
  return lines;
}

/** A week with a bad day: what docs/examples/inbound-media.jsonl holds, and what its screenshot shows. */
export function exampleWeek(firstDay: string): DayPlan[] {
  const start = Date.parse(`${firstDay}T00:00:00Z`);
  const day = (n: number) => new Date(start + n * 86_400_000).toISOString().slice(0, 10);
  return [
    { day: day(0), fetches: 40, with404: 5, gaveUp: 0, deleted: 38, deleteFailed: 1 },
    { day: day(1), fetches: 46, with404: 8, gaveUp: 1, storeFailed: 2, deleted: 40 },
    { day: day(2), fetches: 42, with404: 11, gaveUp: 0, deleted: 40 },
    { day: day(3), fetches: 55, with404: 30, gaveUp: 3, storeFailed: 3, conflict: 1, deleted: 44, deleteFailed: 2 },
    { day: day(4), fetches: 44, with404: 13, gaveUp: 1, deleted: 42 },
    { day: day(5), fetches: 28, with404: 3, gaveUp: 0, deleted: 27 },
    { day: day(6), fetches: 22, with404: 2, gaveUp: 0, deleted: 22 },
  ];
}

if (require.main === module) {
  for (const line of mediaLogLines(exampleWeek(process.argv[2] ?? '2026-11-23'))) console.log(line.text);
}
