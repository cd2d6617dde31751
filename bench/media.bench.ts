// The /media handler's cost per request, in process, against `send` (the engine of express.static) serving
// the same 3 MiB private file, over real HTTP on loopback: the 200 path and the 304 path. The file stays under
// MAX_RESPONSE_BODY_BYTES: /media refuses to answer a larger body whole (a Function's 4 MB response limit).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import send from 'send';
import { ManifestEntry, Manifest } from '../src/lib/manifest';
import { readFileRange } from '../src/lib/media/read';
import { decideMedia } from '../src/lib/media/serve';
import { MAX_RESPONSE_BODY_BYTES } from '../src/lib/response-limit';
import { formatTable } from '../src/lib/text-table';
import { quickNote, sized } from './quick';

const SIZE = sized(3 * 1024 * 1024, 256 * 1024);
if (SIZE > MAX_RESPONSE_BODY_BYTES) throw new Error(`the bench file (${SIZE} bytes) is over the response limit`);
const REQUESTS_200 = sized(200, 20);
const REQUESTS_304 = sized(3000, 200);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-media-bench-'));
const file = path.join(dir, 'hold-music.wav');
const content = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i += 4) content.writeUInt32LE((i * 2654435761) >>> 0, i);
fs.writeFileSync(file, content);
const sha256 = createHash('sha256').update(content).digest('hex');
const entry: ManifestEntry = {
  name: 'audio/hold-music.wav',
  visibility: 'private',
  path: '/audio/hold-music.wav',
  version: sha256.slice(0, 12),
  bytes: SIZE,
  contentType: 'audio/wav',
  etag: `"sha256-${sha256}"`,
  lastModified: fs.statSync(file).mtime.toUTCString(),
  sha256,
  cacheControl: 'no-cache',
};
const manifest: Manifest = { schema: 1, builtAt: new Date().toISOString(), entries: { [entry.name]: entry } };

function ours(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const decision = decideMedia({
    manifest,
    name: url.searchParams.get('name'),
    version: url.searchParams.get('v') ?? undefined,
    headers: req.headers,
    baseUrl: 'http://x',
  });
  if (decision.kind === 'response') {
    res.writeHead(decision.response.status, decision.response.headers);
    res.end(
      typeof decision.response.body === 'object' && !Buffer.isBuffer(decision.response.body)
        ? JSON.stringify(decision.response.body)
        : decision.response.body,
    );
    return;
  }
  res.writeHead(decision.status, decision.headers);
  res.end(readFileRange(file, decision.start, decision.end));
}

function baseline(req: http.IncomingMessage, res: http.ServerResponse): void {
  send(req, file, { cacheControl: false }).pipe(res);
}

function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }),
    );
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve(res.statusCode === 304 ? -bytes : bytes));
      })
      .on('error', reject);
  });
}

async function perRequest(
  url: string,
  headers: Record<string, string>,
  expectStatus: 200 | 304,
  n: number,
): Promise<number> {
  for (let i = 0; i < Math.min(20, n); i += 1) await get(url, headers); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1) {
    const bytes = await get(url, headers);
    if (expectStatus === 200 && bytes !== SIZE) throw new Error(`expected ${SIZE} bytes, got ${bytes}`);
    if (expectStatus === 304 && bytes > 0) throw new Error('expected a 304');
  }
  return Number(process.hrtime.bigint() - started) / 1e3 / n;
}

async function main(): Promise<void> {
  const a = await listen(ours);
  const b = await listen(baseline);
  const oursUrl = `${a.url}/media?name=audio/hold-music.wav`;
  // send's own validator, so each side answers 304 to the tag it issued
  const sendEtag = await new Promise<string>((resolve) =>
    http.get(b.url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.headers.etag)));
    }),
  );
  const rows: string[][] = [['path', 'ours (µs/req)', 'send (µs/req)', 'ratio ours/send', 'target']];
  for (let round = 0; round < 1; round += 1) {
    const ours200 = await perRequest(oursUrl, {}, 200, REQUESTS_200);
    const send200 = await perRequest(b.url, {}, 200, REQUESTS_200);
    const ours304 = await perRequest(oursUrl, { 'If-None-Match': entry.etag }, 304, REQUESTS_304);
    const send304 = await perRequest(b.url, { 'If-None-Match': sendEtag }, 304, REQUESTS_304);
    rows.push([
      `200 (${(SIZE / 1024).toFixed(0)} KiB body)`,
      ours200.toFixed(0),
      send200.toFixed(0),
      (ours200 / send200).toFixed(2),
      '<= 1.20',
    ]);
    rows.push([
      '304 (If-None-Match)',
      ours304.toFixed(1),
      send304.toFixed(1),
      (ours304 / send304).toFixed(2),
      '<= 1.00',
    ]);
  }
  quickNote();
  console.log(
    `Media handler vs send, ${(SIZE / 1024 / 1024).toFixed(2)} MiB private file, sequential keep-alive requests on loopback:`,
  );
  console.log(formatTable(rows));
  a.server.close();
  b.server.close();
  agent.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
