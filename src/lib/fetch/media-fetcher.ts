import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { hostAllowed } from './allowlist';
import { bodyProblem, classifyStatus, FatalFetchError } from './classify';
import { DEFAULT_SCHEDULE, parseRetryAfter, retryDelay, RetrySchedule, validateSchedule } from './schedule';
import { isoWithOffset, redactUrl } from '../log';
import { basicAuthorization } from '../http/basic-auth';

/**
 * Fetches one Twilio media URL (MMS media, a recording) through transient failures, inside a deadline.
 *
 *   const outcome = await fetchMedia({ url, auth: { username: ACCOUNT_SID, password: AUTH_TOKEN },
 *     allowedHosts, redirectAllowedHosts, deadlineAt: receivedAt + 8000, log: (r) => console.log(JSON.stringify(r)) });
 *
 * - only hosts on the allowlists are ever contacted, redirect targets included (checked before connecting);
 * - HTTP Basic credentials go only to the origin of the original URL, never to a redirect target elsewhere;
 * - retries per classify.ts, delays per schedule.ts, Retry-After honoured when it fits the deadline;
 * - each attempt has a timeout covering connect, headers and body; no attempt starts past the deadline;
 * - the body is counted while it is read against `budget` (shared by the media of one message);
 * - one log record per outcome (and one per attempt at debug level), timestamps in ISO 8601 with offset.
 * Written on node:http rather than fetch or got because redirects must be followed by hand to enforce the
 * allowlist and drop credentials across origins, and got's retry cannot be bounded by a total deadline.
 */
export interface FetchMediaOptions {
  url: string;
  auth?: { username: string; password: string };
  allowedHosts: string[];
  /** hosts a redirect may lead to; default allowedHosts */
  redirectAllowedHosts?: string[];
  /** epoch ms after which no attempt starts and any running attempt is cut */
  deadlineAt: number;
  attemptTimeoutMs?: number;
  /** bytes left for this fetch; shared and decremented by the fetches of one message */
  budget?: ByteBudget;
  /**
   * Only confirm the media is there: ask for its first N bytes with a Range request and stop reading after N
   * bytes even if the server ignores Range. The outcome's totalBytes gives the full size when the server says.
   */
  probeBytes?: number;
  /**
   * Write the body to this file instead of memory (a recording of any length: memory stays flat), hashing it as it
   * comes; each attempt starts the file again. The outcome then carries `spooled` and an empty `body`.
   */
  spoolTo?: string;
  schedule?: RetrySchedule;
  maxRedirects?: number;
  /** called with each log record (an outcome, and attempts when debug is on) */
  log?: (record: Record<string, unknown>) => void;
  debug?: boolean;
  /**
   * fields added to every log record, e.g. { source: 'message', messageSid }; `source` tells the report what the
   * fetch was for: 'message' (MMS media), 'recording' (a recording kept by the callback or the archive),
   * 'recording_probe' (the callback without a store)
   */
  logContext?: Record<string, string | number | undefined>;
  /** when the webhook or callback arrived (epoch ms), for the delay figures */
  receivedAt?: number;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class ByteBudget {
  constructor(
    public remaining: number,
    readonly limit: number = remaining,
  ) {}
  take(bytes: number): boolean {
    this.remaining -= bytes;
    return this.remaining >= 0;
  }
  /** bytes of an attempt that was not kept (cut, timed out, refused) no longer count against the message */
  giveBack(bytes: number): void {
    this.remaining += bytes;
  }
}

/** A body written to a file by the fetch (`spoolTo`): where, how many bytes, and their sha256 (hex). */
export interface SpooledBody {
  file: string;
  bytes: number;
  sha256: string;
}

export interface AttemptRecord {
  attempt: number;
  startedAt: string;
  durationMs: number;
  status?: number;
  error?: string;
  /** host answered, when it was a redirect target */
  host?: string;
}

export type FetchOutcome =
  | {
      ok: true;
      status: number;
      contentType: string;
      body: Buffer;
      /** set when the body went to a file (`spoolTo`); `body` is then empty */
      spooled?: SpooledBody;
      totalBytes?: number;
      attempts: AttemptRecord[];
      startedAt: number;
      endedAt: number;
    }
  | { ok: false; reason: string; status?: number; attempts: AttemptRecord[]; startedAt: number; endedAt: number };

interface AttemptResult {
  verdict: 'done' | 'retry' | 'give-up';
  status?: number;
  error?: string;
  host?: string;
  retryAfter?: string;
  body?: Buffer;
  spooled?: SpooledBody;
  contentType?: string;
  totalBytes?: number;
}

/** an attempt is not started with less time than this before the deadline */
const MIN_ATTEMPT_MS = 200;
/** a final wait shortened to fit the deadline is worth it only above this */
const MIN_FINAL_WAIT_MS = 100;

export async function fetchMedia(options: FetchMediaOptions): Promise<FetchOutcome> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const schedule = validateSchedule(options.schedule ?? DEFAULT_SCHEDULE);
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 3000;
  const startedAt = now();
  const attempts: AttemptRecord[] = [];
  const safeUrl = redactUrl(options.url);
  const base = { mediaUrl: safeUrl, ...options.logContext };

  const finish = (outcome: FetchOutcome): FetchOutcome => {
    const received = options.receivedAt ?? startedAt;
    options.log?.({
      level: outcome.ok ? 'info' : 'warn',
      event: 'media_fetch',
      outcome: outcome.ok ? 'succeeded' : 'gave_up',
      ...base,
      webhookReceivedAt: isoWithOffset(received),
      firstAttemptAt: attempts[0]?.startedAt,
      endedAt: isoWithOffset(outcome.endedAt),
      delayMs: outcome.endedAt - received,
      attemptCount: attempts.length,
      notFoundCount: attempts.filter((a) => a.status === 404).length,
      // a 200 whose body was empty or cut shows as its problem, not as a success
      attempts: attempts.map((a) => ({ status: a.error ?? a.status, ms: a.durationMs })),
      ...(outcome.ok
        ? {
            bytes: outcome.spooled?.bytes ?? outcome.body.length,
            contentType: outcome.contentType,
            ...(outcome.totalBytes !== undefined ? { totalBytes: outcome.totalBytes } : {}),
          }
        : { reason: outcome.reason }),
    });
    return outcome;
  };
  const giveUp = (reason: string, extra: { status?: number } = {}): FetchOutcome =>
    finish({ ok: false, reason, ...extra, attempts, startedAt, endedAt: now() });

  let initial: URL;
  try {
    initial = new URL(options.url);
  } catch {
    return giveUp('media URL is not a valid URL');
  }
  if (!hostAllowed(initial, options.allowedHosts)) {
    return giveUp(`host ${initial.host} is not on the media allowlist`);
  }

  for (let attempt = 1; ; attempt += 1) {
    const attemptStart = now();
    const remaining = options.deadlineAt - attemptStart;
    const result = await attemptOnce(initial, options, Math.min(attemptTimeoutMs, remaining));
    const record: AttemptRecord = {
      attempt,
      startedAt: isoWithOffset(attemptStart),
      durationMs: now() - attemptStart,
      ...(result.status !== undefined ? { status: result.status } : {}),
      ...(result.error ? { error: result.error } : {}),
      ...(result.host ? { host: result.host } : {}),
    };
    attempts.push(record);
    if (options.debug) options.log?.({ level: 'debug', event: 'media_fetch_attempt', ...base, ...record });
    if (result.verdict === 'done') {
      return finish({
        ok: true,
        status: result.status!,
        contentType: result.contentType ?? 'application/octet-stream',
        body: result.body!,
        ...(result.spooled ? { spooled: result.spooled } : {}),
        ...(result.totalBytes !== undefined ? { totalBytes: result.totalBytes } : {}),
        attempts,
        startedAt,
        endedAt: now(),
      });
    }
    if (result.verdict === 'give-up') {
      return giveUp(result.error ?? `HTTP ${result.status} is not retried`, { status: result.status });
    }
    let delay = retryDelay(attempt - 1, schedule, options.random);
    const retryAfter = parseRetryAfter(result.retryAfter, now());
    if (retryAfter !== undefined) {
      if (now() + retryAfter + MIN_ATTEMPT_MS > options.deadlineAt) {
        return giveUp(`Retry-After of ${retryAfter} ms does not fit the deadline`, { status: result.status });
      }
      delay = Math.max(delay, retryAfter);
    }
    if (now() + delay + MIN_ATTEMPT_MS > options.deadlineAt) {
      // One last attempt just before the deadline beats giving up with time left.
      const last = options.deadlineAt - MIN_ATTEMPT_MS - now();
      if (retryAfter !== undefined || last < MIN_FINAL_WAIT_MS) {
        return giveUp(`deadline reached after ${attempt} attempts`, { status: result.status });
      }
      delay = last;
    }
    await sleep(delay);
  }
}

/** One attempt: the request, and the redirects it leads to, within `timeoutMs`. */
async function attemptOnce(initial: URL, options: FetchMediaOptions, timeoutMs: number): Promise<AttemptResult> {
  const redirectHosts = options.redirectAllowedHosts ?? options.allowedHosts;
  const maxRedirects = options.maxRedirects ?? 5;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.max(1, timeoutMs));
  let url = initial;
  try {
    for (let hop = 0; hop <= maxRedirects; hop += 1) {
      // Credentials only ever go to the origin they were issued for.
      const auth = url.origin === initial.origin ? options.auth : undefined;
      const res = await requestOnce(url, auth, controller.signal, options.probeBytes);
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        res.resume();
        let next: URL;
        try {
          next = new URL(res.headers.location, url);
        } catch {
          return { verdict: 'give-up', status, error: 'redirect Location is not a valid URL' };
        }
        if (!hostAllowed(next, redirectHosts)) {
          return {
            verdict: 'give-up',
            status,
            error: `redirect to host ${next.host}, which is not on the allowlist; not contacted`,
          };
        }
        url = next;
        continue;
      }
      const host = url.origin === initial.origin ? undefined : url.host;
      const verdict = classifyStatus(status);
      if (verdict !== 'done') {
        res.resume();
        return { verdict, status, host, retryAfter: header(res.headers['retry-after']) };
      }
      const totalBytes = sizeOf(res);
      let body: Buffer;
      let spooled: SpooledBody | undefined;
      try {
        if (options.spoolTo) {
          spooled = await spoolBody(res, options.spoolTo);
          body = Buffer.alloc(0);
        } else body = await readBody(res, options.budget, options.probeBytes);
      } catch (err) {
        if (err instanceof FatalFetchError || controller.signal.aborted) throw err;
        // an empty, cut or unframed body: the status came, the media did not
        return { verdict: 'retry', status, host, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
      }
      return {
        verdict: 'done',
        status,
        host,
        body,
        ...(spooled ? { spooled } : {}),
        contentType: header(res.headers['content-type']),
        ...(totalBytes !== undefined ? { totalBytes } : {}),
      };
    }
    return { verdict: 'give-up', error: `more than ${maxRedirects} redirects` };
  } catch (err) {
    if (err instanceof FatalFetchError) return { verdict: 'give-up', status: err.status, error: err.message };
    if (controller.signal.aborted) return { verdict: 'retry', error: `timeout after ${timeoutMs} ms` };
    return { verdict: 'retry', error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The full size of the media: from Content-Range on a 206, from Content-Length otherwise. */
function sizeOf(res: http.IncomingMessage): number | undefined {
  const range = /\/(\d+)$/.exec(header(res.headers['content-range']) ?? '');
  const size = res.statusCode === 206 ? (range ? Number(range[1]) : NaN) : Number(res.headers['content-length'] ?? NaN);
  return Number.isSafeInteger(size) ? size : undefined;
}

/** One request to a media URL (GET, or DELETE once a copy is verified), Basic auth when given; no redirect followed. */
export function requestOnce(
  url: URL,
  auth: FetchMediaOptions['auth'],
  signal: AbortSignal,
  probeBytes?: number,
  method: 'GET' | 'DELETE' = 'GET',
): Promise<http.IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { Accept: '*/*', 'User-Agent': 'twilio-media-assets' };
  if (probeBytes) headers.Range = `bytes=0-${probeBytes - 1}`;
  if (auth) headers.Authorization = basicAuthorization(auth);
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method, headers, signal, agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** What the response said about its body's framing, and how many bytes came: what bodyProblem judges. */
function receiptOf(res: http.IncomingMessage, receivedBytes: number) {
  return {
    contentLength: header(res.headers['content-length']),
    chunked: /\bchunked\b/i.test(header(res.headers['transfer-encoding']) ?? ''),
    receivedBytes,
    complete: res.complete,
  };
}

function readBody(res: http.IncomingMessage, budget: ByteBudget | undefined, probeBytes?: number): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (budget && Number.isFinite(declared) && declared > budget.remaining) {
    res.destroy();
    return Promise.reject(
      new FatalFetchError(
        `media of ${declared} bytes exceeds the ${budget.limit} bytes allowed per message`,
        res.statusCode,
      ),
    );
  }
  let charged = 0;
  const read = new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    res.on('data', (chunk: Buffer) => {
      if (probeBytes !== undefined && received + chunk.length >= probeBytes) {
        // enough to confirm the media is there; the rest is not downloaded
        chunks.push(chunk.subarray(0, probeBytes - received));
        resolve(Buffer.concat(chunks));
        res.destroy();
        return;
      }
      received += chunk.length;
      charged += chunk.length;
      if (budget && !budget.take(chunk.length)) {
        reject(new FatalFetchError(`media exceeds the ${budget.limit} bytes allowed per message`, res.statusCode));
        res.destroy();
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => {
      // an empty, cut or unframed body is a failed attempt (retried), never a download to keep
      const problem = bodyProblem(receiptOf(res, received));
      if (problem) reject(new Error(problem));
      else resolve(Buffer.concat(chunks));
    });
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('ECONNRESET')));
  });
  // Only the attempt whose body is kept counts against the message's budget.
  return read.catch((err: unknown) => {
    budget?.giveBack(charged);
    throw err;
  });
}

/**
 * The body written to `file` as it arrives, hashed on the way, with backpressure (the response pauses while the
 * file catches up), judged whole by the same bodyProblem rule as a body in memory.
 */
function spoolBody(res: http.IncomingMessage, file: string): Promise<SpooledBody> {
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(file);
    const hash = createHash('sha256');
    let received = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      res.destroy();
      out.destroy();
      reject(err);
    };
    res.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
      if (!out.write(chunk)) {
        res.pause();
        out.once('drain', () => res.resume());
      }
    });
    res.on('end', () => {
      const problem = bodyProblem(receiptOf(res, received));
      if (problem) return fail(new Error(problem));
      out.end(() => {
        if (settled) return;
        settled = true;
        resolve({ file, bytes: received, sha256: hash.digest('hex') });
      });
    });
    res.on('error', fail);
    res.on('aborted', () => fail(new Error('ECONNRESET')));
    out.on('error', fail);
  });
}
