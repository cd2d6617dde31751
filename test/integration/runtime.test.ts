import { request } from '../support/http';
import { RunningRuntime, sharedRuntime } from '../support/runtime';

describe('the real twilio-run serving the build', () => {
  let runtime: RunningRuntime;
  beforeAll(async () => {
    runtime = await sharedRuntime();
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  it('answers /health with the build identity', async () => {
    const res = await request(`${runtime.baseUrl}/health`);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body.toString('utf8'));
    expect(body).toMatchObject({ status: 'ok', name: 'twilio-media-assets' });
    expect(body.functions).toBeGreaterThanOrEqual(4); // health + three diagnostic fixtures
    expect(new Date(body.builtAt).getTime()).not.toBeNaN();
    expect(body.assets.total).toBe(body.assets.public + body.assets.protected + body.assets.private);
  });

  it('delivers a Buffer body byte for byte', async () => {
    const res = await request(`${runtime.baseUrl}/diag/bytes`);
    expect(res.status).toBe(200);
    const expected = Buffer.alloc(1024);
    for (let i = 0; i < expected.length; i++) expected[i] = (i * 7 + 3) % 256;
    expect(res.body.equals(expected)).toBe(true);
  });

  it('hands the request headers to the Function', async () => {
    const res = await request(`${runtime.baseUrl}/diag/headers`, {
      headers: { 'If-None-Match': '"abc"', Range: 'bytes=0-1', 'X-Twilio-Signature': 'sig' },
    });
    const { headers } = JSON.parse(res.body.toString('utf8'));
    expect(headers).toMatchObject({ 'if-none-match': '"abc"', range: 'bytes=0-1', 'x-twilio-signature': 'sig' });
  });

  it('passes a 206 with its Content-Range and bytes', async () => {
    const res = await request(`${runtime.baseUrl}/diag/status?code=206`);
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 2-5/10');
    expect(res.headers['x-diag']).toBe('set-by-function');
    expect([...res.body]).toEqual([2, 3, 4, 5]);
  });

  it('passes a 304 decided by the Function, with its headers', async () => {
    const res = await request(`${runtime.baseUrl}/diag/status?code=304`);
    expect(res.status).toBe(304);
    expect(res.headers.etag).toBe('"diag-v1"');
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    expect(res.body.length).toBe(0);
  });

  it('passes a 302 with its Location', async () => {
    const res = await request(`${runtime.baseUrl}/diag/status?code=302`);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/health');
    expect(res.headers['x-diag']).toBe('set-by-function');
  });
});
