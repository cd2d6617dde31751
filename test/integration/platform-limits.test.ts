import { ARRIVAL_HEADER } from '../../src/lib/http/arrival';
import { rawRequest, request, RawResponse } from '../support/http';
import { protectedAssetPath, sharedBuildDir } from '../support/paths';
import { RunningRuntime, sharedRuntime, twilioSignature } from '../support/runtime';

// Twilio's "1 MB" and "4 MB", in the smaller reading the gateway and the Functions use
const REQUEST_LIMIT = 1_000_000;
const RESPONSE_LIMIT = 4_000_000;

/** Every answer of the runtime: JSON naming the rule, never a stack trace or a path on this machine. */
function expectClean(res: RawResponse): Record<string, unknown> {
  const text = res.body.toString('utf8');
  expect(text).not.toMatch(/^\s*at .+:\d+:\d+\)?$/m);
  expect(text).not.toContain('"stack"');
  expect(text).not.toContain(process.cwd());
  expect(text).not.toContain(sharedBuildDir());
  expect(text).not.toContain('node_modules');
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return JSON.parse(text) as Record<string, unknown>;
}

describe("the local runtime enforces the platform's limits, as the deployed gateway does", () => {
  let runtime: RunningRuntime;
  beforeAll(async () => {
    runtime = await sharedRuntime();
  });
  afterAll(async () => {
    await runtime?.stop();
  });
  const url = (p: string) => `${runtime.baseUrl}${p}`;

  it('answers only GET, POST and OPTIONS: others get 405 with Allow', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'HEAD']) {
      const res = await request(url('/diag/limits'), { method });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, POST, OPTIONS');
      if (method !== 'HEAD') expect(expectClean(res).error).toContain(`method ${method}`);
    }
  });

  it('refuses a GET with a body with 403, before the Function runs', async () => {
    // Node sends a GET's body only with a length or chunked encoding said explicitly
    const res = await request(url('/diag/limits'), {
      method: 'GET',
      body: 'a=1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': '3' },
    });
    expect(res.status).toBe(403);
    expect(expectClean(res).error).toContain('GET request must not have a body');
    const streamed = await request(url('/diag/limits'), { method: 'GET', chunks: [Buffer.from('a=1')] });
    expect(streamed.status).toBe(403);
  });

  it('refuses a request over 1 MB (headers included) with 413, by its Content-Length or while reading a chunked body', async () => {
    const big = `a=${'x'.repeat(REQUEST_LIMIT)}`;
    const declared = await request(url('/diag/limits'), {
      method: 'POST',
      body: big,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(declared.status).toBe(413);
    expect(expectClean(declared).error).toContain('1000000 bytes');
    const streamed = await request(url('/diag/limits'), {
      method: 'POST',
      chunks: Array.from({ length: 12 }, () => Buffer.alloc(100 * 1024, 0x61)),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(streamed.status).toBe(413);
    expectClean(streamed);
    // just under the limit is fine
    const fits = await request(url('/diag/limits'), {
      method: 'POST',
      body: `a=${'x'.repeat(REQUEST_LIMIT - 4096)}`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(fits.status).toBe(200);
  });

  it('counts the request line and every header in the 1 MB, to the byte: a large header or cookie tips a body that fits alone', async () => {
    const pad = 'p'.repeat(8000);
    // the request exactly as it goes over the wire: rawRequest adds "Connection: close" and the blank line
    const send = (total: number, header: string) => {
      const line = (length: number) =>
        `POST /diag/limits HTTP/1.1\r\nHost: 127.0.0.1\r\n${header}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}`;
      const head = (length: number) => Buffer.byteLength(`${line(length)}\r\nConnection: close\r\n\r\n`);
      const bodyLength = total - head(100_000); // a body of 6 digits' length, as the result is
      expect(head(bodyLength) + bodyLength).toBe(total);
      return rawRequest(runtime.port, line(bodyLength), `a=${'x'.repeat(bodyLength - 2)}`);
    };
    for (const header of [`X-Pad: ${pad}`, `Cookie: session=${pad}`]) {
      expect((await send(REQUEST_LIMIT, header)).status).toBe(200);
      const over = await send(REQUEST_LIMIT + 1, header);
      expect(over.status).toBe(413);
      expect(JSON.parse(over.body.toString()).error).toContain('headers and cookies included');
    }
  });

  it('answers malformed JSON with 400 and over 1000 form parameters with 413, as JSON without a stack trace', async () => {
    const browser = { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36' };
    const json = await request(url('/diag/limits'), {
      method: 'POST',
      body: '{"a":',
      headers: { 'Content-Type': 'application/json', ...browser },
    });
    expect(json.status).toBe(400);
    expect(expectClean(json).error).toContain('not valid JSON');
    const form = Array.from({ length: 1001 }, (_, i) => `p${i}=1`).join('&');
    const many = await request(url('/diag/limits'), {
      method: 'POST',
      body: form,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...browser },
    });
    expect(many.status).toBe(413);
    expect(expectClean(many).error).toContain('more than 1000 form parameters');
    const thousand = await request(url('/diag/limits'), {
      method: 'POST',
      body: Array.from({ length: 1000 }, (_, i) => `p${i}=1`).join('&'),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(thousand.status).toBe(200);
    expect(JSON.parse(thousand.body.toString()).parameters).toBe(1000);
  });

  it("replaces a Function's response over 4 MB (4,000,000 bytes) with 502; 4,000,000 bytes exactly passes", async () => {
    const over = await request(url(`/diag/limits?bytes=${RESPONSE_LIMIT + 1}`));
    expect(over.status).toBe(502);
    expect(expectClean(over).error).toContain('4000000 bytes');
    const at = await request(url(`/diag/limits?bytes=${RESPONSE_LIMIT}`));
    expect(at.status).toBe(200);
    expect(at.body.length).toBe(RESPONSE_LIMIT);
  });

  it("answers a Function's error without its stack trace or file path, to browsers and to other clients", async () => {
    for (const fail of ['callback', 'throw']) {
      for (const ua of ['curl/8.0', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36']) {
        const res = await request(url(`/diag/limits?fail=${fail}`), { headers: { 'User-Agent': ua } });
        expect(res.status).toBe(500);
        expect(expectClean(res).error).toContain('the Function failed');
      }
    }
    await runtime.quiet();
    expect(runtime.output()).toContain('could not open'); // the details go to the runtime's own output
  });

  it('answers 504 ten seconds after arrival when the Function has not answered, and keeps serving', async () => {
    const started = Date.now();
    const [slow, rejected] = await Promise.all([
      request(url('/diag/limits?sleepMs=12000')),
      request(url('/diag/limits?fail=reject')),
    ]);
    const elapsed = Date.now() - started;
    for (const res of [slow, rejected]) {
      expect(res.status).toBe(504);
      expect(expectClean(res).error).toContain('10000 ms');
    }
    expect(elapsed).toBeGreaterThanOrEqual(9900);
    await new Promise((r) => setTimeout(r, 2500)); // the slow Function answers late: dropped, nothing breaks
    expect((await request(url('/health'))).status).toBe(200);
    await runtime.quiet();
    expect(runtime.output()).toContain('left a promise rejection unhandled');
  }, 40000);

  describe('protected Functions and assets need a valid X-Twilio-Signature (400 otherwise, before any code runs)', () => {
    it('serves a protected asset only to a signed request', async () => {
      const assetPath = protectedAssetPath();
      const unsigned = await request(url(assetPath));
      expect(unsigned.status).toBe(400);
      expect(expectClean(unsigned).error).toContain('"X-Twilio-Signature" is missing');
      const forged = await request(url(assetPath), {
        headers: { 'X-Twilio-Signature': twilioSignature(runtime.port, assetPath, {}, 'wrong-token') },
      });
      expect(forged.status).toBe(400);
      expect(expectClean(forged).error).toContain('does not match');
      const signed = await request(url(assetPath), {
        headers: { 'X-Twilio-Signature': twilioSignature(runtime.port, assetPath) },
      });
      expect(signed.status).toBe(200);
      expect(signed.body.subarray(0, 4).toString()).toBe('%PDF');
    });

    it('runs a protected Function only for a signature over every posted parameter', async () => {
      const params = { From: '+15005550006', Body: 'hello' };
      const post = (signature: string, body = params) =>
        request(url('/diag/signed'), {
          method: 'POST',
          body: new URLSearchParams(body).toString(),
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature },
        });
      const ok = await post(twilioSignature(runtime.port, '/diag/signed', params));
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body.toString())).toMatchObject({ reached: true, params });
      const tampered = await post(twilioSignature(runtime.port, '/diag/signed', params), {
        ...params,
        Body: 'changed',
      });
      expect(tampered.status).toBe(400);
      expectClean(tampered);
      const unsigned = await request(url('/diag/signed'));
      expect(unsigned.status).toBe(400);
      const preflight = await request(url('/diag/signed'), {
        method: 'OPTIONS',
        headers: { Origin: 'https://flex.twilio.com', 'Access-Control-Request-Method': 'POST' },
      });
      expect(preflight.status).toBe(204);
    });
  });

  it("stamps the request's arrival for the Functions, replacing any value a client sent", async () => {
    const before = Date.now();
    const res = await request(url('/diag/headers'), { headers: { [ARRIVAL_HEADER]: '1' } });
    const stamped = Number(
      (JSON.parse(res.body.toString()) as { headers: Record<string, string> }).headers[ARRIVAL_HEADER],
    );
    expect(stamped).toBeGreaterThanOrEqual(before);
    expect(stamped).toBeLessThanOrEqual(Date.now());
  });
});
