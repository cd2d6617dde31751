import { parseRetryAfter, retryDelay, RetrySchedule } from '../fetch/schedule';
import { onApiOrigin } from '../http/api-origin';
import { basicAuthorization } from '../http/basic-auth';
import { clip } from '../log';

/**
 * Twilio's Message and Media resources (REST API 2010-04-01), read page by page for `npm run media:sync`.
 *
 * Hand-written on fetch rather than twilio-node's `messages.each`: twilio-node sends `DateSent>`/`DateSent<` as
 * date-times while Twilio documents only `YYYY-MM-DD` for them (twilio-oai#21: "use the format in the
 * description"), and the sync wants one page at a time (bounded memory, progress, resumable) rather than a list.
 */

/** Twilio's largest page (PageSize); fewer requests for a long range */
export const MAX_PAGE_SIZE = 1000;

/** Twilio answered an error (or nothing usable) to a list request; status and Twilio's code when given. */
export class TwilioApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'TwilioApiError';
  }
}

export interface RestApiOptions {
  /** the API's origin (TWILIO_API_BASE_URL, default https://api.twilio.com), no trailing slash */
  base: string;
  auth: { username: string; password: string };
  /** attempts per request for 429, 5xx and network errors (default 4) */
  attempts?: number;
  timeoutMs?: number;
  schedule?: RetrySchedule;
  sleep?: (ms: number) => Promise<void>;
}

/** a list request is not time-critical: a gentler schedule than a webhook's media fetch */
const LIST_SCHEDULE: RetrySchedule = { baseMs: 1000, factor: 2, capMs: 8000, jitter: 0.5 };

/** GET of one JSON document of the REST API, by path or by the API's own `next_page_uri`, on the API's origin only. */
export type JsonGet = (pathAndQuery: string) => Promise<unknown>;

export function restApi(options: RestApiOptions): JsonGet {
  const attempts = options.attempts ?? 4;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const authorization = basicAuthorization(options.auth);
  return async (pathAndQuery) => {
    let url: string;
    try {
      url = onApiOrigin(pathAndQuery, [options.base], options.base);
    } catch (error) {
      throw new TwilioApiError((error as Error).message);
    }
    for (let attempt = 0; ; attempt += 1) {
      let status: number | undefined;
      let retryAfter: string | undefined;
      let problem: string;
      try {
        // redirect: 'error': an API document never redirects, and credentials must not follow one
        const res = await fetch(url, {
          headers: { Authorization: authorization, Accept: 'application/json' },
          redirect: 'error',
          signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
        });
        status = res.status;
        const text = await res.text();
        if (res.ok) {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            throw new TwilioApiError(`Twilio answered ${status} with a body that is not JSON`, status);
          }
        }
        const body = safeJson(text) as { code?: number; message?: string } | undefined;
        retryAfter = res.headers.get('retry-after') ?? undefined;
        problem = `Twilio answered ${status}${body?.code ? ` (error ${body.code})` : ''}${body?.message ? `: ${clip(body.message, 200)}` : ''}`;
        if (status !== 429 && status < 500) throw new TwilioApiError(problem, status, body?.code);
      } catch (err) {
        if (err instanceof TwilioApiError) throw err;
        problem = `no answer from Twilio: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`;
      }
      if (attempt + 1 >= attempts) throw new TwilioApiError(`${problem} (after ${attempts} attempts)`, status);
      await sleep(parseRetryAfter(retryAfter, Date.now()) ?? retryDelay(attempt, options.schedule ?? LIST_SCHEDULE));
    }
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Every page of a list resource, following `next_page_uri` (relative to the API base) until it is null; `get`
 * refuses a page on another origin (onApiOrigin). Each page is checked to have the list under `key`, so an answer
 * of another shape stops the run instead of listing nothing.
 */
export async function* listPages<T>(get: JsonGet, firstPage: string, key: string): AsyncGenerator<T[]> {
  let next: string | null = firstPage;
  const seen = new Set<string>();
  while (next) {
    // a server that hands back the same page forever would otherwise loop for ever
    if (seen.has(next)) throw new TwilioApiError(`Twilio's next_page_uri repeats ${clip(next, 120)}`);
    seen.add(next);
    const page = (await get(next)) as Record<string, unknown> | null;
    const items = page?.[key];
    if (!Array.isArray(items)) throw new TwilioApiError(`Twilio's answer to ${clip(next, 120)} has no "${key}" list`);
    yield items as T[];
    const uri = page?.next_page_uri;
    next = typeof uri === 'string' && uri !== '' ? uri : null;
  }
}

/** The fields of a Message resource the sync reads. */
export interface MessageResource {
  sid: string;
  account_sid: string;
  to: string;
  from: string;
  body?: string | null;
  direction: string;
  num_media: string;
  date_sent?: string | null;
  date_created: string;
}

/** The fields of a Media resource the sync reads. */
export interface MediaResource {
  sid: string;
  parent_sid: string;
  content_type: string;
  date_created: string;
  /** `/2010-04-01/Accounts/AC.../Messages/MM.../Media/ME....json`; the content is the same path without `.json` */
  uri: string;
}

/** inclusive bounds; either may be open */
export interface SentRange {
  since?: Date;
  until?: Date;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * The first page of the inbound messages of a range: `DateSent>` (the `DateSent>=DAY` of Twilio's docs) is the
 * day of `since`, `DateSent<` the day after `until`, in UTC: Twilio filters by whole days only and its docs leave
 * open whether "on or before midnight" ends the day, so the list asks for a day more and the exact bounds are
 * applied to each message's own date (messagesInRange).
 */
export function messagesListPath(accountSid: string, range: SentRange, to?: string, pageSize = MAX_PAGE_SIZE): string {
  const query = new URLSearchParams();
  if (to) query.set('To', to);
  if (range.since) query.set('DateSent>', day(range.since));
  if (range.until) query.set('DateSent<', day(new Date(range.until.getTime() + 86_400_000)));
  query.set('PageSize', String(pageSize));
  return `/2010-04-01/Accounts/${accountSid}/Messages.json?${query.toString()}`;
}

export function mediaListPath(accountSid: string, messageSid: string, pageSize = MAX_PAGE_SIZE): string {
  return `/2010-04-01/Accounts/${accountSid}/Messages/${messageSid}/Media.json?PageSize=${pageSize}`;
}

/** When the message was sent (for an inbound one: received), from date_sent or else date_created (RFC 2822). */
export function sentAt(message: Pick<MessageResource, 'date_sent' | 'date_created'>): Date | undefined {
  const at = new Date(message.date_sent || message.date_created);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** Does this listed message need the sync: inbound, with media, sent inside the range (both ends inclusive)? */
export function wantedMessage(message: MessageResource, range: SentRange): boolean {
  const at = sentAt(message);
  return (
    message.direction === 'inbound' &&
    Number(message.num_media) > 0 &&
    at !== undefined &&
    (!range.since || at >= range.since) &&
    (!range.until || at <= range.until)
  );
}

/** The URL of a media item's content, from its resource's `uri` (relative to the API base). */
export function mediaContentUrl(base: string, media: Pick<MediaResource, 'uri'>): string {
  return `${base}${media.uri.replace(/\.json$/, '')}`;
}
