/**
 * Reads the deployed service's own log lines back through the Serverless API's Logs resource
 * (`GET /v1/Services/ZS.../Environments/ZE.../Logs` with StartDate/EndDate, paged by `meta.next_page_url`), for
 * the media report. The client (twilioClientFrom) follows a next page only on the configured Serverless origin. The limits below are Twilio's, from the Logs resource page
 * (https://www.twilio.com/docs/serverless/api/resource/logs, "Limits and constraints").
 */
import type twilio from 'twilio';
import { ForeignHostError } from '../http/api-origin';

/** "Logs are available for the last 30 days only." */
export const LOG_RETENTION_DAYS = 30;
/** "Only 10,000 results are returned for a given query. Use the StartDate and EndDate filters to limit your query." */
export const LOGS_QUERY_CAP = 10_000;
/** the Logs resource's largest page (twilio-node: "The default is 50, and the maximum is 1000") */
const PAGE_SIZE = 1000;
/** "The /Logs endpoint is rate limited to 5 requests per second": requests are spaced at least this far apart */
export const MIN_REQUEST_INTERVAL_MS = 200;
/** a window this short that still holds the cap is not split further: the report says it may be incomplete */
const MIN_WINDOW_MS = 60_000;
const DAY_MS = 86_400_000;
export const RETENTION_SOURCE = 'https://www.twilio.com/docs/serverless/api/resource/logs#limits-and-constraints';

/** Something the caller must fix before anything is read (exit 2), or a refusal by the API (exit 1). */
export class ServiceLogsError extends Error {
  constructor(
    message: string,
    readonly kind: 'config' | 'api',
  ) {
    super(message);
    this.name = 'ServiceLogsError';
  }
}

export interface DateRange {
  since: Date;
  until: Date;
  /** what the report must say about the range, e.g. that its start was older than Twilio keeps logs */
  notes: string[];
}

/**
 * The part of [since, until] Twilio still holds. A range wholly older than the retention is refused (Twilio
 * would answer an empty list, which reads as "no problem that day"); one that starts before it is cut, with a note.
 */
export function rangeWithinRetention(since: Date, until: Date, now: Date): DateRange {
  const oldest = new Date(now.getTime() - LOG_RETENTION_DAYS * DAY_MS);
  if (until.getTime() <= oldest.getTime()) {
    throw new ServiceLogsError(
      `--until ${until.toISOString()} is older than ${LOG_RETENTION_DAYS} days: Twilio keeps Functions' logs for ${LOG_RETENTION_DAYS} days only (${RETENTION_SOURCE}), so nothing older can be read from the service; report from log files saved at the time instead`,
      'config',
    );
  }
  if (since.getTime() >= oldest.getTime()) return { since, until, notes: [] };
  return {
    since: oldest,
    until,
    notes: [
      `the range asked for started at ${since.toISOString()}, but Twilio keeps Functions' logs for ${LOG_RETENTION_DAYS} days only (${RETENTION_SOURCE}): this report starts at ${oldest.toISOString()}`,
    ],
  };
}

/**
 * [since, until] cut at each UTC midnight: one query per day keeps each under the 10,000-result cap. The edges
 * are whole seconds, widened outwards, since twilio-node sends StartDate and EndDate without milliseconds
 * (an `--until` day's 23:59:59.999 would otherwise lose that day's last second).
 */
export function dayWindows(since: Date, until: Date): { start: Date; end: Date }[] {
  const windows: { start: Date; end: Date }[] = [];
  let start = Math.floor(since.getTime() / 1000) * 1000;
  const last = Math.ceil(until.getTime() / 1000) * 1000;
  while (start < last) {
    const end = Math.min(last, (Math.floor(start / DAY_MS) + 1) * DAY_MS);
    windows.push({ start: new Date(start), end: new Date(end) });
    start = end;
  }
  return windows;
}

export interface LogEntry {
  sid: string;
  message: string;
  level: string;
  dateCreated: string;
}

/** The part of twilio-node's LogPage read here (its nextPage is typed as the base Page). */
interface LogsPage {
  instances: { sid: string; message: string; level: string; dateCreated: Date }[];
  nextPage(): Promise<LogsPage> | undefined;
}

/** The clock the pacing reads and waits on: the real one, or a test's that skips its waits. */
export interface PacingClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_CLOCK: PacingClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

export interface Environment {
  sid: string;
  domainSuffix: string | null;
  domainName: string;
}

/** A Twilio REST refusal or a transport failure, as one line naming the API's code and status. */
export function describeApiError(error: unknown, what: string): ServiceLogsError {
  if (error instanceof ForeignHostError) return new ServiceLogsError(`${what}: ${error.message}`, 'api');
  const e = error as { status?: unknown; code?: string | number; message?: unknown; moreInfo?: unknown };
  if (typeof e?.status === 'number') {
    const code = e.code !== undefined ? ` code ${String(e.code)}` : '';
    const more = typeof e.moreInfo === 'string' && e.moreInfo ? ` (${e.moreInfo})` : '';
    const hint = e.status === 401 ? ': check ACCOUNT_SID and AUTH_TOKEN (or API_KEY and API_SECRET)' : '';
    return new ServiceLogsError(
      `${what}: the Serverless API answered ${e.status}${code}: ${String(e.message)}${more}${hint}`,
      'api',
    );
  }
  const reason = (error as { code?: string })?.code ?? (error as Error)?.message ?? String(error);
  return new ServiceLogsError(`${what}: the Serverless API could not be reached: ${reason}`, 'api');
}

/** `--environment`: a ZE SID is taken as it is; anything else is a domain suffix ("" for production). */
export async function resolveEnvironment(
  client: twilio.Twilio,
  serviceSid: string,
  wanted: string,
): Promise<Environment> {
  let environments: Environment[];
  try {
    const list = await client.serverless.v1.services(serviceSid).environments.list({ pageSize: 50 });
    environments = list.map((e) => ({ sid: e.sid, domainSuffix: e.domainSuffix, domainName: e.domainName }));
  } catch (error) {
    throw describeApiError(error, `listing the environments of ${serviceSid}`);
  }
  const isSid = /^ZE[0-9a-f]{32}$/i.test(wanted);
  const found = environments.find((e) => (isSid ? e.sid === wanted : (e.domainSuffix ?? '') === wanted));
  if (!found) {
    const names = environments.map((e) => `${e.domainSuffix || '(production, no suffix)'} ${e.sid}`).join(', ');
    throw new ServiceLogsError(
      `--environment ${wanted || '(production)'}: service ${serviceSid} has no such environment${names ? `; it has ${names}` : ''}`,
      'config',
    );
  }
  return found;
}

/**
 * Every log entry of the environment in [since, until), one query per UTC day, pages followed to the end.
 * A query that reaches the 10,000-result cap is split in halves and read again, since Twilio would silently
 * drop the rest; a window too short to split keeps what it got, and a note says so.
 */
export async function readServiceLogs(
  client: twilio.Twilio,
  serviceSid: string,
  environmentSid: string,
  range: { since: Date; until: Date },
  progress: (line: string) => void,
  clock: PacingClock = REAL_CLOCK,
): Promise<{ entries: LogEntry[]; notes: string[] }> {
  const logs = client.serverless.v1.services(serviceSid).environments(environmentSid).logs;
  const bySid = new Map<string, LogEntry>();
  const notes: string[] = [];

  let lastAnswerAt = 0;
  // Paced rather than only retried on 429 (twilio-node retries three times, then the whole report fails), and
  // counted from the previous answer, not its request, so that no two requests can reach Twilio closer together.
  const paced = async <T>(request: () => T): Promise<Awaited<T>> => {
    const wait = lastAnswerAt + MIN_REQUEST_INTERVAL_MS - clock.now();
    if (wait > 0) await clock.sleep(wait);
    try {
      return await request();
    } finally {
      lastAnswerAt = clock.now();
    }
  };

  const readWindow = async (start: Date, end: Date): Promise<void> => {
    const got: LogEntry[] = [];
    const label = `${start.toISOString()} to ${end.toISOString()}`;
    let pages = 0;
    try {
      let page: LogsPage | undefined = await paced(() =>
        logs.page({ startDate: start, endDate: end, pageSize: PAGE_SIZE }),
      );
      while (page) {
        pages += 1;
        for (const log of page.instances) {
          got.push({
            sid: log.sid,
            message: log.message ?? '',
            level: log.level,
            dateCreated: log.dateCreated instanceof Date ? log.dateCreated.toISOString() : String(log.dateCreated),
          });
        }
        progress(`media:report: ${label}: page ${pages}, ${got.length} log entries`);
        const current: LogsPage = page;
        page = await paced(() => current.nextPage());
      }
    } catch (error) {
      throw describeApiError(error, `reading the logs of ${label}`);
    }
    if (got.length >= LOGS_QUERY_CAP && end.getTime() - start.getTime() > MIN_WINDOW_MS) {
      progress(`media:report: ${label} reached Twilio's ${LOGS_QUERY_CAP}-result cap: reading it in halves`);
      const middle = new Date(start.getTime() + Math.floor((end.getTime() - start.getTime()) / 2000) * 1000);
      await readWindow(start, middle);
      await readWindow(middle, end);
      return;
    }
    if (got.length >= LOGS_QUERY_CAP) {
      notes.push(`${label} holds ${LOGS_QUERY_CAP} or more log entries, Twilio's cap per query: some may be missing`);
    }
    // windows touch at their edges: an entry at the boundary may come back twice
    for (const entry of got) bySid.set(entry.sid, entry);
  };

  for (const { start, end } of dayWindows(range.since, range.until)) await readWindow(start, end);
  const entries = [...bySid.values()].sort((a, b) => a.dateCreated.localeCompare(b.dateCreated));
  return { entries, notes };
}
