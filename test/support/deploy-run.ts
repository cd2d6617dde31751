import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_ASSET_PATH, MANIFEST_FILE_NAME } from '../../src/lib/manifest';
import type { FakeServerlessApi, Upload } from './fake-serverless-api';
import { PROJECT_ROOT } from './paths';

// What the deploy tests share: a copy of the project as a fresh clone has it, the real `twilio-run deploy` run in
// it against the fake Serverless API, and what that deploy must upload, derived from dist/ independently.

export const SERVERLESS_API_PRELOAD = path.join(PROJECT_ROOT, 'test', 'support', 'serverless-api-redirect.cjs');
const TWILIO_RUN = require.resolve('twilio-run/bin/twilio-run.js', { paths: [PROJECT_ROOT] });
export const CREDENTIALS = 'ACCOUNT_SID=AC00000000000000000000000000000000\nAUTH_TOKEN=test-token\n';

/** The project as a fresh clone has it: tracked and new files of the working tree, node_modules linked. */
export function clone(work: string, name: string): string {
  const dir = path.join(work, name);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    const from = path.join(PROJECT_ROOT, file);
    if (!fs.existsSync(from)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(from, path.join(dir, file));
  }
  fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

export interface Run {
  code: number | null;
  /** stdout and stderr, with twilio-run's message boxes and line wrapping undone */
  output: string;
}

export function expectExit(run: Run, code: number, what = 'twilio-run deploy'): void {
  if (run.code !== code) throw new Error(`${what} exited with ${run.code}, expected ${code}:\n${run.output}`);
}

/** twilio-run's boxes and wrapping undone, so a message can be matched whole. */
export const unboxed = (output: string) => output.replace(/[│╭╮╰╯─]/g, ' ').replace(/\s+/g, ' ');

export function twilioRunDeploy(cwd: string, api: FakeServerlessApi, args: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', SERVERLESS_API_PRELOAD, TWILIO_RUN, 'deploy', ...args], {
      cwd,
      env: { ...process.env, FAKE_SERVERLESS_API_URL: api.url, FORCE_COLOR: '0', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('close', (code) => resolve({ code, output: unboxed(output) }));
  });
}

export function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.relative(dir, path.join(d, e.name)).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
export const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
export const shown = (list: Upload[]) =>
  list.map(({ path: p, visibility, bytes, sha256: h }) => ({ path: p, visibility, bytes, sha256: h })).sort(byPath);

/** What twilio-run must upload from dist/: every built Function and every staged asset, derived independently. */
export function expectedUploads(root: string) {
  const functionsDir = path.join(root, 'dist', 'functions');
  const functions = files(functionsDir).map((rel) => {
    const marker = /\.(protected|private)\.js$/.exec(rel);
    return {
      path: `/${rel.replace(/(\.(protected|private))?\.js$/, '')}`,
      visibility: marker ? marker[1] : 'public',
      bytes: fs.statSync(path.join(functionsDir, rel)).size,
      sha256: sha256(path.join(functionsDir, rel)),
    };
  });
  const manifestFile = path.join(root, 'dist', 'assets', MANIFEST_FILE_NAME);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as {
    entries: Record<string, { path: string; visibility: string; bytes: number; sha256: string }>;
  };
  const assets = [
    ...Object.values(manifest.entries).map((e) => ({
      path: e.path,
      visibility: e.visibility,
      bytes: e.bytes,
      sha256: e.sha256,
    })),
    {
      path: MANIFEST_ASSET_PATH,
      visibility: 'private',
      bytes: fs.statSync(manifestFile).size,
      sha256: sha256(manifestFile),
    },
  ];
  return {
    functions: functions.sort(byPath),
    assets: assets.sort(byPath),
    assetFiles: files(path.join(root, 'dist', 'assets')).length,
  };
}
