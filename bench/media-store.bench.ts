// Keeping inbound media, against s3rver on loopback (the one the tests run, test/support/s3-front.ts, addressed
// directly: the tests' checking front buffers and re-signs every request, which would be most of what is measured):
// (a) the time from the webhook's arrival to all of a message's media stored, through the real handler
//     (handleInboundMms with the store), for messages of 1 and 10 items whose media becomes available 0-7 s
//     (uniform) after the webhook, as in the retry bench; beside it the keep routine's own cost (media there at
//     once) and the named baseline: a plain PUT of the same items to the same store.
// (b) `npm run media:sync` throughput for 1,000 messages against the fake REST API, with its peak memory, beside a
//     plain PUT loop of the same objects at the same concurrency; and the re-run that finds everything stored.
// No timing is asserted; a media item the store refused, or a sync that does not exit 0, fails the benchmark.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { LogRecord } from '../src/lib/log';
import { handleInboundMms } from '../src/lib/mms/inbound';
import { S3Store } from '../src/lib/storage/s3-store';
import { formatTable } from '../src/lib/text-table';
import { FakeHost, startFakeHost } from '../test/support/fake-host';
import { FakeMessage, startFakeTwilioApi } from '../test/support/fake-twilio-api';
import { S3Front, S3RVER_CREDENTIALS, startS3Front } from '../test/support/s3-front';
import { quickNote, sized } from './quick';
import { percentile, prng } from './stats';

const AC = 'AC' + '6'.repeat(32);
const TOKEN = 'media-store-bench-token';
const BUCKET = 'bench-media';
const ITEM_BYTES = 60_000;
/** as bench/retry.bench.ts: media available 0-7 s after the webhook; a tenth of it in quick mode */
const MAX_DELAY_MS = sized(7000, 700);
const MESSAGES: Record<number, number> = { 1: sized(100, 8), 10: sized(30, 3) };
/** webhooks at once: 20 of one item, 4 of ten (40 items in flight either way, on an in-process s3rver) */
const CONCURRENT_WEBHOOKS: Record<number, number> = { 1: 20, 10: 4 };
const STORE_ONLY_ROUNDS = sized(40, 5);
const SYNC_MESSAGES = sized(1000, 50);
const SYNC_CONCURRENCY = 4;

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const body = (seed: number) => Buffer.alloc(ITEM_BYTES, seed & 0xff);

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '-');

function storeEnv(s3: S3Front, prefix: string): Record<string, string> {
  return {
    MEDIA_STORE_URL: `s3://${BUCKET}/${prefix}`,
    MEDIA_STORE_ENDPOINT: s3.backendEndpoint,
    MEDIA_STORE_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    MEDIA_STORE_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  };
}

interface WebhookFigures {
  kept: number;
  items: number;
  total: number[];
  afterAvailable: number[];
}

/** Messages of `items` items through handleInboundMms, `concurrent` at a time. */
async function webhooks(
  s3: S3Front,
  media: FakeHost,
  served: Map<string, { body: Buffer; availableAt: number }>,
  tag: number,
  count: number,
  items: number,
  maxDelayMs: number,
  concurrent: number,
): Promise<WebhookFigures> {
  const random = prng(42 + items);
  const env = {
    ACCOUNT_SID: AC,
    AUTH_TOKEN: TOKEN,
    MEDIA_ALLOWED_HOSTS: media.host,
    ...storeEnv(s3, `webhook-${tag}`),
  };
  const figures: WebhookFigures = { kept: 0, items: 0, total: [], afterAvailable: [] };
  const problems: string[] = [];
  let next = 0;
  const one = async (m: number) => {
    const messageSid = `MM${hex(tag, 8)}${hex(m, 24)}`;
    const receivedAt = Date.now();
    const params: Record<string, string> = { MessageSid: messageSid, AccountSid: AC, NumMedia: String(items) };
    let lastAvailable = receivedAt;
    for (let i = 0; i < items; i += 1) {
      const mediaPath = `/2010-04-01/Accounts/${AC}/Messages/${messageSid}/Media/ME${hex(tag, 8)}${hex(m * 10 + i, 24)}`;
      const availableAt = receivedAt + random() * maxDelayMs;
      lastAvailable = Math.max(lastAvailable, availableAt);
      served.set(mediaPath, { body: body(m + i), availableAt });
      params[`MediaUrl${i}`] = `${media.url}${mediaPath}`;
      params[`MediaContentType${i}`] = 'image/jpeg';
    }
    let storedAt = 0;
    let stored = 0;
    const log = (record: LogRecord) => {
      if (record.event !== 'media_store') return;
      if (record.outcome === 'stored') {
        stored += 1;
        storedAt = Math.max(storedAt, Date.now());
      } else if (record.status !== undefined || record.outcome === 'conflict') {
        // the store answered with an error: a broken benchmark, not a figure
        problems.push(
          `${messageSid}: ${String(record.outcome)} ${typeof record.problem === 'string' ? record.problem : ''}`,
        );
      }
      // a store_failed without a status is the deadline passing (media that appeared late, a busy store): it is
      // counted as not kept, which is what media:sync catches up
    };
    // the handler as the Function calls it, with the arrival time the platform gateway stamps
    await handleInboundMms({ params, url: 'https://example.twil.io/mms/inbound', env, receivedAt, log }, () => {});
    figures.items += items;
    if (stored === items) {
      figures.kept += 1;
      figures.total.push(storedAt - receivedAt);
      figures.afterAvailable.push(storedAt - lastAvailable);
    }
  };
  const worker = async () => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrent, count) }, worker));
  if (problems.length) throw new Error(`the store refused media:\n${problems.slice(0, 5).join('\n')}`);
  return figures;
}

/** The baseline: the same items PUT plainly (no existence check, no read-back), all of a message at once. */
async function plainPuts(s3: S3Front, rounds: number, items: number): Promise<number[]> {
  const store = new S3Store({
    bucket: BUCKET,
    prefix: 'baseline/',
    endpoint: s3.backendEndpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  const times: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    const started = Date.now();
    await Promise.all(
      Array.from({ length: items }, (_, i) =>
        store.put(`put-${items}-${r}-${i}.jpg`, body(r + i), { contentType: 'image/jpeg' }),
      ),
    );
    times.push(Date.now() - started);
  }
  return times;
}

/** Runs media-sync-child.ts; async, since the fake REST API answering it lives in this process. */
async function child(
  args: string[],
  env: Record<string, string>,
): Promise<{ ms: number; code: number; maxRssMB: number }> {
  const proc = spawn(
    process.execPath,
    [require.resolve('tsx/cli'), path.join(__dirname, 'media-sync-child.ts'), ...args],
    {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    },
  );
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const status = await new Promise<number | null>((resolve) => proc.on('close', resolve));
  if (status !== 0) throw new Error(`media-sync-child ${args[0]} failed:\n${stderr}`);
  const last = JSON.parse(stdout.trim().split('\n').pop()!) as {
    ms: number;
    code: number;
    errors: string;
    maxRssMB: number;
  };
  if (last.code !== 0) throw new Error(`media:sync exited ${last.code}:\n${last.errors}`);
  return last;
}

async function main(): Promise<void> {
  const s3 = await startS3Front([BUCKET]);
  const served = new Map<string, { body: Buffer; availableAt: number }>();
  const media = await startFakeHost((req, res) => {
    const item = served.get(req.url ?? '');
    if (!item || Date.now() < item.availableAt) return res.writeHead(404).end();
    return res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': item.body.length }).end(item.body);
  });
  try {
    quickNote();
    const rows = [
      [
        'message',
        'messages kept',
        'webhook -> all stored p50 / p99 ms',
        'after the last item appeared p50 / p99 ms',
        'media there at once, one webhook at a time p50 / p99 ms',
        'plain PUT of the items (baseline) p50 / p99 ms',
        'keep / PUT (p50)',
      ],
    ];
    let tag = 1;
    for (const items of [1, 10]) {
      const late = await webhooks(
        s3,
        media,
        served,
        tag++,
        MESSAGES[items],
        items,
        MAX_DELAY_MS,
        CONCURRENT_WEBHOOKS[items],
      );
      // one message at a time, as the baseline's rounds: the keep routine's own cost beside a plain PUT
      const atOnce = await webhooks(s3, media, served, tag++, STORE_ONLY_ROUNDS, items, 0, 1);
      const puts = await plainPuts(s3, STORE_ONLY_ROUNDS, items);
      rows.push([
        `${items} item${items > 1 ? 's' : ''} of ${ITEM_BYTES / 1000} kB`,
        `${late.kept}/${MESSAGES[items]}`,
        `${ms(percentile(late.total, 50))} / ${ms(percentile(late.total, 99))}`,
        `${ms(percentile(late.afterAvailable, 50))} / ${ms(percentile(late.afterAvailable, 99))}`,
        `${ms(percentile(atOnce.total, 50))} / ${ms(percentile(atOnce.total, 99))}`,
        `${ms(percentile(puts, 50))} / ${ms(percentile(puts, 99))}`,
        (percentile(atOnce.total, 50) / Math.max(1, percentile(puts, 50))).toFixed(2),
      ]);
    }
    console.log(
      `(a) Inbound webhook to all media stored, through handleInboundMms with the S3 store (s3rver on loopback); media available 0-${MAX_DELAY_MS / 1000} s after the webhook (uniform), 20 webhooks of 1 item or 4 of 10 items at once (kept: all its items stored within the 8 s fetch deadline):`,
    );
    console.log(formatTable(rows));

    const messages: FakeMessage[] = Array.from({ length: SYNC_MESSAGES }, (_, k) => ({
      sid: `MM${hex(k + 1, 32)}`,
      to: '+15005550001',
      from: '+15005550006',
      dateSent: new Date(Date.UTC(2026, 10, 2, 8, 0, 0, k)),
      media: [{ sid: `ME${hex(k + 1, 32)}`, contentType: 'image/jpeg', body: body(k) }],
    }));
    const api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages, pageSize: 1000 });
    try {
      const env = {
        ACCOUNT_SID: AC,
        AUTH_TOKEN: TOKEN,
        TWILIO_API_BASE_URL: api.baseUrl,
        MEDIA_ALLOWED_HOSTS: api.host.host,
        ...storeEnv(s3, 'sync'),
      };
      const args = ['--since', '2026-11-01', '--until', '2026-11-30', '--concurrency', String(SYNC_CONCURRENCY)];
      const first = await child(['sync', ...args], env);
      const again = await child(['sync', ...args], env);
      const baseline = await child(
        ['put-loop', String(SYNC_MESSAGES), String(SYNC_CONCURRENCY), String(ITEM_BYTES)],
        env,
      );
      const perSecond = (r: { ms: number }) => (SYNC_MESSAGES / (r.ms / 1000)).toFixed(0);
      console.log(
        `\n(b) npm run media:sync over ${SYNC_MESSAGES} messages of one ${ITEM_BYTES / 1000} kB item each (fake REST API, same store), --concurrency ${SYNC_CONCURRENCY}, each run in its own process (startup included):`,
      );
      console.log(
        formatTable([
          ['run', 'time s', 'media/s', 'peak RSS MB', 'vs plain PUT loop'],
          [
            'media:sync, nothing stored yet',
            (first.ms / 1000).toFixed(1),
            perSecond(first),
            first.maxRssMB.toFixed(0),
            (first.ms / baseline.ms).toFixed(2),
          ],
          [
            'media:sync again, all already there',
            (again.ms / 1000).toFixed(1),
            perSecond(again),
            again.maxRssMB.toFixed(0),
            (again.ms / baseline.ms).toFixed(2),
          ],
          [
            `plain PUT loop of the same objects (baseline)`,
            (baseline.ms / 1000).toFixed(1),
            perSecond(baseline),
            baseline.maxRssMB.toFixed(0),
            '1.00',
          ],
        ]),
      );
    } finally {
      await api.close();
    }
  } finally {
    await media.close();
    await s3.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
