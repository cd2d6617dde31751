import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { validateRequest, validateRequestWithBody } from 'twilio/lib/webhooks/webhooks';
import { FUNCTION_REQUEST_LIMIT_BYTES, FUNCTION_RESPONSE_LIMIT_BYTES } from '../lib/response-limit';
import { ARRIVAL_HEADER, PLATFORM_RUN_LIMIT_MS } from '../lib/http/arrival';

/**
 * The deployed platform's gateway in front of twilio-run, which enforces none of its limits: a local run that
 * passes would otherwise prove nothing about them. Each limit answers with the status the platform documents
 * (Function Request Flow page: GET with a body 403, over 10 s 504, bad signature on a protected Function 400);
 * where the docs give no status, the one a gateway would use (413, 405, 502). Every answer of the gateway is
 * JSON naming the rule, and no answer of the runtime may carry a stack trace or a file path.
 * Hand-written: no library emulates Twilio's gateway; request bodies are parsed by twilio-run's own body-parser.
 */
export interface GatewayLimits {
  /** request line, headers and body (platform: 1 MB including headers and cookies) */
  requestBytes: number;
  /** a Function's response body (platform: 4 MB) */
  responseBytes: number;
  /** from arrival to a Function's answer (platform: 10 s, then 504) */
  runMs: number;
  /** form parameters of one request (body-parser's default, what twilio-run accepts) */
  parameters: number;
}

const PLATFORM_LIMITS: GatewayLimits = {
  // the smaller reading of Twilio's "1 MB" and "4 MB", as the Functions' own limit does (src/lib/response-limit.ts)
  requestBytes: FUNCTION_REQUEST_LIMIT_BYTES,
  responseBytes: FUNCTION_RESPONSE_LIMIT_BYTES,
  runMs: PLATFORM_RUN_LIMIT_MS,
  parameters: 1000,
};

const ALLOWED_METHODS = ['GET', 'POST', 'OPTIONS'];

export interface Route {
  type: 'function' | 'asset';
  access: 'public' | 'protected' | 'private';
}

export interface BodyParsers {
  urlencoded(options: object): Middleware;
  json(options: object): Middleware;
  raw(options: object): Middleware;
}
type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** What Express's parseurl makes of a request: the path it routes on, and that path with its query. */
export interface ParsedTarget {
  pathname?: string | null;
  path?: string | null;
}

export interface GatewayOptions {
  /** the route of a path (exact match, as twilio-run looks it up), or undefined when there is none */
  route(pathname: string): Route | undefined;
  /**
   * The `parseurl` that twilio-run's Express routes with (req.path is its pathname). The gateway decides on the
   * same parse, so no spelling of a request target (absolute-form, `\` before a `#`...) reaches a route unchecked.
   */
  parseUrl(req: IncomingMessage): ParsedTarget | undefined;
  authToken?: string;
  /** base URLs a signature may have been made for, e.g. http://localhost:PORT and WEBHOOK_BASE_URL */
  signatureBaseUrls: string[];
  /** strings that must never appear in an answer: the project folder, the build folders, the temp folder */
  privatePaths: string[];
  bodyParser: BodyParsers;
  limits?: Partial<GatewayLimits>;
  /** where the gateway reports what it hid from a caller (the local runtime's terminal) */
  log?: (line: string) => void;
  /** how long and how much of a refused body is read and dropped before the connection closes */
  linger?: Partial<LingerBounds>;
}

/** Bounds of the lingering close after a 413 (see lingeringClose). */
export interface LingerBounds {
  /** from the answer to the close, at most */
  ms: number;
  /** without a byte from the client, at most */
  idleMs: number;
  /** of the body dropped, at most */
  bytes: number;
}

// nginx's lingering_time and lingering_timeout (30 s, 5 s); the byte bound, which nginx lacks, keeps a client that
// streams without end from costing more than a few times the largest upload a user could mean (Twilio's 25 MB asset).
const LINGER_BOUNDS: LingerBounds = { ms: 30_000, idleMs: 5_000, bytes: 64 * 1024 * 1024 };

interface Refusal {
  status: number;
  error: string;
  headers?: Record<string, string>;
}

const STACK_LINE = /^\s*at .+(?::\d+:\d+\)?|\(native\)|\(<anonymous>\))\s*$/m;

/** A body the caller must not see: a stack trace, or a path on this machine. */
function leaksInternals(body: string, privatePaths: string[]): boolean {
  return (
    STACK_LINE.test(body) ||
    /"stack"\s*:/.test(body) ||
    /node_modules[\\/]/.test(body) ||
    privatePaths.some((p) => p && body.includes(p))
  );
}

function headerBytes(req: IncomingMessage): number {
  // request line + each "name: value\r\n" + the blank line
  let bytes = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`.length + 2;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    // the arrival stamp is the gateway's own, not the caller's: a request is measured as it came over the wire
    if (req.rawHeaders[i] === ARRIVAL_HEADER) continue;
    bytes += Buffer.byteLength(req.rawHeaders[i]) + Buffer.byteLength(req.rawHeaders[i + 1]) + 4;
  }
  return bytes;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** The request target as twilio-run will route it, or a refusal when it cannot be parsed the way Express does. */
interface Target {
  /** what twilio-run looks the route up by (Express's req.path) */
  pathname: string;
  /** the path and query: what a signature is made over, after the service's base URL */
  pathAndQuery: string;
  route?: Route;
}

function targetOf(req: IncomingMessage, options: GatewayOptions): Target | Refusal {
  let parsed: ParsedTarget | undefined;
  try {
    parsed = options.parseUrl(req);
  } catch {
    parsed = undefined;
  }
  const pathname = parsed?.pathname;
  if (typeof pathname !== 'string' || !pathname.startsWith('/')) {
    // Express routes nothing without a path ("*", "host:port", "?x"); refusing it here keeps the 400 ours.
    return { status: 400, error: `the request target ${JSON.stringify(clipTarget(req.url))} has no path to route` };
  }
  return { pathname, pathAndQuery: parsed?.path ?? pathname, route: routeOf(pathname, options) };
}

/** twilio-run's lookup: the exact path (case and percent-encoding as sent), and "/" falls back to /assets/index.html. */
function routeOf(pathname: string, options: GatewayOptions): Route | undefined {
  return options.route(pathname) ?? (pathname === '/' ? options.route('/assets/index.html') : undefined);
}

function clipTarget(url: string | undefined): string {
  const raw = url ?? '';
  return raw.length > 200 ? `${raw.slice(0, 200)}...` : raw;
}

/** The request line and headers, before any body is read. */
function checkRequest(req: IncomingMessage, limits: GatewayLimits): Refusal | undefined {
  const method = req.method ?? '';
  if (!ALLOWED_METHODS.includes(method)) {
    return {
      status: 405,
      error: `method ${method} is not supported: Functions and Assets answer ${ALLOWED_METHODS.join(', ')} only`,
      headers: { Allow: ALLOWED_METHODS.join(', ') },
    };
  }
  if (method === 'GET' && hasBody(req))
    return {
      status: 403,
      error: 'a GET request must not have a body (header "Content-Length" or "Transfer-Encoding")',
    };
  const declared = Number(req.headers['content-length'] ?? 0);
  const head = headerBytes(req);
  if (head > limits.requestBytes || (Number.isFinite(declared) && head + declared > limits.requestBytes)) {
    return {
      status: 413,
      error: `the request is over the ${limits.requestBytes} bytes allowed, headers and cookies included`,
    };
  }
  return undefined;
}

const BODY_ERRORS: Record<string, (limits: GatewayLimits) => Refusal> = {
  'entity.too.large': (l) => ({
    status: 413,
    error: `the request is over the ${l.requestBytes} bytes allowed, headers and cookies included`,
  }),
  'entity.parse.failed': () => ({
    status: 400,
    error: 'the body is not valid JSON (header "Content-Type" says application/json)',
  }),
  'parameters.too.many': (l) => ({ status: 413, error: `the body has more than ${l.parameters} form parameters` }),
  'encoding.unsupported': () => ({
    status: 415,
    error: 'header "Content-Encoding" names an encoding the runtime does not decode',
  }),
  'charset.unsupported': () => ({
    status: 415,
    error: 'header "Content-Type" names a charset the runtime does not decode',
  }),
};

/**
 * Reads and parses the body with twilio-run's own parsers (same options, so the event is what twilio-run would
 * build), bounded by what the headers left of the request limit. body-parser marks the request parsed, so
 * twilio-run's parsers skip it. The raw bytes are kept for JSON signature checks (bodySHA256).
 */
function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  options: GatewayOptions,
  limits: GatewayLimits,
): Promise<{ refusal?: Refusal; raw?: Buffer }> {
  const limit = Math.max(0, limits.requestBytes - headerBytes(req));
  let raw: Buffer | undefined;
  const verify = (_req: unknown, _res: unknown, buf: Buffer) => (raw = buf);
  const parsers = [
    options.bodyParser.urlencoded({ extended: false, limit, parameterLimit: limits.parameters, verify }),
    options.bodyParser.json({ limit, verify }),
    // Any other body is only counted against the limit: the platform passes JSON and form bodies only.
    options.bodyParser.raw({ type: () => true, limit }),
  ];
  return new Promise((resolve) => {
    const next = (index: number) => (err?: unknown) => {
      if (err) {
        const type = (err as { type?: string }).type ?? '';
        const refusal = BODY_ERRORS[type]?.(limits) ?? { status: 400, error: 'the request body could not be read' };
        resolve({ refusal });
        return;
      }
      if (index === parsers.length) {
        const parsed = req as IncomingMessage & { body?: unknown };
        if (Buffer.isBuffer(parsed.body)) parsed.body = {};
        resolve({ raw });
        return;
      }
      parsers[index](req, res, next(index + 1));
    };
    next(0)();
    // after body-parser's own listener, in the same tick: it sees every chunk too
    refuseOnceOver(req, limit, () => resolve({ refusal: BODY_ERRORS['entity.too.large'](limits) }));
  });
}

/**
 * Calls `over` as soon as more than `limit` bytes of body have arrived. body-parser reports a body over its limit
 * only once it has read the whole request, which a chunked upload may never end: the gateway answers 413 at once,
 * and the lingering close bounds what is read afterwards.
 */
function refuseOnceOver(req: IncomingMessage, limit: number, over: () => void): void {
  let seen = 0;
  const count = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen <= limit) return;
    req.off('data', count);
    over();
  };
  req.on('data', count);
}

/**
 * A lingering close, as nginx's lingering_close: after a 413 sent while the client is still writing its body, the
 * rest of the body is read and dropped until it ends or a bound is hit, and only then does the socket close.
 * Closing at once leaves the client's unread bytes in this end's kernel buffer, and the kernel then answers with a
 * reset, which can discard the 413 before the client has read it (it sees EPIPE or ECONNRESET instead).
 * Node closes a `Connection: close` response's socket with socket.destroySoon() once the answer is written: that
 * call is deferred here, for this socket only, until the body has ended.
 */
function lingeringClose(req: IncomingMessage, bounds: LingerBounds, log?: (l: string) => void): void {
  const { socket } = req;
  if (!socket || socket.destroyed) return;
  const destroySoon = socket.destroySoon.bind(socket);
  let answered = false;
  let dropped = 0;
  const timers: NodeJS.Timeout[] = [];
  const done = () => {
    timers.forEach(clearTimeout);
    socket.destroySoon = destroySoon;
  };
  const closeNow = () => {
    if (answered && req.complete) {
      done();
      destroySoon();
    }
  };
  const cut = (why: string) => {
    if (socket.destroyed) return;
    log?.(`${req.method} ${clipTarget(req.url)}: closed after 413 with the body still arriving (${why})`);
    done();
    socket.destroy();
  };
  socket.destroySoon = () => {
    answered = true;
    closeNow();
  };
  const idle = setTimeout(() => cut(`nothing for ${bounds.idleMs} ms`), bounds.idleMs);
  timers.push(
    idle,
    setTimeout(() => cut(`still sending ${bounds.ms} ms after the answer`), bounds.ms),
  );
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    idle.refresh();
    if (dropped > bounds.bytes) cut(`over ${bounds.bytes} bytes dropped`);
  });
  req.once('end', closeNow);
  socket.once('close', done);
  req.resume();
}

/** X-Twilio-Signature over the URL called and the posted form parameters, or the raw body for JSON. */
function signatureValid(
  req: IncomingMessage & { body?: unknown },
  raw: Buffer | undefined,
  options: GatewayOptions,
  pathAndQuery: string,
): boolean {
  const header = req.headers['x-twilio-signature'];
  const signature = Array.isArray(header) ? header[0] : header;
  if (!signature || !options.authToken) return false;
  const isJson = /^application\/json/i.test(req.headers['content-type'] ?? '');
  const params =
    req.method === 'POST' && !isJson && req.body && typeof req.body === 'object'
      ? (req.body as Record<string, string>)
      : {};
  return options.signatureBaseUrls.some((base) => {
    // over the path as routed: an absolute-form or backslashed spelling of a signed URL is that URL, no other
    const url = `${base}${pathAndQuery}`;
    return isJson && raw && url.includes('bodySHA256=')
      ? validateRequestWithBody(options.authToken!, signature, url, raw.toString('utf8'))
      : validateRequest(options.authToken!, signature, url, params);
  });
}

/**
 * Watches what goes out: a Function's answer over the response limit, or one that leaks internals, is replaced
 * before a byte is sent; after `runMs` from arrival an unanswered Function gets 504 and whatever it sends later
 * is dropped (deployed, it would have been stopped).
 */
class ResponseGuard {
  private done = false;
  private timer?: NodeJS.Timeout;
  private readonly write: ServerResponse['write'];
  private readonly end: ServerResponse['end'];

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly route: Route | undefined,
    /** the path as routed, for the runtime's log */
    private readonly pathname: string,
    private readonly options: GatewayOptions,
    private readonly limits: GatewayLimits,
  ) {
    // twilio-run's express writes through these; the originals, bound to this response, send what passes the limits.
    this.write = res.write.bind(res);
    this.end = res.end.bind(res);
    res.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      if (this.done) return true;
      if (!res.headersSent && this.intercept(chunk, false)) return true;
      return (this.write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as ServerResponse['write'];
    res.end = ((chunk?: unknown, ...rest: unknown[]): ServerResponse => {
      if (this.done) return res;
      if (!res.headersSent && typeof chunk !== 'function' && this.intercept(chunk, true)) return res;
      this.finish();
      return (this.end as (...args: unknown[]) => ServerResponse)(chunk, ...rest);
    }) as ServerResponse['end'];
    res.once('close', () => this.finish());
    if (route?.type === 'function') {
      this.timer = setTimeout(() => this.timeout(), limits.runMs);
      this.timer.unref();
    }
  }

  /** true when the chunk was replaced by an answer of the gateway */
  private intercept(chunk: unknown, last: boolean): boolean {
    const size =
      chunk === undefined || chunk === null
        ? 0
        : typeof chunk === 'string'
          ? Buffer.byteLength(chunk)
          : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array
            ? chunk.length
            : 0;
    const declared = Number(this.res.getHeader('content-length') ?? NaN);
    if (this.route?.type === 'function' && (size > this.limits.responseBytes || declared > this.limits.responseBytes)) {
      this.options.log?.(
        `${this.req.method} ${this.pathname}: the Function's response of ${Number.isFinite(declared) ? declared : size} bytes is over the platform's ${this.limits.responseBytes}; answered 502`,
      );
      this.answer({
        status: 502,
        error: `the Function's response is over the ${this.limits.responseBytes} bytes allowed`,
      });
      return true;
    }
    if (last && this.res.statusCode >= 400 && size > 0) {
      const text =
        Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk);
      if (leaksInternals(text, this.options.privatePaths)) {
        this.options.log?.(
          `${this.req.method} ${this.pathname}: answered ${this.res.statusCode} without the details the runtime produced:\n${text.slice(0, 4000)}`,
        );
        const failed = this.route?.type === 'function' && this.res.statusCode >= 500;
        this.answer({
          status: this.res.statusCode,
          error: failed
            ? "the Function failed; the local runtime's output has the details"
            : "the request failed; the local runtime's output has the details",
        });
        return true;
      }
    }
    return false;
  }

  private timeout(): void {
    if (this.done) return;
    this.options.log?.(
      `${this.req.method} ${this.pathname}: no answer ${this.limits.runMs} ms after the request arrived; answered 504`,
    );
    if (this.res.headersSent) {
      this.finish();
      this.res.destroy();
      return;
    }
    this.answer({
      status: 504,
      error: `the Function did not answer within ${this.limits.runMs} ms of the request's arrival`,
    });
  }

  private finish(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** The gateway's own answer; afterwards the response ignores everything the Function still does with it. */
  answer(refusal: Refusal): void {
    if (this.done) return;
    const { res } = this;
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    const body = JSON.stringify({ error: refusal.error, status: refusal.status });
    res.statusCode = refusal.status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    for (const [name, value] of Object.entries(refusal.headers ?? {})) res.setHeader(name, value);
    // A body refused before it was read: the connection closes, once the client has sent it (lingeringClose).
    if (!this.req.complete && refusal.status === 413) {
      res.setHeader('Connection', 'close');
      lingeringClose(this.req, { ...LINGER_BOUNDS, ...this.options.linger }, this.options.log);
    }
    this.finish();
    (this.end as (chunk: string) => ServerResponse)(body);
    const mute = () => res;
    res.setHeader = mute;
    res.removeHeader = () => undefined;
    res.writeHead = mute;
  }
}

/** Wraps twilio-run's request listener with the platform's gateway. */
export function platformGateway(listener: RequestListener, options: GatewayOptions): RequestListener {
  const limits = { ...PLATFORM_LIMITS, ...options.limits };
  return (req, res) => {
    const arrival = Date.now();
    stampArrival(req, arrival);
    const target = targetOf(req, options);
    const routed = 'pathname' in target ? target : undefined;
    const route = routed?.route;
    const pathname = routed?.pathname ?? clipTarget(req.url);
    const guard = new ResponseGuard(req, res, route, pathname, options, limits);
    const refusal = checkRequest(req, limits) ?? (routed ? undefined : (target as Refusal));
    if (refusal) {
      guard.answer(refusal);
      return;
    }
    // A client that waits to be told before it sends its body (curl does past 1 MB, with Expect: 100-continue)
    // hears "100 Continue" only once the request line and headers pass: a refusal above is its final answer, so
    // a body the platform would refuse is never sent. The runtime's server leaves this to us (checkContinue).
    if (/^\s*100-continue\s*$/i.test(String(req.headers.expect ?? ''))) res.writeContinue();
    const proceed = (raw?: Buffer) => {
      const preflight = req.method === 'OPTIONS'; // answered by the platform itself, never signature-checked
      if (
        route?.access === 'protected' &&
        !preflight &&
        !signatureValid(req, raw, options, routed?.pathAndQuery ?? pathname)
      ) {
        const why = !options.authToken
          ? 'AUTH_TOKEN is not set in the env file, so no signature can be valid'
          : req.headers['x-twilio-signature']
            ? 'header "X-Twilio-Signature" does not match this request'
            : 'header "X-Twilio-Signature" is missing';
        guard.answer({ status: 400, error: `${pathname} is protected: ${why}` });
        return;
      }
      listener(req, res);
    };
    if (req.method !== 'POST') {
      proceed();
      return;
    }
    readBody(req, res, options, limits).then(
      ({ refusal: bad, raw }) => (bad ? guard.answer(bad) : proceed(raw)),
      () => guard.answer({ status: 400, error: 'the request body could not be read' }),
    );
  };
}

function stampArrival(req: IncomingMessage, arrival: number): void {
  // Replaces any value the client sent: only the gateway knows when the request arrived.
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i].toLowerCase() === ARRIVAL_HEADER) raw.splice(i, 2);
  raw.push(ARRIVAL_HEADER, String(arrival));
  req.headers[ARRIVAL_HEADER] = String(arrival);
}
