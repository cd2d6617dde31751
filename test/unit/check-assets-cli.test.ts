import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkAssets, formatUsage, MB, resolveLimits } from '../../src/pipeline/asset-limits';
import { scanAssets } from '../../src/pipeline/asset-scan';
import { listFunctions } from '../../src/pipeline/functions';
import { PROJECT_ROOT } from '../support/paths';

jest.setTimeout(60_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-check-cli-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A tree of files of the given sizes (sparse, so big ones cost nothing). */
function tree(name: string, files: Record<string, number>): string {
  const dir = path.join(work, name);
  for (const [rel, bytes] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), '');
    fs.truncateSync(path.join(dir, rel), bytes);
  }
  return dir;
}

/** `npm run assets:check -- ARGS` as a user runs it. */
function assetsCheck(...args: string[]) {
  const run = spawnSync('npm', ['run', '--silent', 'assets:check', '--', ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const FUNCTIONS = listFunctions([path.join(PROJECT_ROOT, 'src', 'functions')]).length;

describe("the build's limits table", () => {
  it('shows each kind with its count, limit, share, bytes and largest file against the per-file limit', () => {
    const dir = tree('table', { 'a.wav': 1500, 'b.mp3': 2.5 * MB, 'c.protected.pdf': 12 * MB, 'd.private.wav': 3 });
    expect(formatUsage(checkAssets(scanAssets(dir), resolveLimits({}), 8))).toBe(
      [
        'kind              files  limit  used   bytes    largest  per-file limit  used',
        'public+protected  3      1000   0.3%   14.5 MB  12.0 MB  25.0 MB         48.0%',
        'private           2      50     4.0%   3 B      3 B      10.0 MB         0.0%',
        'functions         8      50     16.0%  -        -        -               -',
      ].join('\n'),
    );
  });

  it("takes media.config.json's overrides into the limits it shows", () => {
    const dir = tree('override', { 'a.wav': 1000 });
    const table = formatUsage(
      checkAssets(scanAssets(dir), resolveLimits({ publicFiles: 4, publicFileBytes: 4000 }), 1),
    );
    expect(table.split('\n')[1]).toBe('public+protected  1      4      25.0%  1.0 kB  1.0 kB   4.0 kB          25.0%');
  });
});

describe('npm run assets:check', () => {
  it('exits 0 within every limit, printing the table', () => {
    const run = assetsCheck('--dir', tree('ok', { 'a.wav': 10, 'b.private.wav': 5 }));
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('kind              files  limit');
    expect(run.stdout).toMatch(/^private\s+2\s+50\s+4\.0%/m);
    expect(run.stdout).toContain('Within every limit.');
  });

  it('exits 1 listing every violation with its rule and file', () => {
    const run = assetsCheck('--dir', tree('over', { 'big.wav': 26 * MB, 'a#b.wav': 1 }));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('2 violations:');
    expect(run.stderr).toContain('[file-size] big.wav: public asset is 26.0 MB, limit 25.0 MB');
    expect(run.stderr).toContain('[forbidden-character] a#b.wav: path contains "#"');
  });

  it('--json prints one JSON document with ok, the violations and the usage, and keeps the exit code', () => {
    const ok = assetsCheck('--dir', tree('json-ok', { 'a.wav': 10 }), '--json');
    expect(ok.code).toBe(0);
    const good = JSON.parse(ok.stdout) as { ok: boolean; violations: unknown[]; usage: { visibility: string }[] };
    expect(good).toMatchObject({ ok: true, violations: [] });
    expect(good.usage.map((u) => u.visibility)).toEqual(['public+protected', 'private', 'functions']);
    expect(good.usage[2]).toMatchObject({ files: FUNCTIONS, fileLimit: 50 });
    const bad = assetsCheck('--dir', tree('json-bad', { 'a;b.wav': 1 }), '--json');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      violations: [{ file: 'a;b.wav', rule: 'forbidden-character' }],
    });
  });

  it.each([
    [['--bogus'], 'unknown option "--bogus"'],
    [['--dir'], '--dir needs a value'],
  ])('exits 2 for %j, naming the argument, with the usage', (args, message) => {
    const run = assetsCheck(...args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`assets:check: ${message}`);
    expect(run.stderr).toContain('usage: assets:check [--dir DIR] [--functions DIR] [--json]');
  });
});
