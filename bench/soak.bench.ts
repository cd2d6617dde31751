// Soak: 10,000 mixed requests, 20 at a time, against the runtime `npm start` runs (twilio-run --no-live behind
// the platform gateway), beside the same load on twilio-run's default live mode (require cache cleared on every
// request). The mix: /media answering 302, 304 and 200, and signed /mms/inbound webhooks whose media answers 404
// for a while after it is first asked for. Prints req/s, p99, errors, RSS growth of the runtime process, webhooks
// answered within 10 s, and each Function's cold load time against a Function that requires nothing.
// SOAK_REQUESTS (default 10000) and SOAK_LIVE_REQUESTS (default 1000) set the counts.
import { ChildProcess, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { freePort, spawnTwilioRun } from '../src/local-runtime/twilio-run';
import type { Manifest } from '../src/lib/manifest';
import { formatTable } from '../src/lib/text-table';
import { buildProject, PROJECT_ROOT } from '../src/pipeline/project';
import { quickNote, sized } from './quick';
import { percentile } from './stats';

const TOTAL = Number(process.env.SOAK_REQUESTS ?? sized(10000, 300));
const LIVE_TOTAL = Number(process.env.SOAK_LIVE_REQUESTS ?? sized(1000, 100));
/** cold loads measured per Function (the median is printed) */
const COLD_RUNS = sized(5, 1);
/** the live baseline stops issuing requests after this long, and says so */
const LIVE_TIME_CAP_MS = 300_000;
const CONCURRENCY = 20;
/** not counted: the heap grows to its working size first */
const WARM_UP = sized(500, 50);
const NOT_FOUND_WINDOW_MS = 400;
const WEBHOOK_LIMIT_MS = 10_000;
const ACCOUNT_SID = 'AC00000000000000000000000000000000';
const AUTH_TOKEN = 'soak-auth-token';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

type Kind = '302' | '304 redirect' | '304 private' | '200 private' | 'webhook';
/** one in ten of each block of ten: 3 x 302, 2 x 304 on the redirect, 1 x 304 private, 3 x 200, 1 webhook */
const MIX: Kind[] = [
  '302',
  '200 private',
  '304 redirect',
  '302',
  '200 private',
  '304 private',
  '302',
  '200 private',
  '304 redirect',
  'webhook',
];
const EXPECTED: Record<Kind, number> = {
  '302': 302,
  '304 redirect': 304,
  '304 private': 304,
  '200 private': 200,
  webhook: 200,
};

/** Media that answers 404 for NOT_FOUND_WINDOW_MS after it is first asked for, as fresh Twilio media can. */
function startMediaHost(): Promise<{ server: http.Server; host: string }> {
  const firstSeen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const key = req.url ?? '/';
    const seen = firstSeen.get(key) ?? Date.now();
    firstSeen.set(key, seen);
    if (Date.now() - seen < NOT_FOUND_WINDOW_MS) res.writeHead(404).end();
    else res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': PNG.length }).end(PNG);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, host: `127.0.0.1:${(server.address() as net.AddressInfo).port}` }),
    ),
  );
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? Number(kb[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

interface Outcome {
  kind: Kind;
  status: number;
  ms: number;
}

function send(
  agent: http.Agent,
  base: string,
  port: number,
  kind: Kind,
  n: number,
  ctx: { redirectEtag: string; privateEtag: string; mediaHost: string; runTag: string },
): Promise<Outcome> {
  const started = Date.now();
  let pathAndQuery = '/media?name=images/logo.png';
  let method = 'GET';
  let body: string | undefined;
  const headers: Record<string, string> = {};
  if (kind === '304 redirect') headers['If-None-Match'] = ctx.redirectEtag;
  if (kind === '200 private' || kind === '304 private') pathAndQuery = '/media?name=audio/hold-music.wav';
  if (kind === '304 private') headers['If-None-Match'] = ctx.privateEtag;
  if (kind === 'webhook') {
    pathAndQuery = '/mms/inbound';
    method = 'POST';
    const params: Record<string, string> = {
      MessageSid: `MM${String(n).padStart(32, '0')}`,
      AccountSid: ACCOUNT_SID,
      From: '+15005550006',
      To: '+15005550001',
      NumMedia: '1',
      MediaUrl0: `http://${ctx.mediaHost}/Media/${ctx.runTag}-ME${n}`,
      MediaContentType0: 'image/png',
    };
    body = new URLSearchParams(params).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    headers['X-Twilio-Signature'] = getExpectedTwilioSignature(
      AUTH_TOKEN,
      `http://localhost:${port}/mms/inbound`,
      params,
    );
  }
  return new Promise((resolve) => {
    const req = http.request(`${base}${pathAndQuery}`, { method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ kind, status: res.statusCode ?? 0, ms: Date.now() - started }));
      res.on('error', () => resolve({ kind, status: 0, ms: Date.now() - started }));
    });
    req.setTimeout(30_000, () => req.destroy());
    req.on('error', () => resolve({ kind, status: 0, ms: Date.now() - started }));
    req.end(body);
  });
}

interface RunResult {
  mode: string;
  requested: number;
  done: number;
  seconds: number;
  p99: number;
  errors: number;
  rssStart: number;
  rssEnd: number;
  rssPeak: number;
  webhooks: number;
  webhooksIn10s: number;
  note: string;
}

async function soak(
  mode: string,
  live: boolean,
  total: number,
  functionsDir: string,
  assetsDir: string,
  mediaHost: string,
): Promise<RunResult> {
  const port = await freePort();
  const envDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-soak-env-'));
  const envFile = path.join(envDir, '.env');
  fs.writeFileSync(envFile, `ACCOUNT_SID=${ACCOUNT_SID}\nAUTH_TOKEN=${AUTH_TOKEN}\nMEDIA_ALLOWED_HOSTS=${mediaHost}\n`);
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, `--require ${path.join(__dirname, 'gc-on-signal.cjs')}`]
    .filter(Boolean)
    .join(' ');
  const child: ChildProcess = spawnTwilioRun({
    projectRoot: PROJECT_ROOT,
    port,
    functionsDir,
    assetsDir,
    envFile,
    detached: true,
    live,
  });
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString('utf8')).slice(-4000));
  child.stdout?.on('data', keep); // drained, or a full pipe would stall the runtime
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', () => (exited = true));
  const base = `http://127.0.0.1:${port}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    for (let i = 0; ; i += 1) {
      if (exited) throw new Error(`${mode}: the runtime exited before answering:\n${tail}`);
      const ok = await new Promise<boolean>((resolve) =>
        http
          .get(`${base}/health`, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
          })
          .on('error', () => resolve(false)),
      );
      if (ok) break;
      if (i > 300) throw new Error(`${mode}: no answer on /health:\n${tail}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const redirectEtag = await new Promise<string>((resolve) =>
      http.get(`${base}/media?name=images/logo.png`, (res) => {
        res.resume();
        resolve(String(res.headers.etag));
      }),
    );
    const manifest = JSON.parse(
      fs.readFileSync(path.join(assetsDir, 'media-manifest.private.json'), 'utf8'),
    ) as Manifest;
    // each run's media URLs are new to the media host, so each webhook meets the 404 window
    const ctx = {
      redirectEtag,
      privateEtag: manifest.entries['audio/hold-music.wav'].etag,
      mediaHost,
      runTag: live ? 'live' : 'start',
    };

    const run = async (
      count: number,
      offset: number,
      capMs: number,
    ): Promise<{ outcomes: Outcome[]; seconds: number; capped: boolean }> => {
      const outcomes: Outcome[] = [];
      let next = 0;
      let capped = false;
      const started = Date.now();
      const worker = async () => {
        while (next < count && !exited) {
          if (Date.now() - started > capMs) {
            capped = true;
            return;
          }
          const n = next++;
          outcomes.push(await send(agent, base, port, MIX[n % MIX.length], offset + n, ctx));
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      return { outcomes, seconds: (Date.now() - started) / 1000, capped };
    };
    await run(WARM_UP, 1_000_000, Infinity);
    // RSS rises and falls with garbage collection by tens of MB: growth is read after a full collection at the
    // start and at the end (gc-on-signal.cjs), and the peak from samples taken during the run.
    const settledRss = async () => {
      if (child.pid !== undefined && !exited) child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 1000));
      return rssMb(child.pid);
    };
    const rssStart = await settledRss();
    const samples: number[] = [rssStart];
    const sampler = setInterval(() => {
      const rss = rssMb(child.pid);
      if (Number.isFinite(rss)) samples.push(rss);
    }, 250);
    const { outcomes, seconds, capped } = await run(total, 0, live ? LIVE_TIME_CAP_MS : Infinity);
    clearInterval(sampler);
    const rssPeak = Math.max(...samples);
    const rssEnd = await settledRss();
    const webhooks = outcomes.filter((o) => o.kind === 'webhook');
    const notes: string[] = [];
    if (exited) notes.push(`the runtime died after ${outcomes.length} requests`);
    if (capped) notes.push(`stopped after ${LIVE_TIME_CAP_MS / 1000} s at ${outcomes.length} requests`);
    return {
      mode,
      requested: total,
      done: outcomes.length,
      seconds,
      p99: percentile(
        outcomes.map((o) => o.ms),
        99,
      ),
      errors: outcomes.filter((o) => o.status !== EXPECTED[o.kind]).length,
      rssStart,
      rssEnd,
      rssPeak,
      webhooks: webhooks.length,
      webhooksIn10s: webhooks.filter((o) => o.status === 200 && o.ms < WEBHOOK_LIMIT_MS).length,
      note: notes.join('; '),
    };
  } finally {
    agent.destroy();
    if (child.pid !== undefined && !exited) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(envDir, { recursive: true, force: true });
  }
}

/** Time to require a Function file in a fresh process (median of COLD_RUNS), as a cold start loads it. */
function coldLoadMs(file: string): number {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
  const runs: number[] = [];
  for (let i = 0; i < COLD_RUNS; i += 1) {
    const result = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, NODE_PATH: path.join(PROJECT_ROOT, 'node_modules') },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`loading ${file} failed:\n${result.stderr}`);
    runs.push(Number(result.stdout));
  }
  return percentile(runs, 50);
}

function listJs(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? listJs(path.join(dir, e.name)) : e.name.endsWith('.js') ? [path.join(dir, e.name)] : [],
    );
}

async function main(): Promise<void> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-soak-build-'));
  const built = await buildProject({ outDir, hashCacheFile: null });
  const media = await startMediaHost();
  try {
    const results = [
      await soak('npm start (--no-live, gateway)', false, TOTAL, built.functionsDir, built.assetsDir, media.host),
      await soak('twilio-run default live mode', true, LIVE_TOTAL, built.functionsDir, built.assetsDir, media.host),
    ];
    const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
    quickNote();
    console.log(
      `Soak: mixed requests (3/10 302, 2/10 304 on the redirect, 1/10 private 304, 3/10 private 200, 1/10 signed webhook with media 404 for ${NOT_FOUND_WINDOW_MS} ms), ${CONCURRENCY} concurrent, after ${WARM_UP} warm-up requests (RSS at start and end after a full garbage collection):`,
    );
    const rows = [
      [
        'runtime',
        'requests',
        'req/s',
        'p99 ms',
        'errors',
        'RSS start MB',
        'RSS end MB',
        'RSS growth MB',
        'RSS peak MB',
        'webhooks < 10 s',
        'note',
      ],
    ];
    for (const r of results) {
      rows.push([
        r.mode,
        `${r.done}/${r.requested}`,
        f1(r.done / r.seconds),
        String(r.p99),
        String(r.errors),
        f1(r.rssStart),
        f1(r.rssEnd),
        f1(r.rssEnd - r.rssStart),
        f1(r.rssPeak),
        `${r.webhooksIn10s}/${r.webhooks}`,
        r.note || '-',
      ]);
    }
    console.log(formatTable(rows));
    const [ours, liveRun] = results;
    console.log(
      `Per request: RSS growth ${f1(((ours.rssEnd - ours.rssStart) * 1024) / ours.done)} kB (npm start) vs ${f1(((liveRun.rssEnd - liveRun.rssStart) * 1024) / Math.max(1, liveRun.done))} kB (live); throughput ${(ours.done / ours.seconds / (liveRun.done / liveRun.seconds)).toFixed(1)}x live.`,
    );
    console.log('Targets (npm start): 0 errors, RSS growth < 30 MB, every webhook answered within 10 s.');
    // a failed request is a broken runtime, not a slow one: the benchmark fails (timings are never asserted)
    if (ours.errors > 0 || ours.done < ours.requested)
      throw new Error(`npm start answered ${ours.errors} of ${ours.done} requests wrongly (of ${ours.requested})`);

    const empty = path.join(outDir, 'requires-nothing.js');
    fs.writeFileSync(empty, 'exports.handler = (context, event, callback) => callback(null, "ok");\n');
    const baseline = coldLoadMs(empty);
    const coldRows = [['Function', `cold load ms (median of ${COLD_RUNS})`, 'minus the empty Function', 'target']];
    coldRows.push(['(requires nothing)', f1(baseline), '0.0', '-']);
    for (const file of listJs(built.functionsDir).sort()) {
      const ms = coldLoadMs(file);
      coldRows.push([path.relative(built.functionsDir, file), f1(ms), f1(ms - baseline), '< 50']);
    }
    console.log('\nCold load of each built Function in a fresh process (require only; no request):');
    console.log(formatTable(coldRows));
  } finally {
    media.server.close();
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
