import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

export type FakeHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => unknown;

export interface FakeHost {
  port: number;
  /** host:port, as an allowlist entry */
  host: string;
  url: string;
  requests: RecordedRequest[];
  /** replace the script while the host runs */
  setHandler(handler: FakeHandler): void;
  close(): Promise<void>;
}

/** A small scripted HTTP server on 127.0.0.1 standing in for a Twilio host in tests. */
export async function startFakeHost(
  handler: FakeHandler,
  options: { /** the clock of each request's `at`; default the real one */ now?: () => number } = {},
): Promise<FakeHost> {
  const now = options.now ?? Date.now;
  let current = handler;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: now() });
      Promise.resolve(current(req, res, body)).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(error));
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    setHandler: (next) => (current = next),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
