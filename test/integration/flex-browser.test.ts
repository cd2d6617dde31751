import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, Browser } from 'playwright-core';
import { MANIFEST_FILE_NAME, parseManifest } from '../../src/lib/manifest';
import { FUNCTION_RESPONSE_LIMIT_BYTES, MAX_RESPONSE_BODY_BYTES } from '../../src/lib/response-limit';
import type { FakeHost } from '../support/fake-host';
import { startFakeIam, startWithIam } from '../support/fake-iam';
import { request } from '../support/http';
import { buildWithLargeAssets, LargeBuild } from '../support/large-build';
import { bundleClient, PluginPage, startPluginPage } from '../support/plugin-page';
import { CHROMIUM, CHROMIUM_FLAGS } from '../support/chromium';
import type { RunningRuntime } from '../support/runtime';

interface PageResult {
  ok: boolean;
  error?: { name: string; message: string; status?: number };
  sha256?: string;
  blobSha256?: string;
  bytes?: number;
  requests?: number;
  revalidated?: boolean;
  again?: { revalidated: boolean; requests: number };
}

/** Runs the client in the page: fetches `name`, hashes the blob independently, fetches again (revalidation). */
function inPage(serviceUrl: string, name: string, token = 'agent-token'): string {
  return `(async () => {
    const { FlexAssetClient } = await import('/client.js');
    const client = new FlexAssetClient({ serviceUrl: ${JSON.stringify(serviceUrl)}, token: () => ${JSON.stringify(token)} });
    try {
      const asset = await client.fetchAsset(${JSON.stringify(name)});
      const digest = await crypto.subtle.digest('SHA-256', await asset.blob.arrayBuffer());
      const blobSha256 = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
      const again = await client.fetchAsset(${JSON.stringify(name)});
      return { ok: true, sha256: asset.sha256, blobSha256, bytes: asset.blob.size, requests: asset.requests, revalidated: asset.revalidated,
        again: { revalidated: again.revalidated, requests: again.requests } };
    } catch (err) {
      return { ok: false, error: { name: err.name, message: err.message, status: err.status } };
    }
  })()`;
}

describe('the plugin client in a real browser (Chromium) against the real twilio-run', () => {
  let build: LargeBuild;
  let iam: FakeHost;
  let runtime: RunningRuntime;
  let browser: Browser;
  let allowed: PluginPage;
  let other: PluginPage;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`,
      );
    build = await buildWithLargeAssets({
      'docs/manual.protected.pdf': 12_000_000,
      'docs/atlas.protected.pdf': 25_000_000,
    });
    const clientJs = await bundleClient();
    allowed = await startPluginPage(clientJs);
    other = await startPluginPage(clientJs);
    iam = await startFakeIam();
    runtime = await startWithIam(iam.url, { buildDir: build.dir, env: { FLEX_ALLOWED_ORIGINS: allowed.origin } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    // a build hashing 37 MB and type-checking the Functions, a runtime and a browser: slow on a loaded machine
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    await iam?.close();
    await allowed?.close();
    await other?.close();
    build?.remove();
  });

  beforeEach(() => {
    iam.requests.length = 0;
  });

  async function run(page: { origin: string }, name: string, token?: string): Promise<PageResult> {
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      await tab.goto(`${page.origin}/`);
      return await tab.evaluate<PageResult>(inPage(runtime.baseUrl, name, token));
    } finally {
      await context.close();
    }
  }

  it('an allowed origin gets a small private asset in one request, intact, then revalidates it (304)', async () => {
    const expected = parseManifest(fs.readFileSync(path.join(build.dir, 'assets', MANIFEST_FILE_NAME), 'utf8')).entries[
      'audio/hold-music.wav'
    ];
    const result = await run(allowed, 'audio/hold-music.wav');
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({
      ok: true,
      sha256: expected.sha256,
      blobSha256: expected.sha256,
      bytes: expected.bytes,
      requests: 1,
      revalidated: false,
    });
    expect(result.again).toEqual({ revalidated: true, requests: 1 });
  });

  it('an allowed origin gets a 12 MB protected asset in parallel ranges, intact, with one IAM call', async () => {
    // a token this runtime has not seen: the first request asks IAM, the other parts and the revalidation do not
    const result = await run(allowed, 'docs/manual.pdf', 'agent-token-manual');
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({
      ok: true,
      sha256: build.sha256['docs/manual.pdf'],
      blobSha256: build.sha256['docs/manual.pdf'],
      bytes: 12_000_000,
    });
    expect(result.requests).toBe(Math.ceil(12_000_000 / MAX_RESPONSE_BODY_BYTES));
    expect(result.again).toEqual({ revalidated: true, requests: 1 });
    expect(iam.requests).toHaveLength(1);
  });

  it('a page on another origin reads nothing: the client throws its network error', async () => {
    const result = await run(other, 'audio/hold-music.wav');
    expect(result.ok).toBe(false);
    expect(result.error?.name).toBe('FlexAssetNetworkError');
    expect(result.error?.message).toMatch(/FLEX_ALLOWED_ORIGINS/);
  });

  it("a refused token reaches the page as a typed error with the service's message", async () => {
    const result = await run(allowed, 'audio/hold-music.wav', 'forged-token');
    expect(result.error).toMatchObject({ name: 'FlexAssetHttpError', status: 403 });
    expect(result.error?.message).toMatch(/Invalid token/);
  });

  it('the 25 MB protected asset comes in 7 ranges through the real runtime, each answer within 4,000,000 bytes', async () => {
    const total = 25_000_000;
    const atlas = parseManifest(fs.readFileSync(path.join(build.dir, 'assets', MANIFEST_FILE_NAME), 'utf8')).entries[
      'docs/atlas.pdf'
    ];
    const parts: Buffer[] = [];
    for (let start = 0; start < total;) {
      const res = await request(`${runtime.baseUrl}/flex/asset`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: allowed.origin },
        body: new URLSearchParams({
          Token: 'agent-token',
          name: 'docs/atlas.pdf',
          Range: `bytes=${start}-`,
          'If-Range': atlas.etag,
        }).toString(),
      });
      expect(res.status).toBe(206);
      const headerBytes = Object.entries(res.headers).reduce((sum, [k, v]) => sum + k.length + String(v).length + 4, 0);
      expect(res.body.length + headerBytes).toBeLessThan(FUNCTION_RESPONSE_LIMIT_BYTES);
      parts.push(res.body);
      start += res.body.length;
    }
    expect(parts).toHaveLength(7);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(Buffer.concat(parts)).digest('hex')).toBe(build.sha256['docs/atlas.pdf']);
    // without a range it is refused, naming the limit and the way
    const whole = await request(`${runtime.baseUrl}/flex/asset`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Token: 'agent-token', name: 'docs/atlas.pdf' }).toString(),
    });
    expect(whole.status).toBe(400);
    expect(JSON.parse(whole.body.toString('utf8')).error).toMatch(/header "Range" is required.*3900000 bytes/);
  });
});
