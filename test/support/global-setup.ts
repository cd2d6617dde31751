import * as path from 'node:path';
import { buildProject } from '../../src/pipeline/project';
import { FIXTURE_FUNCTIONS, PROJECT_ROOT, sharedBuildDir, sharedRuntimeLog } from './paths';
import { startSharedRuntime } from './runtime';

/**
 * Builds the project once (plus the test-only diagnostic Functions) for every integration test, then starts the
 * runtime that the suites needing only the default one share (sharedRuntime in test/support/runtime.ts).
 */
export default async function globalSetup(): Promise<void> {
  // Workers inherit this, so they find the shared build.
  process.env.TMA_RUN_ID = String(process.pid);
  await buildProject({
    projectRoot: PROJECT_ROOT,
    functionDirs: [path.join(PROJECT_ROOT, 'src', 'functions'), FIXTURE_FUNCTIONS],
    outDir: sharedBuildDir(),
  });
  await startSharedRuntime(sharedRuntimeLog());
}
