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
