import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_FILE_NAME, Manifest, parseManifest } from '../../src/lib/manifest';
import { IMMUTABLE } from '../../src/lib/media/serve';
import { PROJECT_ROOT, sharedBuildDir } from '../support/paths';
import { request, RawResponse } from '../support/http';
import { RunningRuntime, sharedRuntime } from '../support/runtime';

describe('/media, /studio/media-url and /voice/greeting on the real twilio-run', () => {
  let runtime: RunningRuntime;
  let manifest: Manifest;
  const holdMusic = fs.readFileSync(path.join(PROJECT_ROOT, 'assets', 'audio', 'hold-music.private.wav'));
  const greeting = fs.readFileSync(path.join(PROJECT_ROOT, 'assets', 'audio', 'greeting.wav'));

  beforeAll(async () => {
    manifest = parseManifest(fs.readFileSync(path.join(sharedBuildDir(), 'assets', MANIFEST_FILE_NAME), 'utf8'));
    runtime = await sharedRuntime();
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  const media = (query: string, headers: Record<string, string> = {}) =>
    request(`${runtime.baseUrl}/media?${query}`, { headers });
  const hold = () => manifest.entries['audio/hold-music.wav'];
  const HOLD = 'name=audio/hold-music.wav';

  describe('public and protected media', () => {
    it('redirects a public name to its content-addressed asset, which serves the file', async () => {
      const entry = manifest.entries['audio/greeting.wav'];
      const res = await media('name=audio/greeting.wav');
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe(`http://localhost:${runtime.port}${entry.path}`);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers.etag).toBe(`"redirect-${entry.sha256}"`);
      const asset = await request(`${runtime.baseUrl}${new URL(res.headers.location!).pathname}`);
      expect(asset.status).toBe(200);
      expect(asset.body.equals(greeting)).toBe(true);
    });

    it('answers 304 to a revalidation of the redirect while the version is unchanged', async () => {
      const first = await media('name=audio/greeting.wav');
      const again = await media('name=audio/greeting.wav', { 'If-None-Match': first.headers.etag as string });
      expect(again.status).toBe(304);
      expect(again.headers.etag).toBe(first.headers.etag);
      expect(again.headers['cache-control']).toBe('no-cache');
      expect(again.body.length).toBe(0);
    });

    it('redirects a protected name to its versioned path', async () => {
      const res = await media('name=docs/agent-guide.pdf');
      expect(res.status).toBe(302);
      expect(res.headers.location).toMatch(/\/docs\/agent-guide\.[0-9a-f]{12}\.pdf$/);
    });

    it('marks a pinned current version immutable and sends a stale one to the current version without storing it', async () => {
      const entry = manifest.entries['audio/greeting.wav'];
      const pinned = await media(`name=audio/greeting.wav&v=${entry.version}`);
      expect(pinned.status).toBe(302);
      expect(pinned.headers['cache-control']).toBe(IMMUTABLE);
      const stale = await media('name=audio/greeting.wav&v=000000000000');
      expect(stale.status).toBe(302);
      expect(stale.headers['cache-control']).toBe('no-store');
      expect(stale.headers.location).toBe(`http://localhost:${runtime.port}/media?name=audio%2Fgreeting.wav`);
      expect(stale.headers['x-media-version']).toBe(`requested=000000000000; current=${entry.version}`);
      expect((await media('name=audio/greeting.wav&v=zz')).status).toBe(400);
    });
  });

  describe('private media served by the Function', () => {
    it('sends the bytes with validators, type, length, ranges and the configured cache policy', async () => {
      const res = await media(HOLD);
      expect(res.status).toBe(200);
      expect(res.body.equals(holdMusic)).toBe(true);
      expect(res.headers).toMatchObject({
        etag: hold().etag,
        'last-modified': hold().lastModified,
        'content-type': 'audio/wav',
        'content-length': String(holdMusic.length),
        'accept-ranges': 'bytes',
        'cache-control': 'max-age=3600', // media.config.json
      });
    });

    it('also answers POST', async () => {
      const res = await request(`${runtime.baseUrl}/media`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'name=audio%2Fhold-music.wav',
      });
      expect(res.status).toBe(200);
      expect(res.body.equals(holdMusic)).toBe(true);
    });

    const expectNotModified = (res: RawResponse) => {
      expect(res.status).toBe(304);
      expect(res.body.length).toBe(0);
      expect(res.headers.etag).toBe(hold().etag);
      expect(res.headers['cache-control']).toBe('max-age=3600');
      expect(res.headers['last-modified']).toBe(hold().lastModified);
    };
    const future = new Date(Date.now() + 86400_000).toUTCString();
    const past = 'Mon, 01 Jan 2001 00:00:00 GMT';

    it('If-None-Match: strong or weak match gives 304 with the 200 headers; a list without a match gives 200', async () => {
      expectNotModified(await media(HOLD, { 'If-None-Match': hold().etag }));
      expectNotModified(await media(HOLD, { 'If-None-Match': `"other", W/${hold().etag}` }));
      expectNotModified(await media(HOLD, { 'If-None-Match': '*' }));
      expect((await media(HOLD, { 'If-None-Match': '"other", W/"nope"' })).status).toBe(200);
    });

    it('If-None-Match takes precedence over If-Modified-Since', async () => {
      expect((await media(HOLD, { 'If-None-Match': '"other"', 'If-Modified-Since': future })).status).toBe(200);
      expectNotModified(await media(HOLD, { 'If-None-Match': hold().etag, 'If-Modified-Since': past }));
    });

    it('If-Modified-Since alone: 304 when not modified since, 200 otherwise, ignored when invalid', async () => {
      expectNotModified(await media(HOLD, { 'If-Modified-Since': hold().lastModified }));
      expect((await media(HOLD, { 'If-Modified-Since': past })).status).toBe(200);
      expect((await media(HOLD, { 'If-Modified-Since': 'yesterday' })).status).toBe(200);
    });

    it('If-Match uses strong comparison: 412 naming the header on a mismatch or a weak tag', async () => {
      const failed = await media(HOLD, { 'If-Match': '"other"' });
      expect(failed.status).toBe(412);
      expect(JSON.parse(failed.body.toString()).error).toMatch(/"If-Match"/);
      expect((await media(HOLD, { 'If-Match': `W/${hold().etag}` })).status).toBe(412);
      expect((await media(HOLD, { 'If-Match': hold().etag })).status).toBe(200);
      expect((await media(HOLD, { 'If-Match': '*' })).status).toBe(200);
    });

    it('If-Unmodified-Since: 412 when modified after the date, ignored when If-Match is present', async () => {
      const failed = await media(HOLD, { 'If-Unmodified-Since': past });
      expect(failed.status).toBe(412);
      expect(JSON.parse(failed.body.toString()).error).toMatch(/"If-Unmodified-Since"/);
      expect((await media(HOLD, { 'If-Unmodified-Since': future })).status).toBe(200);
      expect((await media(HOLD, { 'If-Match': hold().etag, 'If-Unmodified-Since': past })).status).toBe(200);
    });

    it('a single Range gives 206 with Content-Range and exactly those bytes', async () => {
      const res = await media(HOLD, { Range: 'bytes=100-199' });
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes 100-199/${holdMusic.length}`);
      expect(res.headers['content-length']).toBe('100');
      expect(res.body.equals(holdMusic.subarray(100, 200))).toBe(true);
      const suffix = await media(HOLD, { Range: 'bytes=-10' });
      expect(suffix.status).toBe(206);
      expect(suffix.body.equals(holdMusic.subarray(holdMusic.length - 10))).toBe(true);
    });

    it('an unsatisfiable Range gives 416 with bytes */length', async () => {
      const res = await media(HOLD, { Range: `bytes=${holdMusic.length}-` });
      expect(res.status).toBe(416);
      expect(res.headers['content-range']).toBe(`bytes */${holdMusic.length}`);
    });

    it('a malformed Range, another unit or several ranges are ignored: 200 with the whole file', async () => {
      for (const range of ['bytes=abc', 'items=0-5', 'bytes=0-1,500-600']) {
        const res = await media(HOLD, { Range: range });
        expect([range, res.status]).toEqual([range, 200]);
        expect(res.body.equals(holdMusic)).toBe(true);
      }
    });

    it('If-Range: a strong tag or the exact date keeps the Range; a weak tag, another tag or date sends everything', async () => {
      expect((await media(HOLD, { Range: 'bytes=0-9', 'If-Range': hold().etag })).status).toBe(206);
      expect((await media(HOLD, { Range: 'bytes=0-9', 'If-Range': hold().lastModified })).status).toBe(206);
      for (const ifRange of [`W/${hold().etag}`, '"other"', past]) {
        const res = await media(HOLD, { Range: 'bytes=0-9', 'If-Range': ifRange });
        expect([ifRange, res.status, res.body.length]).toEqual([ifRange, 200, holdMusic.length]);
      }
    });

    it('a pinned current version of private media is served immutable', async () => {
      const res = await media(`${HOLD}&v=${hold().version}`);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe(IMMUTABLE);
    });
  });

  describe('bad input', () => {
    it('an unknown name is a 404 naming it', async () => {
      const res = await media('name=audio/missing.wav');
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body.toString()).error).toMatch(/no media named "audio\/missing.wav"/);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it.each([
      ['name=../package.json', /"\.\." segments/],
      ['name=audio/../../package.json', /"\.\." segments/],
      ['name=%2Fetc%2Fpasswd', /leading "\/"/],
      ['name=%252e%252e%252fpackage.json', /percent-encoded twice/],
      ['name=audio%00.wav', /NUL/],
      ['', /is required/],
    ])('%s is a 400 naming the parameter', async (query, message) => {
      const res = await media(query);
      expect(res.status).toBe(400);
      const body = JSON.parse(res.body.toString());
      expect(body.error).toMatch(/^parameter "name"/);
      expect(body.error).toMatch(message);
      expect(res.body.toString()).not.toMatch(/at .*\.js:\d+/);
    });
  });

  describe('/studio/media-url and /voice/greeting', () => {
    it('gives Studio a small JSON with the absolute immutable URL', async () => {
      const entry = manifest.entries['audio/greeting.wav'];
      const res = await request(`${runtime.baseUrl}/studio/media-url?name=audio/greeting.wav`);
      expect(res.status).toBe(200);
      expect(res.body.length).toBeLessThan(64 * 1024);
      expect(JSON.parse(res.body.toString())).toEqual({
        url: `http://localhost:${runtime.port}${entry.path}`,
        version: entry.version,
        contentType: 'audio/wav',
        bytes: entry.bytes,
      });
      const privateInfo = JSON.parse(
        (await request(`${runtime.baseUrl}/studio/media-url?name=audio/hold-music.wav`)).body.toString(),
      );
      expect(privateInfo.url).toBe(
        `http://localhost:${runtime.port}/media?name=audio%2Fhold-music.wav&v=${hold().version}`,
      );
      expect((await request(`${runtime.baseUrl}/studio/media-url?name=nope.wav`)).status).toBe(404);
    });

    it('plays the greeting from its content-addressed URL', async () => {
      const res = await request(`${runtime.baseUrl}/voice/greeting`, { method: 'POST' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/xml/);
      expect(res.body.toString()).toBe(
        `<?xml version="1.0" encoding="UTF-8"?><Response><Play>http://localhost:${runtime.port}${manifest.entries['audio/greeting.wav'].path}</Play></Response>`,
      );
    });
  });
});
