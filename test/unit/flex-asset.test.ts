import { createHash } from 'node:crypto';
import * as https from 'node:https';
import twilio from 'twilio';
import { serveFlexAsset, FlexAssetDeps, FlexAssetRequest } from '../../src/lib/flex/asset';
import type { ServiceEnv } from '../../src/lib/settings';
import { VerifiedTokenCache } from '../../src/lib/flex/token-cache';
import { MAX_TOKEN_CHARS } from '../../src/lib/flex/token';
import { MAX_RESPONSE_BODY_BYTES } from '../../src/lib/response-limit';
import type { Manifest, ManifestEntry } from '../../src/lib/manifest';
import { FakeHost, startFakeHost } from '../support/fake-host';

import { interceptHttp, nock } from '../support/nock';

interceptHttp(true);

const SID = 'AC11111111111111111111111111111111';
const AUTH = 'flex-test-auth-token';
const IAM = 'https://iam.twilio.com';
const IAM_PATH = `/v1/Accounts/${SID}/Tokens/validate`;
const FLEX = 'https://flex.twilio.com';

const PDF = Buffer.from('%PDF-1.4\n% agent guide\n\x00\x01\x02binary\n%%EOF\n', 'latin1');
const WAV = Buffer.from('RIFF....WAVEfmt hold music', 'latin1');

function entry(
  name: string,
  visibility: ManifestEntry['visibility'],
  path: string,
  bytes: Buffer,
  contentType: string,
  cacheControl = 'no-cache',
): ManifestEntry {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    name,
    visibility,
    path,
    version: sha256.slice(0, 12),
    bytes: bytes.length,
    contentType,
    etag: `"sha256-${sha256}"`,
    lastModified: 'Tue, 24 Nov 2026 20:00:00 GMT',
    sha256,
    cacheControl,
  };
}

/** larger than one Function answer may carry; deterministic bytes so a misplaced slice is caught */
const MANUAL = Buffer.alloc(MAX_RESPONSE_BODY_BYTES + 1_000_000);
for (let i = 0; i < MANUAL.length; i += 4) MANUAL.writeUInt32LE((i * 2654435761) >>> 0, i);

const manifest: Manifest = {
  schema: 1,
  builtAt: '2026-11-24T20:00:00.000Z',
  entries: {
    'docs/agent-guide.pdf': entry(
      'docs/agent-guide.pdf',
      'protected',
      '/docs/agent-guide.0123456789ab.pdf',
      PDF,
      'application/pdf',
    ),
    'audio/hold-music.wav': entry(
      'audio/hold-music.wav',
      'private',
      '/audio/hold-music.wav',
      WAV,
      'audio/wav',
      'max-age=300',
    ),
    'images/logo.png': entry(
      'images/logo.png',
      'public',
      '/images/logo.0123456789ab.png',
      Buffer.from('PNG'),
      'image/png',
    ),
    'docs/manual.pdf': entry(
      'docs/manual.pdf',
      'protected',
      '/docs/manual.0123456789ab.pdf',
      MANUAL,
      'application/pdf',
    ),
    'data/prices.json': {
      ...entry('data/prices.json', 'private', '/data/prices.json', Buffer.from('{}'), 'application/json'),
      notMedia: true,
    },
  },
};
const guide = manifest.entries['docs/agent-guide.pdf'];
const manual = manifest.entries['docs/manual.pdf'];

let assetHost: FakeHost;
/** what the fake asset host serves, by path; it answers 403 to any request without a valid signature */
let served: Record<string, Buffer>;
let assetDelayMs = 0;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  assetHost = await startFakeHost(async (req, res) => {
    const url = `${assetHost.url}${req.url}`;
    const signature = req.headers['x-twilio-signature'];
    if (typeof signature !== 'string' || !twilio.validateRequest(AUTH, signature, url, {})) {
      res.writeHead(403, { 'Content-Type': 'text/plain' });
      res.end('signature required');
      return;
    }
    if (assetDelayMs) {
      // slow, but gone as soon as the client hangs up
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, assetDelayMs);
        req.socket.once('close', () => (clearTimeout(timer), resolve()));
      });
    }
    const body = served[req.url ?? ''];
    if (!body) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(body);
  });
});

afterAll(async () => {
  // the validator uses https.globalAgent, which keeps sockets alive (Node 20): let jest exit
  https.globalAgent.destroy();
  await assetHost.close();
});

beforeEach(() => {
  // each test starts cold: a token verified by an earlier test is not remembered
  deps.tokenCache = new VerifiedTokenCache();
  served = { [guide.path]: PDF, [manifest.entries['images/logo.png'].path]: Buffer.from('PNG'), [manual.path]: MANUAL };
  assetDelayMs = 0;
  assetHost.requests.length = 0;
  logs.length = 0;
});

function env(extra: ServiceEnv = {}): ServiceEnv {
  return {
    ACCOUNT_SID: SID,
    AUTH_TOKEN: AUTH,
    DOMAIN_NAME: 'example-1234.twil.io',
    PROTECTED_ASSET_BASE_URL: assetHost.url,
    ...extra,
  };
}

const privateReads: string[] = [];
const deps: FlexAssetDeps = {
  manifest: () => manifest,
  readPrivateRange: (e, start, end) => {
    privateReads.push(e.path);
    return (e.name === 'audio/hold-music.wav' ? WAV : Buffer.from('{}')).subarray(start, end + 1);
  },
  log: (line) => logs.push(line),
};

function ask(
  params: FlexAssetRequest['params'],
  headers: Record<string, string> = { origin: FLEX },
  extraEnv: ServiceEnv = {},
) {
  // as a browser posts a form; a token outside a body is refused (tested below)
  return serveFlexAsset(
    { env: env(extraEnv), params, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } },
    deps,
  );
}

/** IAM answering the validator's POST; checks the credentials and body it receives. */
function iam(token: string) {
  return nock(IAM).post(IAM_PATH, { token }).basicAuth({ user: SID, pass: AUTH });
}

const VALID = {
  valid: true,
  code: 0,
  message: null,
  identity: 'agent_alice',
  worker_sid: 'WK00000000000000000000000000000000',
  roles: ['agent'],
};

function jsonBody(body: unknown): { error: string; status: number } {
  return body as { error: string; status: number };
}

describe('POST /flex/asset: token check through twilio-flex-token-validator (IAM intercepted in process)', () => {
  it('a valid token gets the protected asset, fetched with a signature the asset host accepts', async () => {
    const scope = iam('good-token').reply(200, VALID);
    const res = await ask({ Token: 'good-token', name: 'docs/agent-guide.pdf' });
    expect(scope.isDone()).toBe(true);
    expect(res.status).toBe(200);
    expect(Buffer.isBuffer(res.body) && res.body.equals(PDF)).toBe(true);
    expect(res.headers['Content-Type']).toBe('application/pdf');
    expect(res.headers.ETag).toBe(guide.etag);
    expect(res.headers['Cache-Control']).toBe('private, no-cache');
    expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
    expect(res.headers.Vary).toBe('Origin');
    expect(res.headers['Access-Control-Expose-Headers']).toContain('ETag');
    expect(res.headers['Content-Disposition']).toBe('inline; filename="agent-guide.pdf"');
    // the asset host saw exactly one GET of the deployed path, with a valid signature over its full URL
    expect(assetHost.requests).toHaveLength(1);
    expect(assetHost.requests[0].method).toBe('GET');
    expect(assetHost.requests[0].url).toBe(guide.path);
    const url = `${assetHost.url}${guide.path}`;
    expect(twilio.validateRequest(AUTH, String(assetHost.requests[0].headers['x-twilio-signature']), url, {})).toBe(
      true,
    );
    // the log line names the agent but never the token or the signature
    const logged = JSON.stringify(logs);
    expect(logged).toContain('agent_alice');
    expect(logged).not.toContain('good-token');
    expect(logged).not.toContain(String(assetHost.requests[0].headers['x-twilio-signature']));
  });

  it('the fake asset host refuses an unsigned request and one signed with another Auth Token', async () => {
    const unsigned = await fetch(`${assetHost.url}${guide.path}`);
    expect(unsigned.status).toBe(403);
    const url = `${assetHost.url}${guide.path}`;
    const forged = await fetch(url, {
      headers: { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature('another-token', url, {}) },
    });
    expect(forged.status).toBe(403);
  });

  it('an asset host refusing the signature gives 502 and never the asset', async () => {
    nock(IAM).post(IAM_PATH).reply(200, VALID);
    const res = await ask(
      { Token: 'good-token', name: 'docs/agent-guide.pdf' },
      { origin: FLEX },
      { AUTH_TOKEN: 'wrong-auth-token' },
    );
    expect(res.status).toBe(502);
    expect(jsonBody(res.body).error).toMatch(/answered 403/);
    expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
    expect(Buffer.isBuffer(res.body)).toBe(false);
  });

  it('an invalid token gets 403 with CORS, and the asset is never fetched', async () => {
    const scope = iam('forged').reply(200, { valid: false, code: 20151, message: 'Invalid token' });
    const res = await ask({ Token: 'forged', name: 'docs/agent-guide.pdf' });
    expect(scope.isDone()).toBe(true);
    expect(res.status).toBe(403);
    expect(jsonBody(res.body).error).toMatch(/refused: Invalid token/);
    expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
    expect(res.headers['Cache-Control']).toBe('no-store');
    expect(assetHost.requests).toHaveLength(0);
  });

  it('an expired token gets 403, whether IAM says so or only the expiration does', async () => {
    iam('old').reply(200, { valid: false, code: 20104, message: 'Expired token' });
    const said = await ask({ Token: 'old', name: 'docs/agent-guide.pdf' });
    expect(said.status).toBe(403);
    expect(jsonBody(said.body).error).toMatch(/expired/);
    iam('stale').reply(200, { ...VALID, expiration: '2020-01-01T00:00:00.000Z' });
    const dated = await ask({ Token: 'stale', name: 'docs/agent-guide.pdf' });
    expect(dated.status).toBe(403);
    expect(jsonBody(dated.body).error).toMatch(/expired/);
    expect(assetHost.requests).toHaveLength(0);
  });

  it('an unreachable token service gives 503 with Retry-After, not a 403 and not the asset', async () => {
    // (the string form: nock 15 never emits an error given as an object with a code, leaving the request hanging)
    iam('good-token').replyWithError('connect ECONNREFUSED 203.0.113.9:443');
    const res = await ask({ Token: 'good-token', name: 'docs/agent-guide.pdf' });
    expect(res.status).toBe(503);
    expect(res.headers['Retry-After']).toBe('5');
    expect(jsonBody(res.body).error).toMatch(/could not be reached/);
    expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
    expect(assetHost.requests).toHaveLength(0);
  });

  it('a token service answering garbage gives 503', async () => {
    iam('good-token').reply(502, '<html>Bad gateway</html>');
    const res = await ask({ Token: 'good-token', name: 'docs/agent-guide.pdf' });
    expect(res.status).toBe(503);
  });

  it('service credentials refused by IAM give 500 naming the settings, not a 403 blaming the agent', async () => {
    iam('good-token').reply(401, { code: 20003, message: 'Authenticate', status: 401 });
    const res = await ask({ Token: 'good-token', name: 'docs/agent-guide.pdf' });
    expect(res.status).toBe(500);
    expect(jsonBody(res.body).error).toMatch(/AUTH_TOKEN/);
  });

  it('a token service slower than FLEX_TOKEN_TIMEOUT_MS gives 504 at the bound, not the asset', async () => {
    // IAM would answer "valid" after 20 s; the Function must not wait for it.
    iam('good-token').delay(20000).reply(200, VALID);
    const res = await ask(
      { Token: 'good-token', name: 'docs/agent-guide.pdf' },
      { origin: FLEX },
      { FLEX_TOKEN_TIMEOUT_MS: '150' },
    );
    expect(res.status).toBe(504);
    expect(jsonBody(res.body).error).toMatch(/did not answer within 150 ms/);
    expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
    expect(assetHost.requests).toHaveLength(0);
  });

  it('a missing token gets 403 naming Token, with CORS, without calling IAM', async () => {
    const scope = iam('x').reply(200, VALID);
    for (const params of [{ name: 'docs/agent-guide.pdf' }, { Token: '', name: 'docs/agent-guide.pdf' }]) {
      const res = await ask(params);
      expect(res.status).toBe(403);
      expect(jsonBody(res.body).error).toMatch(/"Token" is required/);
      expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
      expect(res.headers.Vary).toBe('Origin');
    }
    expect(scope.isDone()).toBe(false);
  });

  it('a token sent twice is refused', async () => {
    const res = await ask({ Token: ['a', 'b'], name: 'docs/agent-guide.pdf' });
    expect(res.status).toBe(400);
    expect(jsonBody(res.body).error).toMatch(/"Token" must be sent once/);
  });

  it('API_KEY/API_SECRET are used when there is no AUTH_TOKEN; a protected asset then needs AUTH_TOKEN to sign', async () => {
    const scope = nock(IAM).post(IAM_PATH).basicAuth({ user: 'SK123', pass: 'secret' }).reply(200, VALID);
    const res = await ask(
      { Token: 't', name: 'docs/agent-guide.pdf' },
      { origin: FLEX },
      { AUTH_TOKEN: undefined, API_KEY: 'SK123', API_SECRET: 'secret' },
    );
    expect(scope.isDone()).toBe(true);
    expect(res.status).toBe(500);
    expect(jsonBody(res.body).error).toMatch(/AUTH_TOKEN/);
  });

  it('TWILIO_REGION sends the check to the regional IAM host, as the validator does', async () => {
    const scope = nock('https://iam.ie1.twilio.com').post(IAM_PATH).reply(200, VALID);
    const res = await ask(
      { Token: 't', name: 'audio/hold-music.wav' },
      { origin: FLEX },
      { TWILIO_REGION: 'ie1-dublin' },
    );
    expect(scope.isDone()).toBe(true);
    expect(res.status).toBe(200);
  });
});

describe('POST /flex/asset: CORS on the actual responses', () => {
  it('an allowed origin gets Access-Control-Allow-Origin; a refused origin gets none, on success and error', async () => {
    iam('good-token').times(2).reply(200, VALID);
    const allowed = await ask({ Token: 'good-token', name: 'images/logo.png' }, { origin: FLEX });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['Access-Control-Allow-Origin']).toBe(FLEX);
    const refused = await ask({ Token: 'good-token', name: 'images/logo.png' }, { origin: 'https://evil.example' });
    expect(refused.headers['Access-Control-Allow-Origin']).toBeUndefined();
    expect(refused.headers['Access-Control-Expose-Headers']).toBeUndefined();
    expect(refused.headers.Vary).toBe('Origin');
    const refusedError = await ask({ name: 'images/logo.png' }, { origin: 'https://evil.example' });
    expect(refusedError.status).toBe(403);
    expect(refusedError.headers['Access-Control-Allow-Origin']).toBeUndefined();
    const noOrigin = await ask({ name: 'images/logo.png' }, {});
    expect(noOrigin.headers['Access-Control-Allow-Origin']).toBeUndefined();
  });

  it('FLEX_ALLOWED_ORIGINS replaces the default list, compared as serialized origins', async () => {
    const extra = { FLEX_ALLOWED_ORIGINS: ' https://Flex.Example.com/ , http://localhost:3000' };
    const custom = await ask({}, { origin: 'https://flex.example.com' }, extra);
    expect(custom.headers['Access-Control-Allow-Origin']).toBe('https://flex.example.com');
    const local = await ask({}, { origin: 'http://localhost:3000' }, extra);
    expect(local.headers['Access-Control-Allow-Origin']).toBe('http://localhost:3000');
    const former = await ask({}, { origin: FLEX }, extra);
    expect(former.headers['Access-Control-Allow-Origin']).toBeUndefined();
    // an origin differing only by port or scheme is another origin
    const otherPort = await ask({}, { origin: 'http://localhost:3001' }, extra);
    expect(otherPort.headers['Access-Control-Allow-Origin']).toBeUndefined();
  });

  it('a malformed FLEX_ALLOWED_ORIGINS is a 500 naming the variable, readable by the default Flex origin', async () => {
    const res = await ask(
      { Token: 't', name: 'docs/agent-guide.pdf' },
      { origin: FLEX },
      { FLEX_ALLOWED_ORIGINS: '*' },
    );
    expect(res.status).toBe(500);
    expect(jsonBody(res.body).error).toMatch(/FLEX_ALLOWED_ORIGINS/);
    expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
  });
});

describe('POST /flex/asset: delivery and caching', () => {
  it('a matching If-None-Match gets 304 with the 200 headers, without fetching the asset', async () => {
    iam('good-token').times(3).reply(200, VALID);
    for (const inm of [guide.etag, `W/${guide.etag}`, `"other", ${guide.etag}`]) {
      const res = await ask(
        { Token: 'good-token', name: 'docs/agent-guide.pdf' },
        { origin: FLEX, 'if-none-match': inm },
      );
      expect(res.status).toBe(304);
      expect(res.body).toBe('');
      expect(res.headers.ETag).toBe(guide.etag);
      expect(res.headers['Cache-Control']).toBe('private, no-cache');
      expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
    }
    expect(assetHost.requests).toHaveLength(0);
  });

  it('a stale If-None-Match gets the 200', async () => {
    iam('good-token').reply(200, VALID);
    const res = await ask(
      { Token: 'good-token', name: 'docs/agent-guide.pdf' },
      { origin: FLEX, 'if-none-match': '"sha256-old"' },
    );
    expect(res.status).toBe(200);
  });

  it('an If-None-Match never bypasses the token check', async () => {
    iam('forged').reply(200, { valid: false, message: 'Invalid token' });
    const res = await ask(
      { Token: 'forged', name: 'docs/agent-guide.pdf' },
      { origin: FLEX, 'if-none-match': guide.etag },
    );
    expect(res.status).toBe(403);
    expect(res.headers.ETag).toBeUndefined();
  });

  it('a private asset comes from the runtime asset map with its cache policy', async () => {
    privateReads.length = 0;
    iam('good-token').reply(200, VALID);
    const res = await ask({ Token: 'good-token', name: 'audio/hold-music.wav' });
    expect(res.status).toBe(200);
    expect(privateReads).toEqual(['/audio/hold-music.wav']);
    expect((res.body as Buffer).equals(WAV)).toBe(true);
    expect(res.headers['Cache-Control']).toBe('private, max-age=300');
    expect(res.headers['Content-Type']).toBe('audio/wav');
    expect(assetHost.requests).toHaveLength(0);
  });

  it('an unknown name is 404 only after the token check; a bad name is 400 naming "name"', async () => {
    iam('forged').reply(200, { valid: false, message: 'Invalid token' });
    const refused = await ask({ Token: 'forged', name: 'docs/nope.pdf' });
    expect(refused.status).toBe(403);
    iam('good-token').reply(200, VALID);
    const unknown = await ask({ Token: 'good-token', name: 'docs/nope.pdf' });
    expect(unknown.status).toBe(404);
    expect(jsonBody(unknown.body).error).toMatch(/parameter "name"/);
    const traversal = await ask({ Token: 'good-token', name: '../secrets.txt' });
    expect(traversal.status).toBe(400);
    expect(jsonBody(traversal.body).error).toMatch(/parameter "name"/);
  });

  it('an asset host slower than FLEX_ASSET_FETCH_TIMEOUT_MS gives 504, not the asset', async () => {
    assetDelayMs = 2000;
    iam('good-token').reply(200, VALID);
    const res = await ask(
      { Token: 'good-token', name: 'docs/agent-guide.pdf' },
      { origin: FLEX },
      { FLEX_ASSET_FETCH_TIMEOUT_MS: '150' },
    );
    expect(res.status).toBe(504);
    expect(jsonBody(res.body).error).toMatch(/within 150 ms/);
  });

  it('deployed bytes that differ from the manifest are refused with 502', async () => {
    served[guide.path] = Buffer.from('a newer guide');
    iam('good-token').reply(200, VALID);
    const res = await ask({ Token: 'good-token', name: 'docs/agent-guide.pdf' });
    expect(res.status).toBe(502);
    expect(jsonBody(res.body).error).toMatch(/do not match/);
  });

  it('bad bounds are a 500 naming the variable', async () => {
    for (const [name, value] of [
      ['FLEX_TOKEN_TIMEOUT_MS', 'abc'],
      ['FLEX_TOKEN_TIMEOUT_MS', '0'],
      ['FLEX_ASSET_FETCH_TIMEOUT_MS', '60000'],
    ]) {
      const res = await ask({ Token: 't', name: 'docs/agent-guide.pdf' }, { origin: FLEX }, { [name]: value });
      expect(res.status).toBe(500);
      expect(jsonBody(res.body).error).toContain(name);
    }
  });
});

describe('POST /flex/asset: the token only from a POST body, bounded before any call (issue 13)', () => {
  const bare = (params: Record<string, unknown>, headers: Record<string, string>) =>
    serveFlexAsset({ env: env(), params, headers: { origin: FLEX, ...headers } }, deps);

  it('a token in the URL (no form or JSON body) is 400 naming Token, and IAM is never asked', async () => {
    const scope = iam('good-token').reply(200, VALID);
    // what GET /flex/asset?Token=...&name=... looks like to the Function: parameters, no body
    const res = await bare({ Token: 'good-token', name: 'docs/agent-guide.pdf' }, {});
    expect(res.status).toBe(400);
    expect(jsonBody(res.body).error).toMatch(/"Token" must be sent in the POST body .*never in the URL/);
    expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
    expect(scope.isDone()).toBe(false);
    expect(assetHost.requests).toHaveLength(0);
  });

  it('a POST whose body is shorter than the token got it from the URL: refused too', async () => {
    const scope = iam('good-token-0123456789').reply(200, VALID);
    const res = await bare(
      { Token: 'good-token-0123456789', name: 'docs/agent-guide.pdf' },
      { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '25' },
    );
    expect(res.status).toBe(400);
    expect(scope.isDone()).toBe(false);
    // the same token in a body long enough to hold it is checked
    const ok = await bare(
      { Token: 'good-token-0123456789', name: 'docs/agent-guide.pdf' },
      { 'content-type': 'application/json', 'content-length': '70' },
    );
    expect(ok.status).toBe(200);
    expect(scope.isDone()).toBe(true);
  });

  it('a 5 MB Token is refused with 400 before any call; so is one with spaces or control characters', async () => {
    const huge = 'a'.repeat(5 * 1024 * 1024);
    const scope = nock(IAM).post(IAM_PATH).reply(200, VALID);
    for (const token of [huge, 'a'.repeat(MAX_TOKEN_CHARS + 1), 'two words', 'line\nbreak']) {
      const res = await ask({ Token: token, name: 'docs/agent-guide.pdf' });
      expect(res.status).toBe(400);
      expect(jsonBody(res.body).error).toMatch(/parameter "Token"/);
      expect(jsonBody(res.body).error.length).toBeLessThan(300);
    }
    expect(scope.isDone()).toBe(false);
    nock.cleanAll();
  });
});

describe('POST /flex/asset: verified tokens remembered by a warm instance', () => {
  it('a download in several requests costs one IAM call; concurrent requests share it', async () => {
    const scope = iam('good-token').reply(200, VALID);
    const first = await Promise.all([0, 1, 2].map(() => ask({ Token: 'good-token', name: 'audio/hold-music.wav' })));
    expect(first.map((r) => r.status)).toEqual([200, 200, 200]);
    const later = await ask({ Token: 'good-token', name: 'audio/hold-music.wav' });
    expect(later.status).toBe(200);
    expect(scope.isDone()).toBe(true);
    expect(logs.map((l) => l.tokenCache).sort()).toEqual(['hit', 'miss', 'shared', 'shared']);
  });

  it('keyed by a sha256 of the token, never the token itself; bounded; refusals are not remembered', async () => {
    const key = VerifiedTokenCache.key('good-token', SID, '');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const cache = new VerifiedTokenCache();
    let calls = 0;
    const refuse = async () => (
      calls++,
      { ok: false as const, status: 403 as const, reason: 'invalid' as const, message: 'no' }
    );
    await cache.check(key, 60_000, refuse);
    await cache.check(key, 60_000, refuse);
    expect(calls).toBe(2);
    const accept = async () => ({ ok: true as const });
    for (let i = 0; i < 1100; i++) await cache.check(VerifiedTokenCache.key(`t${i}`, SID, ''), 60_000, accept);
    expect(cache.size).toBe(1000);
  });

  it("an entry lives FLEX_TOKEN_CACHE_SECONDS at most and never past the token's expiration; 0 turns it off", async () => {
    let now = 1_000_000;
    const cache = new VerifiedTokenCache(() => now);
    let calls = 0;
    const verify = (expiresAt?: number) => async () => (calls++, { ok: true as const, expiresAt });
    await cache.check('a', 60_000, verify());
    now += 59_000;
    expect((await cache.check('a', 60_000, verify())).source).toBe('hit');
    now += 2_000;
    expect((await cache.check('a', 60_000, verify())).source).toBe('miss');
    // expiring in 10 s: remembered 10 s, not 60
    await cache.check('b', 60_000, verify(now + 10_000));
    now += 10_001;
    expect((await cache.check('b', 60_000, verify(now + 10_000))).source).toBe('miss');
    await cache.check('c', 0, verify());
    expect((await cache.check('c', 0, verify())).source).toBe('miss');
    expect(calls).toBe(6);
  });

  it('FLEX_TOKEN_CACHE_SECONDS=0 asks IAM every time', async () => {
    const scope = iam('good-token').times(2).reply(200, VALID);
    for (let i = 0; i < 2; i++) {
      expect(
        (
          await ask(
            { Token: 'good-token', name: 'audio/hold-music.wav' },
            { origin: FLEX },
            { FLEX_TOKEN_CACHE_SECONDS: '0' },
          )
        ).status,
      ).toBe(200);
    }
    expect(scope.isDone()).toBe(true);
  });
});

describe("POST /flex/asset: no answer over a Function's 4 MB, byte ranges instead", () => {
  beforeEach(() => {
    iam('good-token').reply(200, VALID);
  });

  it('an asset over the limit without a Range is 400 naming Range, the limit and the way to fetch it; nothing fetched', async () => {
    const res = await ask({ Token: 'good-token', name: 'docs/manual.pdf' });
    expect(res.status).toBe(400);
    const body = res.body as { error: string; maxRangeBytes: number; bytes: number };
    expect(body.error).toMatch(
      new RegExp(`^header "Range" is required: docs/manual.pdf is ${MANUAL.length} bytes.*${MAX_RESPONSE_BODY_BYTES}`),
    );
    expect(body.error).toContain('flex-asset-client');
    expect(body).toMatchObject({ maxRangeBytes: MAX_RESPONSE_BODY_BYTES, bytes: MANUAL.length });
    expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
    expect(assetHost.requests).toHaveLength(0);
  });

  it('ranges (header or body parameter) give 206 with Content-Range, each within the limit, assembling the whole', async () => {
    const parts: Buffer[] = [];
    let start = 0;
    let asHeader = true;
    while (start < MANUAL.length) {
      const range = `bytes=${start}-`;
      const res = asHeader
        ? await ask({ Token: 'good-token', name: 'docs/manual.pdf' }, { origin: FLEX, range, 'if-range': manual.etag })
        : await ask({ Token: 'good-token', name: 'docs/manual.pdf', Range: range, 'If-Range': manual.etag });
      asHeader = !asHeader;
      expect(res.status).toBe(206);
      const body = res.body as Buffer;
      expect(body.length).toBeLessThanOrEqual(MAX_RESPONSE_BODY_BYTES);
      expect(res.headers['Content-Range']).toBe(`bytes ${start}-${start + body.length - 1}/${MANUAL.length}`);
      expect(res.headers['Repr-Digest']).toBe(`sha-256=:${Buffer.from(manual.sha256, 'hex').toString('base64')}:`);
      expect(res.headers['Access-Control-Expose-Headers']).toMatch(/Content-Range.*Repr-Digest/);
      parts.push(body);
      start += body.length;
    }
    expect(parts).toHaveLength(2);
    expect(Buffer.concat(parts).equals(MANUAL)).toBe(true);
    // the asset host was asked for the part only (this fake ignores Range and sends the whole: checked, then cut)
    expect(assetHost.requests.map((r) => r.headers.range)).toEqual([
      `bytes=0-${MAX_RESPONSE_BODY_BYTES - 1}`,
      `bytes=${MAX_RESPONSE_BODY_BYTES}-${MANUAL.length - 1}`,
    ]);
  });

  it('If-Range naming another version: 412 for an asset too large to send whole, never a part of the new one', async () => {
    const res = await ask({
      Token: 'good-token',
      name: 'docs/manual.pdf',
      Range: 'bytes=3900000-',
      'If-Range': '"sha256-older"',
    });
    expect(res.status).toBe(412);
    expect(jsonBody(res.body).error).toMatch(/"If-Range".*changed since the download began/);
    expect(res.headers.ETag).toBe(manual.etag);
    expect(assetHost.requests).toHaveLength(0);
  });

  it('If-Range naming another version of a small asset: the whole new version (200), as RFC 9110 says', async () => {
    const res = await ask({
      Token: 'good-token',
      name: 'docs/agent-guide.pdf',
      Range: 'bytes=0-3',
      'If-Range': '"sha256-older"',
    });
    expect(res.status).toBe(200);
    expect((res.body as Buffer).equals(PDF)).toBe(true);
  });

  it('a private asset in a range is read from the runtime, 416 past its end', async () => {
    const part = await ask({ Token: 'good-token', name: 'audio/hold-music.wav', Range: 'bytes=4-7' });
    expect(part.status).toBe(206);
    expect((part.body as Buffer).equals(WAV.subarray(4, 8))).toBe(true);
    const past = await ask({ Token: 'good-token', name: 'audio/hold-music.wav', Range: `bytes=${WAV.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers['Content-Range']).toBe(`bytes */${WAV.length}`);
  });

  it('a malformed Range parameter is 400 naming it; a file declared notMedia is 403', async () => {
    const bad = await ask({ Token: 'good-token', name: 'docs/manual.pdf', Range: ['bytes=0-1', 'bytes=2-3'] });
    expect(bad.status).toBe(400);
    expect(jsonBody(bad.body).error).toMatch(/parameter "Range"/);
    const refused = await ask({ Token: 'good-token', name: 'data/prices.json' });
    expect(refused.status).toBe(403);
    expect(jsonBody(refused.body).error).toMatch(/notMedia/);
  });
});
