// A 20 MB protected asset fetched by the plugin client (src/client/flex-asset-client.ts) in Debian's Chromium
// from the real twilio-run, against the floor: one plain GET of the same asset file from the same runtime, in
// the same browser. Also: Flex token checks (IAM calls) per download, and how long each range of a 25 MB
// protected asset takes through the runtime (each must fit a Function's 10 s).
import * as path from 'node:path';
import * as fs from 'node:fs';
import { chromium } from 'playwright-core';
import { MANIFEST_FILE_NAME, parseManifest } from '../src/lib/manifest';
import { MAX_RESPONSE_BODY_BYTES } from '../src/lib/response-limit';
import { formatTable } from '../src/lib/text-table';
import { startFakeIam, startWithIam } from '../test/support/fake-iam';
import { request } from '../test/support/http';
import { twilioSignature } from '../test/support/runtime';
import { buildWithLargeAssets } from '../test/support/large-build';
import { bundleClient, startPluginPage } from '../test/support/plugin-page';
import { CHROMIUM, CHROMIUM_FLAGS } from '../test/support/chromium';
import { quickNote, sized } from './quick';

const ROUNDS = sized(5, 1);
// quick mode: the large one still needs several ranges (over MAX_RESPONSE_BODY_BYTES)
const BENCH_BYTES = sized(20_000_000, 2_000_000);
const ATLAS_BYTES = sized(25_000_000, 9_000_000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const build = await buildWithLargeAssets({
    'docs/bench.protected.pdf': BENCH_BYTES,
    'docs/atlas.protected.pdf': ATLAS_BYTES,
  });
  const manifest = parseManifest(fs.readFileSync(path.join(build.dir, 'assets', MANIFEST_FILE_NAME), 'utf8'));
  const asset = manifest.entries['docs/bench.pdf'];
  const atlas = manifest.entries['docs/atlas.pdf'];
  const page = await startPluginPage(await bundleClient());
  const origin = page.origin;
  const iam = await startFakeIam();
  const runtime = await startWithIam(iam.url, { buildDir: build.dir, env: { FLEX_ALLOWED_ORIGINS: origin } });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  try {
    const clientTab = await browser.newPage();
    await clientTab.goto(`${origin}/`);
    // the floor runs on the runtime's own origin: a plain same-origin GET of the asset file
    // signed as Twilio signs its own fetch of a protected asset: the gateway refuses it otherwise, as the platform does
    const assetSignature = twilioSignature(runtime.port, asset.path);
    const floorTab = await browser.newPage();
    await floorTab.goto(`${runtime.baseUrl}/health`);
    const client: number[] = [];
    const floor: number[] = [];
    const iamPerDownload: number[] = [];
    let requests = 0;
    for (let round = 0; round < ROUNDS + 1; round++) {
      iam.requests.length = 0;
      // a new token each round, so each download pays its token check as a first visit would
      const got = await clientTab.evaluate<{ ms: number; sha256: string; requests: number }>(`(async () => {
        const { FlexAssetClient } = await import('/client.js');
        const client = new FlexAssetClient({ serviceUrl: ${JSON.stringify(runtime.baseUrl)}, token: () => 'agent-token-bench-${round}' });
        const started = performance.now();
        const asset = await client.fetchAsset(${JSON.stringify(asset.name)});
        return { ms: performance.now() - started, sha256: asset.sha256, requests: asset.requests };
      })()`);
      if (got.sha256 !== asset.sha256) throw new Error('the client returned other bytes');
      const plain = await floorTab.evaluate<{ ms: number; bytes: number }>(`(async () => {
        const started = performance.now();
        const res = await fetch(${JSON.stringify(asset.path)}, { cache: 'no-store', headers: { 'X-Twilio-Signature': ${JSON.stringify(assetSignature)} } });
        const bytes = (await res.arrayBuffer()).byteLength;
        return { ms: performance.now() - started, bytes };
      })()`);
      if (plain.bytes !== asset.bytes) throw new Error(`the plain GET returned ${plain.bytes} bytes`);
      if (round === 0) continue; // warm-up
      client.push(got.ms);
      floor.push(plain.ms);
      iamPerDownload.push(iam.requests.length);
      requests = got.requests;
    }
    const c = median(client);
    const f = median(floor);
    quickNote();
    console.log(
      `Plugin client vs one plain GET, ${asset.bytes} bytes protected asset, Chromium against twilio-run, median of ${ROUNDS}:`,
    );
    console.log(
      formatTable([
        [
          'what',
          'client (ms)',
          'plain GET (ms)',
          'ratio client/GET',
          'target',
          'requests per download',
          'IAM calls per download',
        ],
        [
          `${(asset.bytes / 1e6).toFixed(0)} MB protected`,
          c.toFixed(0),
          f.toFixed(0),
          (c / f).toFixed(2),
          '<= 1.50',
          String(requests),
          String(Math.max(...iamPerDownload)),
        ],
      ]),
    );

    // Each range of the largest protected asset, one after another as a slow client would ask them.
    const times: number[] = [];
    for (let start = 0; start < atlas.bytes; start += MAX_RESPONSE_BODY_BYTES) {
      const started = performance.now();
      const res = await request(`${runtime.baseUrl}/flex/asset`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          Token: 'agent-token',
          name: atlas.name,
          Range: `bytes=${start}-`,
          'If-Range': atlas.etag,
        }).toString(),
      });
      if (res.status !== 206) throw new Error(`range at ${start}: ${res.status}`);
      times.push(performance.now() - started);
    }
    console.log(
      `\nEach range of the ${atlas.bytes} bytes protected asset through the runtime (at most ${MAX_RESPONSE_BODY_BYTES} bytes each):`,
    );
    console.log(
      formatTable([
        ['ranges', 'slowest (ms)', 'median (ms)', 'limit (ms)'],
        [String(times.length), Math.max(...times).toFixed(0), median(times).toFixed(0), '10000'],
      ]),
    );
  } finally {
    await browser.close();
    await runtime.stop();
    await iam.close();
    await page.close();
    build.remove();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
