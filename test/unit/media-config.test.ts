import { parseMediaConfig } from '../../src/pipeline/media-config';
import { resolveCacheControl } from '../../src/lib/cache-policy';
import { parseManifest } from '../../src/lib/manifest';
import { parseMediaName } from '../../src/lib/media/name';

const FILE = '/project/media.config.json';

describe('media.config.json', () => {
  it('reads limits and an ordered cache policy', () => {
    const config = parseMediaConfig(
      JSON.stringify({
        limits: { privateFiles: 40 },
        cachePolicy: [
          { match: 'audio/hold-*.wav', cache: 'max-age=600' },
          { match: 'audio/**', cache: 'no-cache' },
          { match: '**/*.png', cache: 'max-age=86400' },
        ],
      }),
      FILE,
    );
    expect(config.limits).toEqual({ privateFiles: 40 });
    expect(config.notMedia).toEqual([]);
    expect(parseMediaConfig('{"notMedia": ["data/**"]}', FILE).notMedia).toEqual(['data/**']);
    expect(resolveCacheControl(config.cachePolicy, 'audio/hold-music.wav')).toBe('max-age=600');
    expect(resolveCacheControl(config.cachePolicy, 'audio/greeting.wav')).toBe('no-cache');
    expect(resolveCacheControl(config.cachePolicy, 'images/logo.png')).toBe('max-age=86400');
    expect(resolveCacheControl(config.cachePolicy, 'docs/agent-guide.pdf')).toBe('no-cache');
  });

  it.each([
    ['{', /media\.config\.json: not valid JSON/],
    ['[]', /media\.config\.json: expected a JSON object/],
    ['{"limit": {}}', /unknown key "limit"/],
    ['{"limits": {"privateFiles": -1}}', /limits\.privateFiles must be a positive whole number, got -1/],
    ['{"limits": {"maxFiles": 3}}', /limits\.maxFiles is not a known limit/],
    ['{"cachePolicy": {}}', /"cachePolicy" must be an array/],
    ['{"cachePolicy": [{"match": "a/**", "cache": "max-age=ten"}]}', /cachePolicy\[0\]\.cache "max-age=ten" is not/],
    ['{"cachePolicy": [{"match": "", "cache": "no-cache"}]}', /cachePolicy\[0\]\.match must be a non-empty glob/],
    ['{"cachePolicy": [{"match": "/a/**", "cache": "no-cache"}]}', /without a leading "\/"/],
    ['{"cachePolicy": [{"match": "a", "cache": "no-store"}]}', /cachePolicy\[0\]\.cache "no-store"/],
    ['{"cachePolicy": [{"match": "a", "cache": "max-age=99999999"}]}', /above one year/],
    ['{"cachePolicy": [{"match": "a", "cache": "no-cache", "ttl": 1}]}', /cachePolicy\[0\] has unknown key "ttl"/],
    ['{"notMedia": "data/**"}', /"notMedia" must be an array/],
    ['{"notMedia": [""]}', /notMedia\[0\] must be a non-empty glob/],
    ['{"notMedia": ["/data/**"]}', /notMedia\[0\] "\/data\/\*\*" must be a logical name pattern/],
  ])('refuses %s naming the file and key', (text, message) => {
    expect(() => parseMediaConfig(text, FILE)).toThrow(message);
    expect(() => parseMediaConfig(text, FILE)).toThrow(FILE);
  });
});

describe('parseMediaName', () => {
  it('accepts a logical name', () => {
    expect(parseMediaName('audio/greeting.wav')).toEqual({ ok: true, name: 'audio/greeting.wav' });
  });
  it.each([
    [undefined, /is required/],
    [['a', 'b'], /given once/],
    ['../secret', /"\." or "\.\." segments/],
    ['audio/../../etc/passwd', /"\." or "\.\." segments/],
    ['/etc/passwd', /without a leading "\/"/],
    ['%2e%2e/secret', /percent-encoded twice/],
    ['audio\0.wav', /NUL byte/],
    ['audio\\..\\x', /backslash/],
    ['audio//x.wav', /empty segments/],
  ])('refuses %p with a 400 naming the parameter', (raw, message) => {
    const result = parseMediaName(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.status).toBe(400);
      expect(result.message).toMatch(/^parameter "name"/);
      expect(result.message).toMatch(message);
    }
  });
});

describe('parseManifest', () => {
  const entry = {
    name: 'audio/greeting.wav',
    visibility: 'public',
    path: '/audio/greeting.0123456789ab.wav',
    version: '0123456789ab',
    bytes: 10,
    contentType: 'audio/wav',
    etag: '"sha256-x"',
    lastModified: 'Tue, 24 Nov 2026 10:00:00 GMT',
    sha256: 'ab',
    cacheControl: 'no-cache',
  };
  it('parses a well-formed manifest', () => {
    const manifest = parseManifest(JSON.stringify({ schema: 1, builtAt: 'x', entries: { [entry.name]: entry } }));
    expect(manifest.entries['audio/greeting.wav'].path).toBe(entry.path);
  });
  it('names the entry and field at fault', () => {
    const broken = { ...entry, etag: undefined };
    expect(() => parseManifest(JSON.stringify({ schema: 1, entries: { [entry.name]: broken } }))).toThrow(
      'entry "audio/greeting.wav" has no string "etag"',
    );
    expect(() => parseManifest('{')).toThrow(/not valid JSON/);
  });
});
