import { FakeHandler, FakeHost, startFakeHost } from './fake-host';

/**
 * The Serverless API's Environments list and Logs resource on loopback, as `media:report --service` uses them:
 * HTTP Basic auth (401, code 20003, otherwise), StartDate/EndDate filters (default: the last day, as Twilio's),
 * pages of PageSize (at most 1000) linked by `meta.next_page_url` as an absolute URL on Twilio's own host (so a
 * client that follows it without rewriting the origin leaves loopback and fails), newest first, and Twilio's cap
 * of results per query (`cap`, 10,000 by default, smaller in tests).
 */
export interface FakeLogEntry {
  message: string;
  /** ISO 8601, UTC */
  date_created: string;
  level?: 'info' | 'warn' | 'error';
}

export interface FakeServerlessLogs {
  url: string;
  host: FakeHost;
  serviceSid: string;
  environmentSid: string;
  /** the query of every Logs request, in order */
  logQueries: URLSearchParams[];
  /** answers for the next Logs requests instead of their page, e.g. Twilio's 429 (code 20429) */
  refuseNext: { status: number; code: number; message: string }[];
  add(entries: FakeLogEntry[]): void;
  close(): Promise<void>;
}

const TWILIO_HOST = 'https://serverless.twilio.com';
const sid = (prefix: string, n: number) => `${prefix}${n.toString(16).padStart(32, '0')}`;

export async function startFakeServerlessLogs(options: {
  username: string;
  password: string;
  cap?: number;
  /** `domain` replaces the environment's twil.io domain_name, e.g. with a host:port on loopback */
  environments?: { suffix: string | null; domain?: string }[];
  /** the origin `next_page_url` names (default Twilio's own); another host stands for a page off the API */
  nextPageOrigin?: string;
  /** the clock of each request's arrival time (`host.requests[].at`), e.g. the client's fake clock */
  now?: () => number;
}): Promise<FakeServerlessLogs> {
  const serviceSid = sid('ZS', 0xab);
  const environments = (options.environments ?? [{ suffix: 'dev' }, { suffix: null }]).map((e, i) => ({
    sid: sid('ZE', 0xe0 + i),
    domain_suffix: e.suffix,
    domain_name: e.domain ?? `twilio-media-assets-1234${e.suffix ? `-${e.suffix}` : ''}.twil.io`,
    unique_name: e.suffix ? `${e.suffix}-environment` : 'production',
  }));
  const logs: (FakeLogEntry & { sid: string })[] = [];
  const logQueries: URLSearchParams[] = [];
  const refuseNext: FakeServerlessLogs['refuseNext'] = [];
  const cap = options.cap ?? 10_000;
  const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;

  const answer: FakeHandler = (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', TWILIO_HOST);
    if (req.headers.authorization !== expected) {
      return send(401, {
        code: 20003,
        message: 'Authenticate',
        more_info: 'https://www.twilio.com/docs/errors/20003',
        status: 401,
      });
    }
    const envList = url.pathname.match(/^\/v1\/Services\/(ZS\w+)\/Environments$/);
    if (envList) {
      if (envList[1] !== serviceSid) return send(404, { code: 20404, message: 'not found', status: 404 });
      return send(200, {
        environments: environments.map((e) => ({ ...e, service_sid: serviceSid, account_sid: options.username })),
        meta: {
          page: 0,
          page_size: 50,
          key: 'environments',
          next_page_url: null,
          url: `${TWILIO_HOST}${url.pathname}`,
        },
      });
    }
    const logList = url.pathname.match(/^\/v1\/Services\/(ZS\w+)\/Environments\/(ZE\w+)\/Logs$/);
    if (!logList || logList[1] !== serviceSid || !environments.some((e) => e.sid === logList[2])) {
      return send(404, { code: 20404, message: `The requested resource ${url.pathname} was not found`, status: 404 });
    }
    logQueries.push(url.searchParams);
    const refusal = refuseNext.shift();
    if (refusal)
      return send(refusal.status, { ...refusal, more_info: `https://www.twilio.com/docs/errors/${refusal.code}` });
    const now = Date.now();
    const start = url.searchParams.has('StartDate') ? Date.parse(url.searchParams.get('StartDate')!) : now - 86_400_000;
    const end = url.searchParams.has('EndDate') ? Date.parse(url.searchParams.get('EndDate')!) : now;
    if (Number.isNaN(start) || Number.isNaN(end)) {
      return send(400, { code: 20001, message: 'Invalid StartDate or EndDate', status: 400 });
    }
    const pageSize = Math.min(1000, Number(url.searchParams.get('PageSize') ?? 50));
    const page = Number(url.searchParams.get('Page') ?? 0);
    // both edges included: a client reading adjacent windows must not count an entry twice
    const matching = logs
      .filter((l) => Date.parse(l.date_created) >= start && Date.parse(l.date_created) <= end)
      .sort((a, b) => (a.date_created < b.date_created ? 1 : a.date_created > b.date_created ? -1 : 0))
      .slice(0, cap);
    const items = matching.slice(page * pageSize, (page + 1) * pageSize);
    const nextQuery = new URLSearchParams(url.searchParams);
    nextQuery.set('Page', String(page + 1));
    nextQuery.set('PageToken', `PT${page + 1}`);
    send(200, {
      logs: items.map((l) => ({
        sid: l.sid,
        account_sid: options.username,
        service_sid: serviceSid,
        environment_sid: logList[2],
        build_sid: sid('ZB', 1),
        deployment_sid: sid('ZD', 1),
        function_sid: sid('ZH', 1),
        request_sid: sid('RQ', Number.parseInt(l.sid.slice(2), 16)),
        level: (l.level ?? 'info').toUpperCase(),
        message: l.message,
        date_created: l.date_created,
        url: `${TWILIO_HOST}${url.pathname}/${l.sid}`,
      })),
      meta: {
        page,
        page_size: pageSize,
        key: 'logs',
        url: `${TWILIO_HOST}${url.pathname}?${url.searchParams.toString()}`,
        next_page_url:
          (page + 1) * pageSize < matching.length
            ? `${options.nextPageOrigin ?? TWILIO_HOST}${url.pathname}?${nextQuery.toString()}`
            : null,
      },
    });
  };
  const host = await startFakeHost(answer, { now: options.now });

  return {
    url: host.url,
    host,
    serviceSid,
    environmentSid: environments[0].sid,
    logQueries,
    refuseNext,
    add: (entries) => {
      for (const e of entries) logs.push({ ...e, sid: sid('NO', logs.length + 1) });
    },
    close: () => host.close(),
  };
}
