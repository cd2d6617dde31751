import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BuildInfo } from '../../src/lib/build-info';
import { STAMP_FILE } from '../../src/pipeline/stamp';
import { PROJECT_ROOT, sharedBuildDir } from '../support/paths';
import { RunningRuntime, startRuntime } from '../support/runtime';

// `npm run deployed:check -- --url ...` as a CI job runs it after a deploy: the command of package.json in its own
// process, against the real twilio-run serving the shared build, from a folder whose dist/ is a build.

const TSX = require.resolve('tsx/cli', { paths: [PROJECT_ROOT] });

/** package.json's deployed:check script ("tsx FILE"), run in cwd with node, as npm would. */
function deployedCheck(cwd: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const scripts = (
    JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  const [runner, file] = scripts['deployed:check'].split(' ');
  expect(runner).toBe('tsx');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSX, path.join(PROJECT_ROOT, file), ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('deployed:check against the real twilio-run serving the build', () => {
  let runtime: RunningRuntime;
  let work: string;
  beforeAll(async () => {
    runtime = await startRuntime();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-deployed-check-'));
  });
  afterAll(async () => {
    await runtime?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('the build it serves: exit 0, naming the build', async () => {
    const project = path.join(work, 'same');
    fs.mkdirSync(project);
    fs.symlinkSync(sharedBuildDir(), path.join(project, 'dist'), 'dir');
    const info = (JSON.parse(fs.readFileSync(path.join(sharedBuildDir(), STAMP_FILE), 'utf8')) as { info: BuildInfo })
      .info;
    const r = await deployedCheck(project, ['--url', runtime.baseUrl, '--wait', '0']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out.trim()).toBe(
      `${runtime.baseUrl}/health serves the build in dist/: twilio-media-assets ${info.version} built ${info.builtAt}`,
    );
  });

  it('a dist/ from another build: exit 1 naming what differs, after asking again for --wait', async () => {
    const project = path.join(work, 'other');
    fs.mkdirSync(path.join(project, 'dist'), { recursive: true });
    const stamp = JSON.parse(fs.readFileSync(path.join(sharedBuildDir(), STAMP_FILE), 'utf8')) as { info: BuildInfo };
    const served = stamp.info.builtAt;
    stamp.info.builtAt = new Date(Date.parse(served) + 60_000).toISOString();
    fs.writeFileSync(path.join(project, 'dist', STAMP_FILE), JSON.stringify(stamp));
    const r = await deployedCheck(project, ['--url', runtime.baseUrl, '--wait', '1']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const difference = `builtAt: answered "${served}", expected "${stamp.info.builtAt}"`;
    expect(r.err).toContain(`deployed:check: ${runtime.baseUrl}/health: ${difference}; asking again`);
    expect(r.err.trim().split('\n').at(-1)).toBe(
      `deployed:check: ${runtime.baseUrl}/health does not serve the build in dist/: ${difference}`,
    );
  });
});
