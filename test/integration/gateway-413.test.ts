import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import { BodyParsers, GatewayOptions, platformGateway } from '../../src/local-runtime/platform-gateway';
import { PROJECT_ROOT } from '../support/paths';
import { RunningRuntime, sharedRuntime } from '../support/runtime';

// A body over the platform's 1 MB is answered 413 before it is read. A client still writing it (a form post of a
// 7 MB file, curl, Node's http) must read that 413 and its JSON, not EPIPE or ECONNRESET: the gateway reads and
// drops the rest of the body for a bounded time and size before it closes (a lingering close).
jest.setTimeout(300_000);

const SEVEN_MB = 7 * 1024 * 1024;
const CHUNK = 64 * 1024;
const body = Buffer.alloc(SEVEN_MB, 0x61);

interface Outcome {
  status?: number;
  json?: { error?: string; status?: number };
  connection?: string;
  /** an error the client saw: EPIPE, ECONNRESET... */
  error?: string;
  /** bytes of the body the client got to write */
  written: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `body` in CHUNK pieces, `gapMs` apart; 0 writes it in one call. */
async function writeBody(write: (b: Buffer) => boolean, drained: () => Promise<void>, gapMs: number, sent: Outcome) {
  if (gapMs === 0) {
    if (!write(body)) await drained();
    sent.written = body.length;
    return;
  }
  for (let at = 0; at < body.length; at += CHUNK) {
    const piece = body.subarray(at, at + CHUNK);
    if (!write(piece)) await drained();
    sent.written += piece.length;
    await pause(gapMs);
  }
}

/** The request as bytes on a socket: what a client that does not wait for an interim answer sends. */
function rawPost(port: number, pathname: string, gapMs: number, ended = true): Promise<Outcome & { closedMs: number }> {
  const outcome: Outcome = { written: 0 };
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let failed = false;
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (outcome.error = e.code ?? e.message));
    socket.on('close', () => {
      const text = Buffer.concat(received).toString('latin1');
      const [head, rest] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (status) outcome.status = Number(status[1]);
      outcome.connection = /\r\nconnection: *([^\r\n]*)/i.exec(head)?.[1];
      try {
        outcome.json = JSON.parse(rest);
      } catch {
        // no JSON: left undefined for the assertion to show
      }
      resolve({ ...outcome, closedMs: Date.now() - started });
    });
    socket.on('connect', () => {
      const length = ended ? body.length : body.length * 100;
      socket.write(
        `POST ${pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}\r\n\r\n`,
      );
      const drained = () => new Promise<void>((r) => socket.once('drain', () => r()));
      const write = (b: Buffer) => !failed && !socket.destroyed && socket.write(b);
      void (async () => {
        do await writeBody(write, drained, gapMs, outcome);
        while (!ended && !socket.destroyed);
      })().catch(() => (failed = true));
    });
  });
}

/** The same through Node's http client, with a Content-Length or chunked. */
function httpPost(port: number, pathname: string, gapMs: number, chunked = false): Promise<Outcome> {
  const outcome: Outcome = { written: 0 };
  return new Promise((resolve) => {
    let settled = false;
    const settle = () => {
      if (!settled) resolve(outcome);
      settled = true;
    };
    const headers: Record<string, string | number> = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (!chunked) headers['Content-Length'] = body.length;
    const req = http.request(
      { host: '127.0.0.1', port, path: pathname, method: 'POST', headers, agent: false },
      (res) => {
        outcome.status = res.statusCode;
        outcome.connection = res.headers.connection;
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          try {
            outcome.json = JSON.parse(Buffer.concat(parts).toString('utf8'));
          } catch {
            // left undefined
          }
          // a late error of the request (after the answer) would show here: give it a moment
          setTimeout(settle, 50);
        });
        res.on('error', (e: NodeJS.ErrnoException) => (outcome.error = e.code ?? e.message));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      outcome.error = e.code ?? e.message;
      setTimeout(settle, 50);
    });
    const drained = () => new Promise<void>((r) => req.once('drain', () => r()));
    void writeBody((b) => !req.destroyed && req.write(b), drained, gapMs, outcome).then(() => req.end());
  });
}

function expectReadable413(outcome: Outcome): void {
  expect(outcome).toMatchObject({
    status: 413,
    connection: 'close',
    json: { status: 413, error: expect.stringContaining('1000000 bytes allowed') },
  });
}

describe('a 7 MB upload reads its 413 from the local runtime, every time', () => {
  let runtime: RunningRuntime;
  beforeAll(async () => {
    runtime = await sharedRuntime();
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  // /media answers GET (a POST is refused on its size before routing); /recordings/status is a protected webhook
  const paths = ['/media', '/recordings/status'];

  it('written quickly on a raw socket, 40 times in a row', async () => {
    for (let i = 0; i < 40; i += 1) {
      const outcome = await rawPost(runtime.port, paths[i % 2], 0);
      expectReadable413(outcome);
      // the whole body was taken in, so the close is clean: no reset on the client's side
      expect([i, outcome.error, outcome.written]).toEqual([i, undefined, SEVEN_MB]);
    }
  });

  it('written slowly (64 KiB every 5 ms) on a raw socket, 6 times in a row', async () => {
    for (let i = 0; i < 6; i += 1) {
      const outcome = await rawPost(runtime.port, paths[i % 2], 5);
      expectReadable413(outcome);
      expect([i, outcome.error, outcome.written]).toEqual([i, undefined, SEVEN_MB]);
    }
  });

  it("through Node's http client, quickly 40 times and slowly 6 times", async () => {
    for (let i = 0; i < 46; i += 1) {
      const outcome = await httpPost(runtime.port, paths[i % 2], i < 40 ? 0 : 5);
      expectReadable413(outcome);
      expect([i, outcome.error]).toEqual([i, undefined]);
    }
  });

  it('chunked, without a Content-Length: answered 413 as soon as 1 MB has arrived, then read to its end', async () => {
    for (let i = 0; i < 10; i += 1) {
      const outcome = await httpPost(runtime.port, paths[i % 2], i < 8 ? 0 : 5, true);
      expectReadable413(outcome);
      expect([i, outcome.error]).toEqual([i, undefined]);
    }
  });

  it('with Expect: 100-continue, refused before the body is sent, and told to continue when it passes', async () => {
    // the exchange ends once a final answer has arrived whole: the client has what it needs, whatever the server's
    // lingering close then waits for
    const exchange = (pathname: string, length: number, sendBody: boolean) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(runtime.port, '127.0.0.1');
        let text = '';
        const finish = () => {
          clearTimeout(timer);
          socket.destroy();
          resolve(text);
        };
        const timer = setTimeout(finish, 15_000);
        socket.on('data', (c: Buffer) => {
          text += c.toString('latin1');
          if (sendBody && text.startsWith('HTTP/1.1 100') && text.includes('\r\n\r\n')) {
            sendBody = false;
            socket.write('x=1'.padEnd(length, 'y'));
          }
          const final = text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
          const head = final.indexOf('\r\n\r\n');
          const declared = /\r\ncontent-length: *(\d+)/i.exec(final.slice(0, head));
          if (/^HTTP\/1\.1 [2-5]/.test(final) && declared && final.length - head - 4 >= Number(declared[1])) finish();
        });
        socket.on('error', () => undefined);
        socket.on('close', finish);
        socket.write(
          `POST ${pathname} HTTP/1.1\r\nHost: 127.0.0.1:${runtime.port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`,
        );
      });
    for (let i = 0; i < 4; i += 1) {
      // no body written at all: the final answer comes first, with its JSON
      const refused = await exchange(paths[i % 2], SEVEN_MB, false);
      expect(refused).toMatch(/^HTTP\/1\.1 413 /);
      expect(refused).not.toContain('100 Continue');
      expect(refused).toContain('bytes allowed, headers and cookies included');
    }
    // a small form to a public route: "100 Continue", then the body, then the route's own answer (not 413)
    const passed = await exchange('/media', 10, true);
    expect(passed).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 (\d{3})/);
    expect(passed).not.toMatch(/HTTP\/1\.1 413/);
  });

  it('still answers the next request normally', async () => {
    const res = await fetch(`${runtime.baseUrl}/health`);
    expect(res.status).toBe(200);
  });
});

describe('the lingering close is bounded', () => {
  // the gateway alone, in this process, with twilio-run's body parser and small bounds
  const fromHandler = createRequire(
    createRequire(path.join(PROJECT_ROOT, 'package.json')).resolve('@twilio/runtime-handler/dev'),
  );
  const lines: string[] = [];
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    const gateway = platformGateway((_req, res) => res.end('ok'), {
      route: () => ({ type: 'function', access: 'public' }),
      signatureBaseUrls: [],
      privatePaths: [],
      bodyParser: fromHandler('body-parser') as BodyParsers,
      parseUrl: createRequire(fromHandler.resolve('express'))('parseurl') as GatewayOptions['parseUrl'],
      linger: { ms: 2000, idleMs: 400, bytes: 3 * 1024 * 1024 },
      log: (line) => lines.push(line),
    });
    server = http.createServer(gateway);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('by bytes: a client that never stops writing is cut after the byte bound, having read its 413', async () => {
    lines.length = 0;
    const outcome = await rawPost(port, '/x', 0, false);
    expect(outcome.status).toBe(413);
    expect(outcome.closedMs).toBeLessThan(2000);
    expect(lines).toEqual([
      expect.stringContaining(`closed after 413 with the body still arriving (over ${3 * 1024 * 1024} bytes dropped)`),
    ]);
  });

  it('by time: a client that trickles without end is cut at the time bound', async () => {
    lines.length = 0;
    // 64 KiB every 100 ms: never idle for 400 ms, and under the byte bound within 2 s
    const outcome = await rawPost(port, '/x', 100, false);
    expect(outcome.status).toBe(413);
    expect(outcome.closedMs).toBeGreaterThanOrEqual(1900);
    expect(outcome.closedMs).toBeLessThan(6000);
    expect(lines).toEqual([expect.stringContaining('still sending 2000 ms after the answer')]);
  });

  it('by idleness: a client that stops writing is cut after the idle bound', async () => {
    lines.length = 0;
    const started = Date.now();
    const outcome = await new Promise<Outcome>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: ${SEVEN_MB}\r\n\r\n`);
        socket.write(body.subarray(0, CHUNK));
      });
      const received: Buffer[] = [];
      socket.on('data', (c: Buffer) => received.push(c));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        const text = Buffer.concat(received).toString('latin1');
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), written: CHUNK });
      });
    });
    expect(outcome.status).toBe(413);
    expect(Date.now() - started).toBeLessThan(1800);
    expect(lines).toEqual([expect.stringContaining('nothing for 400 ms')]);
  });
});
