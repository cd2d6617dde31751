import { createHash } from 'node:crypto';
import * as https from 'node:https';
import twilio from 'twilio';
import { serveFlexAsset, FlexAssetDeps } from '../../src/lib/flex/asset';
import { FlexEnv } from '../../src/lib/flex/config';
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

function entry(name: string, visibility: ManifestEntry['visibility'], path: string, bytes: Buffer, contentType: string, cacheControl = 'no-cache'): ManifestEntry {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { name, visibility, path, version: sha256.slice(0, 12), bytes: bytes.length, contentType, etag: `"sha256-${sha256}"`, lastModified: 'Tue, 24 Nov 2026 20:00:00 GMT', sha256, cacheControl };
}

const manifest: Manifest = {
  schema: 1,
  builtAt: '2026-11-24T20:00:00.000Z',
  entries: {
    'docs/agent-guide.pdf': entry('docs/agent-guide.pdf', 'protected', '/docs/agent-guide.0123456789ab.pdf', PDF, 'application/pdf'),
    'audio/hold-music.wav': entry('audio/hold-music.wav', 'private', '/audio/hold-music.wav', WAV, 'audio/wav', 'max-age=300'),
    'images/logo.png': entry('images/logo.png', 'public', '/images/logo.0123456789ab.png', Buffer.from('PNG'), 'image/png'),
  },
};
const guide = manifest.entries['docs/agent-guide.pdf'];

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
  served = { [guide.path]: PDF, [manifest.entries['images/logo.png'].path]: Buffer.from('PNG') };
  assetDelayMs = 0;
  assetHost.requests.length = 0;
  logs.length = 0;
});

function env(extra: FlexEnv = {}): FlexEnv {
  return { ACCOUNT_SID: SID, AUTH_TOKEN: AUTH, DOMAIN_NAME: 'example-1234.twil.io', PROTECTED_ASSET_BASE_URL: assetHost.url, ...extra };
}

const privateReads: string[] = [];
const deps: FlexAssetDeps = {
  manifest: () => manifest,
  readPrivate: (e) => {
    privateReads.push(e.path);
    return WAV;
  },
  log: (line) => logs.push(line),
};

function ask(params: { Token?: unknown; name?: unknown }, headers: Record<string, string> = { origin: FLEX }, extraEnv: FlexEnv = {}) {
  return serveFlexAsset({ env: env(extraEnv), params, headers }, deps);
}

/** IAM answering the validator's POST; checks the credentials and body it receives. */
function iam(token: string) {
  return nock(IAM).post(IAM_PATH, { token }).basicAuth({ user: SID, pass: AUTH });
}

const VALID = { valid: true, code: 0, message: null, identity: 'agent_alice', worker_sid: 'WK00000000000000000000000000000000', roles: ['agent'] };

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
    expect(twilio.validateRequest(AUTH, String(assetHost.requests[0].headers['x-twilio-signature']), url, {})).toBe(true);
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
    const forged = await fetch(url, { headers: { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature('another-token', url, {}) } });
    expect(forged.status).toBe(403);
  });

  it('an asset host refusing the signature gives 502 and never the asset', async () => {
    nock(IAM).post(IAM_PATH).reply(200, VALID);
    const res = await ask({ Token: 'good-token', name: 'docs/agent-guide.pdf' }, { origin: FLEX }, { AUTH_TOKEN: 'wrong-auth-token' });
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
    const res = await ask({ Token: 'good-token', name: 'docs/agent-guide.pdf' }, { origin: FLEX }, { FLEX_TOKEN_TIMEOUT_MS: '150' });
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
    expect(res.status).toBe(403);
    expect(jsonBody(res.body).error).toMatch(/"Token" must be sent once/);
  });

  it('API_KEY/API_SECRET are used when there is no AUTH_TOKEN; a protected asset then needs AUTH_TOKEN to sign', async () => {
    const scope = nock(IAM).post(IAM_PATH).basicAuth({ user: 'SK123', pass: 'secret' }).reply(200, VALID);
    const res = await ask({ Token: 't', name: 'docs/agent-guide.pdf' }, { origin: FLEX }, { AUTH_TOKEN: undefined, API_KEY: 'SK123', API_SECRET: 'secret' });
    expect(scope.isDone()).toBe(true);
    expect(res.status).toBe(500);
    expect(jsonBody(res.body).error).toMatch(/AUTH_TOKEN/);
  });

  it('TWILIO_REGION sends the check to the regional IAM host, as the validator does', async () => {
    const scope = nock('https://iam.ie1.twilio.com').post(IAM_PATH).reply(200, VALID);
    const res = await ask({ Token: 't', name: 'audio/hold-music.wav' }, { origin: FLEX }, { TWILIO_REGION: 'ie1-dublin' });
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
    const res = await ask({ Token: 't', name: 'docs/agent-guide.pdf' }, { origin: FLEX }, { FLEX_ALLOWED_ORIGINS: '*' });
    expect(res.status).toBe(500);
    expect(jsonBody(res.body).error).toMatch(/FLEX_ALLOWED_ORIGINS/);
    expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
  });
});

describe('POST /flex/asset: delivery and caching', () => {
  it('a matching If-None-Match gets 304 with the 200 headers, without fetching the asset', async () => {
    iam('good-token').times(3).reply(200, VALID);
    for (const inm of [guide.etag, `W/${guide.etag}`, `"other", ${guide.etag}`]) {
      const res = await ask({ Token: 'good-token', name: 'docs/agent-guide.pdf' }, { origin: FLEX, 'if-none-match': inm });
      expect(res.status).toBe(304);
      expect(res.body).toBeUndefined();
      expect(res.headers.ETag).toBe(guide.etag);
      expect(res.headers['Cache-Control']).toBe('private, no-cache');
      expect(res.headers['Access-Control-Allow-Origin']).toBe(FLEX);
    }
    expect(assetHost.requests).toHaveLength(0);
  });

  it('a stale If-None-Match gets the 200', async () => {
    iam('good-token').reply(200, VALID);
    const res = await ask({ Token: 'good-token', name: 'docs/agent-guide.pdf' }, { origin: FLEX, 'if-none-match': '"sha256-old"' });
    expect(res.status).toBe(200);
  });

  it('an If-None-Match never bypasses the token check', async () => {
    iam('forged').reply(200, { valid: false, message: 'Invalid token' });
    const res = await ask({ Token: 'forged', name: 'docs/agent-guide.pdf' }, { origin: FLEX, 'if-none-match': guide.etag });
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
    const res = await ask({ Token: 'good-token', name: 'docs/agent-guide.pdf' }, { origin: FLEX }, { FLEX_ASSET_FETCH_TIMEOUT_MS: '150' });
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
    for (const [name, value] of [['FLEX_TOKEN_TIMEOUT_MS', 'abc'], ['FLEX_TOKEN_TIMEOUT_MS', '0'], ['FLEX_ASSET_FETCH_TIMEOUT_MS', '60000']]) {
      const res = await ask({ Token: 't', name: 'docs/agent-guide.pdf' }, { origin: FLEX }, { [name]: value });
      expect(res.status).toBe(500);
      expect(jsonBody(res.body).error).toContain(name);
    }
  });
});
