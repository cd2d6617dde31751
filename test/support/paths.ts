import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURE_FUNCTIONS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'functions');

/** The build shared by all integration tests of one jest run, made once by the global setup. */
export function sharedBuildDir(): string {
  const runId = process.env.TMA_RUN_ID;
  if (!runId) throw new Error('TMA_RUN_ID is not set: integration tests need the jest global setup');
  return path.join(os.tmpdir(), `tma-shared-build-${runId}`);
}

/** What the shared runtime of one jest run prints (test/support/runtime.ts sharedRuntime). */
export function sharedRuntimeLog(): string {
  return `${sharedBuildDir()}.runtime.log`;
}

/** The deployed path of a protected asset of the shared build (from its manifest). */
export function protectedAssetPath(): string {
  const manifest = JSON.parse(
    fs.readFileSync(path.join(sharedBuildDir(), 'assets', 'media-manifest.private.json'), 'utf8'),
  ) as { entries: Record<string, { visibility: string; path: string }> };
  const entry = Object.values(manifest.entries).find((e) => e.visibility === 'protected');
  if (!entry) throw new Error('the build has no protected asset');
  return entry.path;
}
