import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getDirContent, getPathAndAccessFromFileInfo } from '@twilio-labs/serverless-api/dist/utils/fs';
import { AssetLimitError, checkAssets, DEFAULT_ASSET_LIMITS, MB, resolveLimits } from '../../src/pipeline/asset-limits';
import { scanAssets, twilioPathAndAccess, versionedRel } from '../../src/pipeline/asset-scan';
import { stageAssets } from '../../src/pipeline/asset-stage';
import { HashCache } from '../../src/pipeline/hash-cache';
import { buildProject } from '../../src/pipeline/project';
import { MANIFEST_FILE_NAME, parseManifest } from '../../src/lib/manifest';
import { alterInPlace } from '../support/alter';
import { PROJECT_ROOT } from '../support/paths';
import { MAX_RESPONSE_BODY_BYTES } from '../../src/lib/response-limit';

const tmpDirs: string[] = [];
function tmpDir(prefix = 'tma-assets-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Creates files in a fresh tree; sizes are made sparse with truncate so big files cost nothing. */
function tree(files: Record<string, number | string>): string {
  const dir = tmpDir();
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    if (typeof content === 'string') fs.writeFileSync(abs, content);
    else {
      fs.writeFileSync(abs, '');
      fs.truncateSync(abs, content);
    }
  }
  return dir;
}

function many(count: number, prefix: string, marker = ''): Record<string, number> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}/f${i}${marker}.txt`, 1]));
}

const check = (dir: string, functions = 1, overrides = {}) =>
  checkAssets(scanAssets(dir), resolveLimits(overrides), functions);
const rules = (dir: string, functions = 1) => check(dir, functions).violations.map((v) => v.rule);

describe('visibility and deployed path', () => {
  const names = [
    'audio/greeting.wav',
    'audio/hold music.private.wav',
    'docs/agent-guide.protected.pdf',
    'a.protected.b.wav',
    'x.private',
    'README',
    'nested/deep/logo.private.png',
    'tab\there.mp3',
  ];
  it.each(names)('%s: same as @twilio-labs/serverless-api decides', (rel) => {
    const theirs = getPathAndAccessFromFileInfo({ name: rel, path: `/abs/${rel}` });
    expect(twilioPathAndAccess(rel)).toEqual({ path: theirs.path, access: theirs.access });
  });

  it('puts the version before the marker, so twilio-run keeps the visibility and strips the marker', () => {
    for (const rel of ['audio/greeting.wav', 'docs/agent-guide.protected.pdf', 'README']) {
      const { access, path: plain } = twilioPathAndAccess(rel);
      const versioned = versionedRel({ rel, visibility: access }, 'abcdef012345');
      const theirs = getPathAndAccessFromFileInfo({ name: versioned, path: `/abs/${versioned}` });
      expect(theirs.access).toBe(access);
      const ext = path.extname(plain);
      expect(theirs.path).toBe(
        ext ? plain.replace(new RegExp(`\\${ext}$`), `.abcdef012345${ext}`) : `${plain}.abcdef012345`,
      );
    }
  });

  it('leaves dotfiles and OS junk out with a note', () => {
    const dir = tree({ 'a.wav': 1, '.gitkeep': 0, 'img/.DS_Store': 4, '.hidden/x.wav': 1, 'Thumbs.db': 2 });
    const scan = scanAssets(dir);
    expect(scan.files.map((f) => f.rel)).toEqual(['a.wav']);
    expect(scan.skipped.map((s) => s.rel).sort()).toEqual(['.gitkeep', '.hidden/x.wav', 'Thumbs.db', 'img/.DS_Store']);
  });
});

describe('symlinked assets', () => {
  /** A project folder with assets/ and a shared/ folder beside it that assets/ links into. */
  function project(links: Record<string, string>): { root: string; assets: string } {
    const root = tmpDir('tma-links-');
    for (const [rel, text] of Object.entries({
      'shared/x.wav': 'linked file',
      'shared/lib/y.wav': 'in a linked folder',
      'assets/a.wav': 'plain',
    })) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    }
    for (const [rel, target] of Object.entries(links)) fs.symlinkSync(target, path.join(root, 'assets', rel));
    return { root, assets: path.join(root, 'assets') };
  }

  it('are followed inside the project, as twilio-run and serverless-api follow them, and staged as plain files', async () => {
    const { root, assets } = project({ 'linked.wav': '../shared/x.wav', lib: '../shared/lib' });
    // serverless-api's own listing (what twilio-run serves and deploys) includes both
    const theirs = (await getDirContent(assets)).map((f: { name: string }) => f.name).sort();
    expect(theirs).toEqual(['a.wav', 'lib/y.wav', 'linked.wav']);
    const scan = scanAssets(assets, { within: [root] });
    expect(scan.files.map((f) => f.rel)).toEqual(theirs);
    expect(scan.refused).toEqual([]);
    const out = tmpDir();
    const staged = await stageAssets({ scan, outDir: out, cachePolicy: [] });
    const entry = staged.manifest.entries['linked.wav'];
    const copy = path.join(out, `linked.${entry.version}.wav`);
    expect(fs.lstatSync(copy).isFile()).toBe(true);
    expect(fs.readFileSync(copy, 'utf8')).toBe('linked file');
    expect(staged.manifest.entries['lib/y.wav'].bytes).toBe('in a linked folder'.length);
  });

  it('are refused by name when they lead out of the project, dangle or loop: never dropped silently', () => {
    const outside = path.join(tmpDir('tma-outside-'), 'secret.txt');
    fs.writeFileSync(outside, 'secret');
    const { root, assets } = project({
      'out.txt': outside,
      'dangling.wav': './nope.wav',
      loop: '.',
      up: '..',
      'self.wav': 'self.wav',
      '.hidden': outside, // a dotfile is never deployed: skipped with its note, wherever it leads
    });
    const check = checkAssets(scanAssets(assets, { within: [root] }), resolveLimits({}), 1);
    expect(check.skipped.map((s) => s.rel)).toEqual(['.hidden']);
    expect(check.violations.map((v) => [v.file, v.rule])).toEqual([
      ['dangling.wav', 'symlink'],
      ['loop', 'symlink'],
      ['out.txt', 'symlink'],
      ['self.wav', 'symlink'],
      ['up', 'symlink'],
    ]);
    const message = (file: string) => check.violations.find((v) => v.file === file)!.message;
    expect(message('out.txt')).toBe(
      `out.txt: symlink to ${outside} leads out of the project (to ${fs.realpathSync(outside)}); replace it with the file or remove it`,
    );
    expect(message('dangling.wav')).toMatch(/^dangling\.wav: symlink to \.\/nope\.wav points to nothing/);
    expect(message('loop')).toMatch(/^loop: symlink to \. loops back to assets, a folder that contains it/);
    expect(message('up')).toMatch(/^up: symlink to \.\. loops back to \., a folder that contains it/);
    expect(message('self.wav')).toMatch(/^self\.wav: symlink to self\.wav loops/);
  });

  it('make the build fail before anything is written', async () => {
    const { root, assets } = project({ 'dangling.wav': './nope.wav' });
    fs.writeFileSync(path.join(root, 'package.json'), '{"name":"x","version":"1.0.0"}');
    const out = path.join(root, 'dist');
    await expect(
      buildProject({ projectRoot: root, assetsDir: assets, functionDirs: [], outDir: out, hashCacheFile: null }),
    ).rejects.toThrow(/\[symlink\] dangling\.wav: symlink to \.\/nope\.wav points to nothing/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('limits', () => {
  it('1000 public+protected files pass, 1001 fail', () => {
    expect(rules(tree({ ...many(999, 'p'), 'd/x.protected.txt': 1 }))).toEqual([]);
    const over = check(tree({ ...many(1000, 'p'), 'd/x.protected.txt': 1 }));
    expect(over.violations).toHaveLength(1);
    expect(over.violations[0].message).toMatch(/1001 public and protected assets, limit 1000 per build/);
  });

  it('24 MB passes, 26 MB fails, naming the file and both sizes', () => {
    expect(rules(tree({ 'audio/ok.wav': 24 * MB }))).toEqual([]);
    const over = check(tree({ 'audio/big.protected.wav': 26 * MB }));
    expect(over.violations.map((v) => v.message)).toEqual([
      'audio/big.protected.wav: protected asset is 26.0 MB, limit 25.0 MB',
    ]);
  });

  it('50 deployed private assets pass (49 files + the manifest), 51 fail', () => {
    expect(rules(tree(many(49, 'priv', '.private')))).toEqual([]);
    const over = check(tree(many(50, 'priv', '.private')));
    expect(over.violations).toHaveLength(1);
    expect(over.violations[0].message).toMatch(
      `/: 51 private assets (including the generated ${MANIFEST_FILE_NAME}), limit 50 per build`,
    );
  });

  it("a private asset of 10 MB passes, one byte more fails (declared not media, so /media's 4 MB rule is out of the way)", () => {
    const notMedia = (dir: string) => checkAssets(scanAssets(dir), resolveLimits({}), 1, ['a.wav']).violations;
    expect(notMedia(tree({ 'a.private.wav': 10 * MB }))).toEqual([]);
    expect(notMedia(tree({ 'a.private.wav': 10 * MB + 1 })).map((v) => v.message)).toEqual([
      'a.private.wav: private asset is 10.0 MB, limit 10.0 MB',
    ]);
  });

  it("private media whose /media answer could not fit a Function's 4 MB is named with its size, the limit and the remedy", () => {
    expect(rules(tree({ 'audio/hold.private.wav': MAX_RESPONSE_BODY_BYTES }))).toEqual([]);
    const over = check(
      tree({
        'audio/hold.private.wav': MAX_RESPONSE_BODY_BYTES + 1,
        'audio/big.wav': 6 * MB,
        'docs/big.protected.pdf': 6 * MB,
      }),
    );
    expect(over.violations.map((v) => v.rule)).toEqual(['private-media-size']);
    const message = over.violations[0].message;
    expect(message).toContain(`audio/hold.private.wav: private media is ${MAX_RESPONSE_BODY_BYTES + 1} bytes`);
    expect(message).toContain(`at most ${MAX_RESPONSE_BODY_BYTES} bytes`);
    expect(message).toMatch(/make it public or protected .*up to 25 MB.*"notMedia"/);
  });

  it('a private file declared notMedia may be larger; declaring a public or protected file is refused', () => {
    const dir = tree({ 'data/prices.private.json': 6 * MB, 'data/table.protected.csv': 1 });
    const result = checkAssets(scanAssets(dir), resolveLimits({}), 1, ['data/**']);
    expect(result.violations.map((v) => v.rule)).toEqual(['not-media-visibility']);
    expect(result.violations[0].message).toMatch(
      /^data\/table.protected.csv: matches media.config.json "notMedia", but only private files/,
    );
  });

  it('the manifest marks a private file declared notMedia, and only that one', async () => {
    const src = tree({ 'data/prices.private.json': '{}', 'audio/hold.private.wav': 'RIFF' });
    const staged = await stageAssets({
      scan: scanAssets(src),
      outDir: tmpDir(),
      cachePolicy: [],
      notMedia: ['data/**'],
    });
    expect(staged.manifest.entries['data/prices.json'].notMedia).toBe(true);
    expect(staged.manifest.entries['audio/hold.wav'].notMedia).toBeUndefined();
  });

  it('50 Functions pass, 51 fail', () => {
    const dir = tree({ 'a.wav': 1 });
    expect(rules(dir, 50)).toEqual([]);
    expect(check(dir, 51).violations[0].message).toBe('src/functions/: 51 Functions, limit 50 per build');
  });

  it('reports two files landing on the same deployed path', () => {
    const over = check(tree({ 'audio/hold music.wav': 1, 'audio/hold-music.wav': 2, 'x.private.wav': 1, 'x.wav': 1 }));
    expect(over.violations.map((v) => v.rule)).toEqual(['collision', 'collision']);
    expect(over.violations[0].message).toMatch(
      /deploys to the same path \/audio\/hold-music.wav as audio\/hold music.wav/,
    );
  });

  it('reports forbidden characters and over-long paths (counted with the version)', () => {
    const longName = 'a'.repeat(236) + '.wav'; // "/" + 236 + ".<12>" + ".wav" = 254
    const tooLong = 'a'.repeat(238) + '.wav'; // 256 deployed
    const over = check(tree({ 'bad#name.wav': 1, 'q?.wav': 1, [longName]: 1, [tooLong]: 1 }));
    expect(over.violations.map((v) => v.rule).sort()).toEqual([
      'forbidden-character',
      'forbidden-character',
      'path-length',
    ]);
    expect(over.violations.find((v) => v.rule === 'path-length')!.message).toMatch(/256 characters .* limit 255/);
  });

  it('allows a deployed path of exactly 255 characters, counted with the version; 256 is refused', () => {
    // "/" + name + "." + 12-character version + ".wav"
    const named = (length: number) => `${'a'.repeat(length - 18)}.wav`;
    expect(rules(tree({ [named(255)]: 1 }))).toEqual([]);
    expect(rules(tree({ [named(256)]: 1 }))).toEqual(['path-length']);
    // a private file keeps its name, without a version: "/" + folder + "/" + name + ".wav"
    const privately = (length: number) => `${'d'.repeat(100)}/${'p'.repeat(length - 106)}.private.wav`;
    expect(rules(tree({ [privately(255)]: 1 }))).toEqual([]);
    expect(rules(tree({ [privately(256)]: 1 }))).toEqual(['path-length']);
  });

  it.each([...`#;,?:@+&$()'"`])('refuses the character %s in an asset path, naming it', (c) => {
    const over = check(tree({ [`dir/a${c}b.wav`]: 1 }));
    expect(over.violations).toEqual([
      {
        file: `dir/a${c}b.wav`,
        rule: 'forbidden-character',
        message: expect.stringContaining(`path contains ${JSON.stringify(c)}, which Twilio refuses`),
      },
    ]);
  });

  it('accepts the characters Twilio does not refuse, and turns whitespace into "-" as twilio-run does', () => {
    expect(rules(tree({ 'a-b_c~d!e=f[g]h.wav': 1, 'with space.wav': 1 }))).toEqual([]);
  });

  it.each(['media-manifest.json', 'media-manifest.private.json', 'media-manifest.protected.json'])(
    'reserves /media-manifest.json for the generated manifest: %s is refused',
    (rel) => {
      const over = check(tree({ [rel]: '{}' }));
      expect(over.violations.map((v) => v.rule)).toEqual(['reserved-path']);
      expect(over.violations[0].message).toBe(
        `${rel}: deploys to /media-manifest.json, which the build reserves for the media manifest`,
      );
    },
  );

  it('reports every violation of a tree in one run', () => {
    const over = check(
      tree({ 'big.wav': 26 * MB, 'huge.private.wav': 11 * MB, 'a@b.wav': 1, 'c.wav': 1, 'c.private.wav': 1 }),
      60,
    );
    expect(over.violations.map((v) => v.rule).sort()).toEqual([
      'collision',
      'file-size',
      'forbidden-character',
      'function-count',
      'private-file-size',
      'private-media-size',
    ]);
  });

  it('takes overrides from config', () => {
    expect(check(tree(many(3, 'p')), 1, { publicFiles: 2 }).violations[0].message).toMatch(
      /3 public and protected assets, limit 2/,
    );
    expect(resolveLimits({})).toEqual(DEFAULT_ASSET_LIMITS);
  });
});

describe('content-versioned staging', () => {
  async function stage(src: string, out: string, cacheFile: string) {
    return stageAssets({
      scan: scanAssets(src),
      outDir: out,
      cachePolicy: [{ match: 'audio/**', cache: 'max-age=60' }],
      hashCache: new HashCache(cacheFile),
    });
  }

  it('keeps the name of an unchanged file without re-hashing it, renames a changed one and drops its old version', async () => {
    const src = tree({
      'audio/greeting.wav': 'hello v1',
      'docs/guide.protected.pdf': '%PDF',
      'audio/hold.private.wav': 'hold',
    });
    const out = tmpDir();
    const cacheFile = path.join(tmpDir(), 'hashes.json');
    const first = await stage(src, out, cacheFile);
    expect(first.hashed).toBe(3);
    const greeting = first.manifest.entries['audio/greeting.wav'];
    expect(greeting.path).toMatch(/^\/audio\/greeting\.[0-9a-f]{12}\.wav$/);
    expect(greeting).toMatchObject({
      visibility: 'public',
      bytes: 8,
      contentType: 'audio/wav',
      cacheControl: 'max-age=60',
    });
    expect(greeting.etag).toBe(`"sha256-${greeting.sha256}"`);
    expect(first.manifest.entries['docs/guide.pdf']).toMatchObject({
      visibility: 'protected',
      cacheControl: 'no-cache',
    });
    expect(first.manifest.entries['docs/guide.pdf'].path).toMatch(/^\/docs\/guide\.[0-9a-f]{12}\.pdf$/);
    expect(first.manifest.entries['audio/hold.wav'].path).toBe('/audio/hold.wav');
    expect(fs.readFileSync(path.join(out, 'audio', `greeting.${greeting.version}.wav`), 'utf8')).toBe('hello v1');
    expect(parseManifest(fs.readFileSync(path.join(out, MANIFEST_FILE_NAME), 'utf8')).entries).toEqual(
      first.manifest.entries,
    );

    const again = await stage(src, out, cacheFile);
    expect(again.hashed).toBe(0);
    expect(again.manifest.entries['audio/greeting.wav'].path).toBe(greeting.path);

    fs.writeFileSync(path.join(src, 'audio', 'greeting.wav'), 'hello v2');
    const changed = await stage(src, out, cacheFile);
    expect(changed.hashed).toBe(1);
    const next = changed.manifest.entries['audio/greeting.wav'];
    expect(next.path).not.toBe(greeting.path);
    expect(fs.readFileSync(path.join(out, 'audio', `greeting.${next.version}.wav`), 'utf8')).toBe('hello v2');
    expect(fs.existsSync(path.join(out, 'audio', `greeting.${greeting.version}.wav`))).toBe(false);
    expect(changed.manifest.entries['docs/guide.pdf'].path).toBe(first.manifest.entries['docs/guide.pdf'].path);
    expect(fs.readdirSync(out).sort()).toEqual(['audio', 'docs', MANIFEST_FILE_NAME]);
  });
});

describe('staging never trusts a file altered behind its back', () => {
  const stage = (src: string, out: string, cacheFile: string) =>
    stageAssets({ scan: scanAssets(src), outDir: out, cachePolicy: [], hashCache: new HashCache(cacheFile) });

  it('a rebuild repairs a staged file altered to the same size, its mtime put back, public or private', async () => {
    const src = tree({ 'images/logo.png': 'PNG-original', 'audio/hold.private.wav': 'RIFF-original' });
    const out = tmpDir();
    const cacheFile = path.join(tmpDir(), 'hashes.json');
    const first = await stage(src, out, cacheFile);
    const logo = path.join(out, 'images', `logo.${first.manifest.entries['images/logo.png'].version}.png`);
    const hold = path.join(out, 'audio', 'hold.private.wav');
    alterInPlace(logo, 'XXX');
    alterInPlace(hold, 'XXXX');
    const again = await stage(src, out, cacheFile);
    expect(again.hashed).toBe(0); // the sources did not change: only the copies are redone
    expect(fs.readFileSync(logo, 'utf8')).toBe('PNG-original');
    expect(fs.readFileSync(hold, 'utf8')).toBe('RIFF-original');
  });

  it('a source edited to the same size with its mtime put back is hashed again and gets a new version', async () => {
    const src = tree({ 'images/logo.png': 'PNG-original' });
    const out = tmpDir();
    const cacheFile = path.join(tmpDir(), 'hashes.json');
    const first = await stage(src, out, cacheFile);
    alterInPlace(path.join(src, 'images', 'logo.png'), 'JPG');
    const again = await stage(src, out, cacheFile);
    expect(again.hashed).toBe(1);
    const entry = again.manifest.entries['images/logo.png'];
    expect(entry.version).not.toBe(first.manifest.entries['images/logo.png'].version);
    expect(fs.readFileSync(path.join(out, 'images', `logo.${entry.version}.png`), 'utf8')).toBe('JPG-original');
  });
});

describe('buildProject', () => {
  it('refuses an over-limit tree before writing anything', async () => {
    const src = tree({ 'big.wav': 26 * MB, 'a,b.wav': 1 });
    const out = path.join(tmpDir(), 'dist');
    const failure = buildProject({ projectRoot: PROJECT_ROOT, assetsDir: src, outDir: out, hashCacheFile: null });
    await expect(failure).rejects.toBeInstanceOf(AssetLimitError);
    await expect(failure).rejects.toThrow(
      /breaks 2 Twilio limits:\n.*a,b.wav: path contains ",".*\n.*big.wav: public asset is 26.0 MB, limit 25.0 MB/,
    );
    expect(fs.existsSync(out)).toBe(false);
  });
});
