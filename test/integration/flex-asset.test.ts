import * as fs from 'node:fs';
import * as path from 'node:path';
import twilio from 'twilio';
import { MANIFEST_FILE_NAME, Manifest, parseManifest } from '../../src/lib/manifest';
import { FakeHost, startFakeHost } from '../support/fake-host';
import { request, RawResponse } from '../support/http';
import { PROJECT_ROOT, sharedBuildDir } from '../support/paths';
import { startFakeIam, startWithIam } from '../support/fake-iam';
import { freePort, RunningRuntime, TEST_AUTH_TOKEN } from '../support/runtime';

const FLEX = 'https://flex.twilio.com';

describe('POST /flex/asset on the real twilio-run', () => {
  let runtime: RunningRuntime;
  /** a runtime without PROTECTED_ASSET_BASE_URL: protected assets come from its own DOMAIN_NAME */
  let second: RunningRuntime;
  /** a runtime whose IAM is a closed loopback port: a real ECONNREFUSED inside the validator */
  let noIam: RunningRuntime;
  let iam: FakeHost;
  let assetHost: FakeHost;
  let manifest: Manifest;
  const guidePdf = fs.readFileSync(path.join(PROJECT_ROOT, 'assets', 'docs', 'agent-guide.protected.pdf'));
  const holdMusic = fs.readFileSync(path.join(PROJECT_ROOT, 'assets', 'audio', 'hold-music.private.wav'));

  beforeAll(async () => {
    manifest = parseManifest(fs.readFileSync(path.join(sharedBuildDir(), 'assets', MANIFEST_FILE_NAME), 'utf8'));
    const guide = manifest.entries['docs/agent-guide.pdf'];
    iam = await startFakeIam();
    // Fake protected asset host: like Twilio's, it answers only requests signed with the Auth Token.
    assetHost = await startFakeHost((req, res) => {
      const signature = req.headers['x-twilio-signature'];
      if (
        typeof signature !== 'string' ||
        !twilio.validateRequest(TEST_AUTH_TOKEN, signature, `${assetHost.url}${req.url}`, {})
      ) {
        res.writeHead(403);
        res.end('signature required');
        return;
      }
      if (req.url !== guide.path) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/pdf' });
      res.end(guidePdf);
    });
    second = await startWithIam(iam.url);
    noIam = await startWithIam(`http://127.0.0.1:${await freePort()}`);
    // every request asks IAM here, so each test sees its own token checks; `second` keeps the default cache
    runtime = await startWithIam(iam.url, {
      env: { PROTECTED_ASSET_BASE_URL: assetHost.url, FLEX_TOKEN_TIMEOUT_MS: '1000', FLEX_TOKEN_CACHE_SECONDS: '0' },
    });
  });

  afterAll(async () => {
    await runtime?.stop();
    await second?.stop();
    await noIam?.stop();
    await iam?.close();
    await assetHost?.close();
  });

  beforeEach(() => {
    iam.requests.length = 0;
    assetHost.requests.length = 0;
  });

  function post(
    params: Record<string, string>,
    headers: Record<string, string> = { Origin: FLEX },
  ): Promise<RawResponse> {
    return request(`${runtime.baseUrl}/flex/asset`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(params).toString(),
    });
  }
  const errorOf = (res: RawResponse) => (JSON.parse(res.body.toString('utf8')) as { error: string }).error;

  it('a missing token is 403 naming Token, readable by the Flex origin, without a call to IAM', async () => {
    const res = await post({ name: 'docs/agent-guide.pdf' });
    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBe(FLEX);
    expect(res.headers.vary).toMatch(/Origin/);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(errorOf(res)).toMatch(/"Token" is required/);
    expect(iam.requests).toHaveLength(0);
  });

  it('GET /flex/asset?Token=...&name=... is 400: the token is taken from a POST body only, and IAM is not asked', async () => {
    // (twilio-run's request log prints this URL, token included: exactly why a URL token must never work)
    const query = new URLSearchParams({ Token: 'url-token', name: 'docs/agent-guide.pdf' }).toString();
    for (const method of ['GET', 'POST']) {
      const res = await request(`${runtime.baseUrl}/flex/asset?${query}`, { method, headers: { Origin: FLEX } });
      expect(res.status).toBe(400);
      expect(errorOf(res)).toMatch(/"Token" must be sent in the POST body/);
      expect(res.headers['access-control-allow-origin']).toBe(FLEX);
    }
    // a POST whose form body holds only the name, the token riding in the URL
    const mixed = await request(`${runtime.baseUrl}/flex/asset?Token=url-token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: FLEX },
      body: 'name=a',
    });
    expect(mixed.status).toBe(400);
    expect(iam.requests).toHaveLength(0);
    expect(assetHost.requests).toHaveLength(0);
  });

  it('an oversized Token in the body is 400 before any call', async () => {
    const res = await post({ Token: 'x'.repeat(90_000), name: 'docs/agent-guide.pdf' });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatch(/"Token" is 90000 characters, longer than any Flex token/);
    expect(iam.requests).toHaveLength(0);
  });

  it('a warm instance asks IAM once for a token used three times', async () => {
    const ask = () =>
      request(`${second.baseUrl}/flex/asset`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: FLEX },
        body: new URLSearchParams({
          Token: 'agent-token',
          name: 'audio/hold-music.wav',
          Range: 'bytes=0-99',
        }).toString(),
      });
    for (let i = 0; i < 3; i++) {
      const res = await ask();
      expect(res.status).toBe(206);
      expect(res.body.equals(holdMusic.subarray(0, 100))).toBe(true);
    }
    expect(iam.requests).toHaveLength(1);
  });

  it('a refused origin gets no Access-Control-Allow-Origin, on an error and on a success', async () => {
    const error = await post({ name: 'docs/agent-guide.pdf' }, { Origin: 'https://evil.example' });
    expect(error.status).toBe(403);
    expect(error.headers['access-control-allow-origin']).toBeUndefined();
    const success = await post(
      { Token: 'agent-token', name: 'docs/agent-guide.pdf' },
      { Origin: 'https://evil.example' },
    );
    expect(success.status).toBe(200);
    expect(success.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('twilio-run answers the preflight itself, permissively, as the platform does: the grant is on the actual response', async () => {
    const res = await request(`${runtime.baseUrl}/flex/asset`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    // the headers a plugin sends are allowed by the platform's preflight, If-None-Match included
    expect(res.headers['access-control-allow-headers']).toMatch(/If-None-Match/);
    expect(res.headers['access-control-allow-headers']).toMatch(/Content-Type/);
    expect(iam.requests).toHaveLength(0);
  });

  it('a valid token gets the protected PDF, fetched with a signature the asset host accepts', async () => {
    const guide = manifest.entries['docs/agent-guide.pdf'];
    const res = await post({ Token: 'agent-token', name: 'docs/agent-guide.pdf' });
    expect(res.status).toBe(200);
    expect(res.body.equals(guidePdf)).toBe(true);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers.etag).toBe(guide.etag);
    expect(res.headers['cache-control']).toBe(`private, ${guide.cacheControl}`);
    expect(res.headers['access-control-allow-origin']).toBe(FLEX);
    expect(res.headers['access-control-expose-headers']).toMatch(/ETag/);
    // the validator really asked (the fake) IAM, with the service's credentials
    expect(iam.requests).toHaveLength(1);
    expect(JSON.parse(iam.requests[0].body.toString('utf8'))).toEqual({ token: 'agent-token' });
    expect(assetHost.requests).toHaveLength(1);
    expect(assetHost.requests[0].url).toBe(guide.path);
    // the Function logs never carry the token or the signature
    expect(runtime.output()).not.toContain('agent-token');
    expect(runtime.output()).not.toContain(String(assetHost.requests[0].headers['x-twilio-signature']));
  });

  it('answers 304 to a matching If-None-Match, with the ETag and the CORS grant', async () => {
    const guide = manifest.entries['docs/agent-guide.pdf'];
    const res = await post(
      { Token: 'agent-token', name: 'docs/agent-guide.pdf' },
      { Origin: FLEX, 'If-None-Match': guide.etag },
    );
    expect(res.status).toBe(304);
    expect(res.body.length).toBe(0);
    expect(res.headers.etag).toBe(guide.etag);
    expect(res.headers['cache-control']).toBe(`private, ${guide.cacheControl}`);
    expect(res.headers['access-control-allow-origin']).toBe(FLEX);
    expect(assetHost.requests).toHaveLength(0);
  });

  it('a private asset comes from the runtime asset map, byte for byte', async () => {
    const res = await post({ Token: 'agent-token', name: 'audio/hold-music.wav' });
    expect(res.status).toBe(200);
    expect(res.body.equals(holdMusic)).toBe(true);
    expect(res.headers['content-type']).toBe(manifest.entries['audio/hold-music.wav'].contentType);
    expect(assetHost.requests).toHaveLength(0);
  });

  it('an expired or invalid token is 403 with the CORS grant, and nothing is fetched', async () => {
    for (const [token, why] of [
      ['expired-token', /expired/],
      ['forged-token', /Invalid token/],
    ] as const) {
      const res = await post({ Token: token, name: 'docs/agent-guide.pdf' });
      expect(res.status).toBe(403);
      expect(errorOf(res)).toMatch(why);
      expect(res.headers['access-control-allow-origin']).toBe(FLEX);
    }
    expect(assetHost.requests).toHaveLength(0);
  });

  it('an IAM slower than FLEX_TOKEN_TIMEOUT_MS gives 504, never the asset', async () => {
    const res = await post({ Token: 'slow-token', name: 'docs/agent-guide.pdf' });
    expect(res.status).toBe(504);
    expect(errorOf(res)).toMatch(/did not answer within 1000 ms/);
    expect(res.headers['access-control-allow-origin']).toBe(FLEX);
    expect(assetHost.requests).toHaveLength(0);
  });

  it("without PROTECTED_ASSET_BASE_URL the protected asset comes from the service's own domain (localhost:PORT locally)", async () => {
    // twilio-run does not check signatures on protected assets (serverless-toolkit #31); the signed request
    // path is the one exercised above against the checking fake. Here: the URL the Function derives is right.
    const res = await request(`${second.baseUrl}/flex/asset`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: FLEX },
      body: new URLSearchParams({ Token: 'agent-token', name: 'docs/agent-guide.pdf' }).toString(),
    });
    expect(res.status).toBe(200);
    expect(res.body.equals(guidePdf)).toBe(true);
    expect(assetHost.requests).toHaveLength(0);
  });

  it('an unreachable IAM (connection refused) gives 503 with Retry-After and the CORS grant, never the asset', async () => {
    const res = await request(`${noIam.baseUrl}/flex/asset`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: FLEX },
      body: new URLSearchParams({ Token: 'agent-token', name: 'docs/agent-guide.pdf' }).toString(),
    });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.headers['access-control-allow-origin']).toBe(FLEX);
    expect(errorOf(res)).toMatch(/could not be reached/);
  });
});
