// Simulates 1000 inbound MMS whose media becomes available 0-7 s (uniform) after the webhook, on a virtual
// clock, and runs each retry policy through the same simulation: success within the Function's deadline, the
// lag between availability and success (p50, p99), and requests per media. got's and p-retry's policies are
// their documented default schedules, modelled here; the libraries are not dependencies of this project.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchMedia } from '../src/lib/fetch/media-fetcher';
import { DEFAULT_FETCH_DEADLINE_MS } from '../src/lib/fetch/settings';
import { DEFAULT_SCHEDULE, retryDelay, RetrySchedule } from '../src/lib/fetch/schedule';
import { formatTable } from '../src/lib/text-table';
import { quickNote, sized } from './quick';
import { percentile, prng } from './stats';

const MESSAGES = sized(1000, 100);
const MAX_DELAY_MS = 7000;
/** one request's round trip to Twilio's media API, as seen from a Function */
const RTT_MS = 60;
/** as in the fetcher: an attempt needs this long before the deadline; a shortened final wait at least this */
const MIN_ATTEMPT_MS = 200;
const MIN_FINAL_WAIT_MS = 100;

interface Policy {
  name: string;
  /** delay before retry n (0-based), or undefined to stop */
  next(retry: number, random: () => number): number | undefined;
  retries404: boolean;
  /** our fetcher shortens the last wait to make one final attempt just before the deadline */
  finalAttempt?: boolean;
}

const schedulePolicy = (name: string, schedule: RetrySchedule): Policy => ({
  name,
  retries404: true,
  finalAttempt: true,
  next: (retry, random) => retryDelay(retry, schedule, random),
});

const tuning = process.env.RETRY_SCHEDULE ? (JSON.parse(process.env.RETRY_SCHEDULE) as RetrySchedule) : undefined;
const policies: Policy[] = tuning
  ? [schedulePolicy(`candidate ${JSON.stringify(tuning)}`, tuning)]
  : [
      { name: 'no retry', retries404: false, next: () => undefined },
      // got 14 defaults: limit 2, delay 2^(n) s + up to 100 ms noise, and 404 is not in its retried status codes
      {
        name: "got's default retry (404 not retried)",
        retries404: false,
        next: (n, r) => (n < 2 ? 1000 * 2 ** n + r() * 100 : undefined),
      },
      {
        name: "got's default schedule, 404 added",
        retries404: true,
        next: (n, r) => (n < 2 ? 1000 * 2 ** n + r() * 100 : undefined),
      },
      // p-retry 7 defaults: retries 10, factor 2, minTimeout 1000, no randomisation
      { name: "p-retry's default schedule", retries404: true, next: (n) => (n < 10 ? 1000 * 2 ** n : undefined) },
      schedulePolicy('full jitter, same cap (jitter 1)', { ...DEFAULT_SCHEDULE, jitter: 1 }),
      schedulePolicy(
        `ours (base ${DEFAULT_SCHEDULE.baseMs} ms, x${DEFAULT_SCHEDULE.factor}, cap ${DEFAULT_SCHEDULE.capMs} ms, jitter ${DEFAULT_SCHEDULE.jitter})`,
        DEFAULT_SCHEDULE,
      ),
    ];

function simulate(policy: Policy, deadlineMs: number) {
  const delays = prng(42);
  const random = prng(7);
  const lags: number[] = [];
  let requests = 0;
  let succeeded = 0;
  for (let m = 0; m < MESSAGES; m += 1) {
    const availableAt = delays() * MAX_DELAY_MS;
    let t = 0;
    for (let retry = 0; ; retry += 1) {
      requests += 1;
      const answeredAt = t + RTT_MS;
      if (t + RTT_MS / 2 >= availableAt) {
        succeeded += 1;
        lags.push(answeredAt - availableAt);
        break;
      }
      if (!policy.retries404) break;
      let wait = policy.next(retry, random);
      if (wait === undefined) break;
      if (answeredAt + wait + MIN_ATTEMPT_MS > deadlineMs) {
        const last = deadlineMs - MIN_ATTEMPT_MS - answeredAt;
        if (!policy.finalAttempt || last < MIN_FINAL_WAIT_MS) break;
        wait = last;
      }
      t = answeredAt + wait;
    }
  }
  const pct = (p: number) => percentile(lags, p);
  return { success: succeeded / MESSAGES, p50: pct(50), p99: pct(99), perMedia: requests / MESSAGES };
}

/**
 * The same messages through the real fetcher (src/lib/fetch/media-fetcher.ts) over HTTP on loopback, on the
 * same virtual clock: the fetcher's clock and sleep are virtual, and the media host advances the clock by half
 * the round trip when a request arrives and again before it answers (404 before availability, the media after).
 * This checks that the model above is the code, retry bookkeeping, final attempt and deadline included.
 */
async function throughRealFetcher(deadlineMs: number) {
  const delays = prng(42);
  let clock = 0;
  let availableAt = 0;
  let requests = 0;
  const server = http.createServer((_req, res) => {
    requests += 1;
    clock += RTT_MS / 2;
    const ready = clock >= availableAt;
    clock += RTT_MS / 2;
    if (ready) res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': '3' }).end('PNG');
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lags: number[] = [];
  let succeeded = 0;
  try {
    for (let m = 0; m < MESSAGES; m += 1) {
      availableAt = delays() * MAX_DELAY_MS;
      clock = 0;
      const outcome = await fetchMedia({
        url: `http://${host}/Media/ME${m}`,
        allowedHosts: [host],
        deadlineAt: deadlineMs,
        receivedAt: 0,
        now: () => clock,
        sleep: async (ms) => {
          clock += ms;
        },
        random: prng(7 + m),
      });
      if (outcome.ok) {
        succeeded += 1;
        lags.push(outcome.endedAt - availableAt);
      }
    }
  } finally {
    server.close();
  }
  const pct = (p: number) => percentile(lags, p);
  return { success: succeeded / MESSAGES, p50: pct(50), p99: pct(99), perMedia: requests / MESSAGES };
}

async function main(): Promise<void> {
  const rows = [['policy', 'success', 'p50 lag s', 'p99 lag s', 'requests/media']];
  const row = (name: string, r: { success: number; p50: number; p99: number; perMedia: number }) =>
    rows.push([
      name,
      `${(r.success * 100).toFixed(1)}%`,
      Number.isNaN(r.p50) ? '-' : (r.p50 / 1000).toFixed(2),
      Number.isNaN(r.p99) ? '-' : (r.p99 / 1000).toFixed(2),
      r.perMedia.toFixed(2),
    ]);
  for (const policy of policies) row(policy.name, simulate(policy, DEFAULT_FETCH_DEADLINE_MS));
  if (!tuning) row('ours, the real fetcher over loopback HTTP', await throughRealFetcher(DEFAULT_FETCH_DEADLINE_MS));
  quickNote();
  console.log(
    `${MESSAGES} messages, media available 0-${MAX_DELAY_MS / 1000} s after the webhook (uniform), ${RTT_MS} ms per request, fetch deadline ${DEFAULT_FETCH_DEADLINE_MS / 1000} s:`,
  );
  console.log(formatTable(rows));
  console.log('targets for ours: 100% success, p99 lag < 1.2 s, <= 5.5 requests/media');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
