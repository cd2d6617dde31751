import type { Manifest, ManifestEntry } from '../../src/lib/manifest';
import { decideMedia, IMMUTABLE, MediaDecision } from '../../src/lib/media/serve';
import { studioMediaInfo } from '../../src/lib/media/studio';
import { outboundMms } from '../../src/lib/media/outbound-mms';
import { playTwiml } from '../../src/lib/media/twiml';
import { mediaUrl, stableMediaUrl } from '../../src/lib/media/urls';
import {
  FUNCTION_RESPONSE_LIMIT_BYTES,
  MAX_RESPONSE_BODY_BYTES,
  RESPONSE_HEADER_MARGIN_BYTES,
} from '../../src/lib/response-limit';

const BASE = 'https://media-1234-dev.twil.io';
const LAST_MODIFIED = 'Tue, 24 Nov 2026 10:00:00 GMT';

function entry(
  name: string,
  visibility: ManifestEntry['visibility'],
  sha: string,
  extra: Partial<ManifestEntry> = {},
): ManifestEntry {
  const sha256 = sha.repeat(64 / sha.length);
  const version = sha256.slice(0, 12);
  const dot = name.lastIndexOf('.');
  const path = visibility === 'private' ? `/${name}` : `/${name.slice(0, dot)}.${version}${name.slice(dot)}`;
  return {
    name,
    visibility,
    path,
    version,
    bytes: 1000,
    contentType: 'audio/wav',
    etag: `"sha256-${sha256}"`,
    lastModified: LAST_MODIFIED,
    sha256,
    cacheControl: 'no-cache',
    ...extra,
  };
}

const manifest: Manifest = {
  schema: 1,
  builtAt: '2026-11-24T10:00:00.000Z',
  entries: {
    'audio/greeting.wav': entry('audio/greeting.wav', 'public', 'a1'),
    'docs/agent-guide.pdf': entry('docs/agent-guide.pdf', 'protected', 'b2', {
      contentType: 'application/pdf',
      cacheControl: 'max-age=300',
    }),
    'audio/hold-music.wav': entry('audio/hold-music.wav', 'private', 'c3', { cacheControl: 'max-age=3600' }),
  },
};
const greeting = manifest.entries['audio/greeting.wav'];
const guide = manifest.entries['docs/agent-guide.pdf'];
const hold = manifest.entries['audio/hold-music.wav'];

const decide = (name: unknown, headers: Record<string, string> = {}, version?: unknown) =>
  decideMedia({ manifest, name, version, headers, baseUrl: BASE });

function response(decision: MediaDecision) {
  if (decision.kind !== 'response') throw new Error(`expected a response, got bytes ${decision.status}`);
  return decision.response;
}
function bytes(decision: MediaDecision) {
  if (decision.kind !== 'bytes') throw new Error(`expected bytes, got ${decision.response.status}`);
  return decision;
}

describe('decideMedia: public and protected media redirect to the content-addressed asset', () => {
  it('302 to the versioned path, Cache-Control from the policy, an ETag naming the version', () => {
    expect(response(decide('audio/greeting.wav'))).toEqual({
      status: 302,
      headers: {
        Location: `${BASE}${greeting.path}`,
        'Cache-Control': 'no-cache',
        ETag: `"redirect-${greeting.sha256}"`,
      },
      body: '',
    });
    const protectedRedirect = response(decide('docs/agent-guide.pdf'));
    expect(protectedRedirect.headers.Location).toBe(`${BASE}/docs/agent-guide.${guide.version}.pdf`);
    expect(protectedRedirect.headers['Cache-Control']).toBe('max-age=300');
  });

  it('304 with the same validator and Cache-Control on If-None-Match of the redirect, weak or in a list', () => {
    for (const inm of [
      `"redirect-${greeting.sha256}"`,
      `W/"redirect-${greeting.sha256}"`,
      `"x", "redirect-${greeting.sha256}"`,
    ]) {
      expect(response(decide('audio/greeting.wav', { 'if-none-match': inm }))).toEqual({
        status: 304,
        headers: { 'Cache-Control': 'no-cache', ETag: `"redirect-${greeting.sha256}"` },
        body: '',
      });
    }
  });

  it('a validator of another version (the build before a deploy) gets the new redirect', () => {
    const res = response(decide('audio/greeting.wav', { 'if-none-match': `"redirect-${'0'.repeat(64)}"` }));
    expect(res.status).toBe(302);
  });

  it('ignores If-Match, If-Unmodified-Since, If-Modified-Since and Range on the redirect (RFC 9110 13.2.1)', () => {
    const headers = {
      'if-match': '"x"',
      'if-unmodified-since': 'Mon, 01 Jan 2001 00:00:00 GMT',
      'if-modified-since': 'Fri, 01 Jan 2100 00:00:00 GMT',
      range: 'bytes=0-1',
    };
    expect(response(decide('audio/greeting.wav', headers)).status).toBe(302);
  });
});

describe('decideMedia: pinned versions', () => {
  it('the current version is immutable, for redirects and private bytes alike', () => {
    const pinned = response(decide('audio/greeting.wav', {}, greeting.version));
    expect(pinned.status).toBe(302);
    expect(pinned.headers['Cache-Control']).toBe(IMMUTABLE);
    expect(IMMUTABLE).toBe('public, max-age=31536000, immutable');
    expect(bytes(decide('audio/hold-music.wav', {}, hold.version)).headers['Cache-Control']).toBe(IMMUTABLE);
    expect(
      response(decide('audio/hold-music.wav', { 'if-none-match': hold.etag }, hold.version)).headers['Cache-Control'],
    ).toBe(IMMUTABLE);
  });

  it('a stale or unknown version redirects, never stored, to the stable URL: no bytes under an immutable header', () => {
    for (const [name, current] of [
      ['audio/greeting.wav', greeting],
      ['audio/hold-music.wav', hold],
    ] as const) {
      const res = response(decide(name, {}, 'deadbeef0000'));
      expect(res).toEqual({
        status: 302,
        headers: {
          Location: stableMediaUrl(BASE, name),
          'Cache-Control': 'no-store',
          'X-Media-Version': `requested=deadbeef0000; current=${current.version}`,
        },
        body: '',
      });
      expect(res.headers.Location).not.toMatch(/[?&]v=/);
    }
  });

  it('an empty v is no pin; a v that is not a hex version is a 400 naming the parameter', () => {
    expect(response(decide('audio/greeting.wav', {}, '')).headers['Cache-Control']).toBe('no-cache');
    for (const v of ['zz', '12', 'ABCDEF123456', ['a1a1a1a1a1a1', 'a1a1a1a1a1a1'], 'a'.repeat(65)]) {
      const res = response(decide('audio/greeting.wav', {}, v));
      expect([v, res.status]).toEqual([v, 400]);
      expect((res.body as { error: string }).error).toMatch(/^parameter "v"/);
      expect(res.headers['Cache-Control']).toBe('no-store');
    }
  });
});

describe('decideMedia: private media served by the Function', () => {
  const cacheHeaders = { ETag: hold.etag, 'Cache-Control': 'max-age=3600', 'Last-Modified': LAST_MODIFIED };

  it('200: the whole file with validators, type, length, Accept-Ranges and the policy', () => {
    expect(decide('audio/hold-music.wav')).toEqual({
      kind: 'bytes',
      entry: hold,
      status: 200,
      start: 0,
      end: 999,
      headers: {
        ...cacheHeaders,
        'Content-Type': 'audio/wav',
        'Accept-Ranges': 'bytes',
        'Content-Length': '1000',
        // RFC 9530: the whole file's sha256, base64 between colons
        'Repr-Digest': `sha-256=:${Buffer.from(hold.sha256, 'hex').toString('base64')}:`,
      },
    });
  });

  it('304 repeats exactly the caching headers of the 200, with an empty body', () => {
    for (const headers of [{ 'if-none-match': hold.etag }, { 'if-modified-since': LAST_MODIFIED }] as Record<
      string,
      string
    >[]) {
      expect(response(decide('audio/hold-music.wav', headers))).toEqual({
        status: 304,
        headers: cacheHeaders,
        body: '',
      });
    }
  });

  it('412 naming the header, not stored', () => {
    for (const [headers, name] of [
      [{ 'if-match': '"x"' }, 'If-Match'],
      [{ 'if-unmodified-since': 'Mon, 01 Jan 2001 00:00:00 GMT' }, 'If-Unmodified-Since'],
    ] as const) {
      const res = response(decide('audio/hold-music.wav', headers));
      expect(res.status).toBe(412);
      expect((res.body as { error: string }).error).toContain(`"${name}"`);
      expect(res.headers['Cache-Control']).toBe('no-store');
    }
  });

  it('206 for one range with Content-Range and Content-Length of the part', () => {
    const part = bytes(decide('audio/hold-music.wav', { range: 'bytes=100-199' }));
    expect([part.status, part.start, part.end]).toEqual([206, 100, 199]);
    expect(part.headers).toMatchObject({
      'Content-Range': 'bytes 100-199/1000',
      'Content-Length': '100',
      ETag: hold.etag,
    });
  });

  it('a precondition is evaluated before the range: a 304 wins over a Range', () => {
    expect(response(decide('audio/hold-music.wav', { range: 'bytes=0-1', 'if-none-match': hold.etag })).status).toBe(
      304,
    );
  });

  it('416 with bytes */length, not stored', () => {
    const res = response(decide('audio/hold-music.wav', { range: 'bytes=1000-' }));
    expect(res.status).toBe(416);
    expect(res.headers).toMatchObject({ 'Content-Range': 'bytes */1000', 'Cache-Control': 'no-store' });
    expect((res.body as { error: string }).error).toMatch(/^header "Range"/);
  });

  it('several disjoint ranges get the whole file (200)', () => {
    expect(bytes(decide('audio/hold-music.wav', { range: 'bytes=0-1,500-501' })).status).toBe(200);
  });
});

describe("decideMedia: nothing over a Function's 4 MB answer, and files declared not media", () => {
  const big = entry('audio/big.wav', 'private', 'd4', { bytes: MAX_RESPONSE_BODY_BYTES + 1 });
  const config = entry('data/prices.json', 'private', 'e5', { notMedia: true, contentType: 'application/json' });
  const withBig: Manifest = { ...manifest, entries: { ...manifest.entries, [big.name]: big, [config.name]: config } };
  const ask = (name: string, headers: Record<string, string> = {}) =>
    decideMedia({ manifest: withBig, name, version: undefined, headers, baseUrl: BASE });

  it('the body limit leaves a documented margin under 4,000,000 bytes', () => {
    expect(MAX_RESPONSE_BODY_BYTES).toBe(FUNCTION_RESPONSE_LIMIT_BYTES - RESPONSE_HEADER_MARGIN_BYTES);
    expect(FUNCTION_RESPONSE_LIMIT_BYTES).toBe(4_000_000);
  });

  it('a private file over the limit (a stale manifest: the build refuses it) is never sent whole: 400 naming Range and the limit', () => {
    const res = response(ask(big.name));
    expect(res.status).toBe(400);
    expect((res.body as { error: string }).error).toMatch(
      new RegExp(`^header "Range" is required: audio/big.wav is ${big.bytes} bytes.*${MAX_RESPONSE_BODY_BYTES} bytes`),
    );
  });

  it('a range longer than the limit is cut to it, and Content-Range says so', () => {
    const part = bytes(ask(big.name, { range: 'bytes=0-' }));
    expect([part.status, part.start, part.end]).toEqual([206, 0, MAX_RESPONSE_BODY_BYTES - 1]);
    expect(part.headers['Content-Range']).toBe(`bytes 0-${MAX_RESPONSE_BODY_BYTES - 1}/${big.bytes}`);
    expect(part.headers['Content-Length']).toBe(String(MAX_RESPONSE_BODY_BYTES));
  });

  it('a file declared not media is refused with 403 naming the declaration, and has no media URL', () => {
    const res = response(ask(config.name));
    expect(res.status).toBe(403);
    expect((res.body as { error: string }).error).toMatch(/notMedia/);
    expect(res.headers['Cache-Control']).toBe('no-store');
    expect(() => mediaUrl(withBig, config.name, BASE)).toThrow(/notMedia/);
    expect(studioMediaInfo(withBig, config.name, BASE).status).toBe(403);
  });
});

describe('decideMedia: bad input', () => {
  it('an unknown name is a 404 naming it, not stored', () => {
    const res = response(decide('audio/missing.wav'));
    expect(res.status).toBe(404);
    expect((res.body as { error: string }).error).toMatch(/no media named "audio\/missing.wav"/);
    expect(res.headers['Cache-Control']).toBe('no-store');
  });

  it('names inherited from Object.prototype are unknown, not a crash', () => {
    expect(response(decide('constructor')).status).toBe(404);
    expect(response(decide('__proto__')).status).toBe(404);
  });

  it.each([
    ['../package.json'],
    ['audio/../../x'],
    ['/etc/passwd'],
    ['%2e%2e/x'],
    ['a\0b'],
    ['a\\b'],
    [''],
    [undefined],
    [['a', 'b']],
  ])('traversal or malformed name %p is a 400 naming the parameter', (name) => {
    const res = response(decide(name));
    expect(res.status).toBe(400);
    expect((res.body as { error: string }).error).toMatch(/^parameter "name"/);
  });
});

describe('absolute URLs for TwiML, MMS and Studio', () => {
  it('mediaUrl: public and protected names give the content-addressed asset, private ones /media pinned to the version', () => {
    expect(mediaUrl(manifest, 'audio/greeting.wav', BASE)).toBe(`${BASE}${greeting.path}`);
    expect(mediaUrl(manifest, 'docs/agent-guide.pdf', BASE)).toBe(`${BASE}${guide.path}`);
    expect(mediaUrl(manifest, 'audio/hold-music.wav', BASE)).toBe(
      `${BASE}/media?name=audio%2Fhold-music.wav&v=${hold.version}`,
    );
    expect(() => mediaUrl(manifest, 'nope.wav', BASE)).toThrow(/no media named "nope.wav"/);
  });

  it('playTwiml: a VoiceResponse playing the immutable URL', () => {
    expect(playTwiml(manifest, 'audio/greeting.wav', BASE)).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><Response><Play>${BASE}${greeting.path}</Play></Response>`,
    );
  });

  it('outboundMms: each media name resolved; 1 to 10 media', () => {
    expect(
      outboundMms(manifest, BASE, {
        to: '+15550001111',
        from: '+15550002222',
        body: 'hi',
        media: ['audio/greeting.wav', 'audio/hold-music.wav'],
      }),
    ).toEqual({
      to: '+15550001111',
      from: '+15550002222',
      body: 'hi',
      mediaUrl: [`${BASE}${greeting.path}`, `${BASE}/media?name=audio%2Fhold-music.wav&v=${hold.version}`],
    });
    expect(() => outboundMms(manifest, BASE, { to: 'a', from: 'b', media: [] })).toThrow(/1 to 10/);
    expect(() =>
      outboundMms(manifest, BASE, { to: 'a', from: 'b', media: Array(11).fill('audio/greeting.wav') }),
    ).toThrow(/1 to 10/);
    expect(() => outboundMms(manifest, BASE, { to: 'a', from: 'b', media: ['../x'] })).toThrow();
  });

  it('studioMediaInfo: small JSON {url, version, contentType, bytes}; 404 and 400 as JSON', () => {
    const res = studioMediaInfo(manifest, 'docs/agent-guide.pdf', BASE);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      url: `${BASE}${guide.path}`,
      version: guide.version,
      contentType: 'application/pdf',
      bytes: 1000,
    });
    expect(Buffer.byteLength(JSON.stringify(res.body))).toBeLessThan(64 * 1024);
    expect(studioMediaInfo(manifest, 'nope.wav', BASE).status).toBe(404);
    expect(studioMediaInfo(manifest, '../x', BASE).status).toBe(400);
  });
});
