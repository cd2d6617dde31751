import * as path from 'node:path';
import { buildProject } from '../../src/pipeline/project';
import { FIXTURE_FUNCTIONS, PROJECT_ROOT, sharedBuildDir } from './paths';

/** Builds the project once (plus the test-only diagnostic Functions) for every integration test. */
export default async function globalSetup(): Promise<void> {
  // Workers inherit this, so they find the shared build.
  process.env.TMA_RUN_ID = String(process.pid);
  await buildProject({
    projectRoot: PROJECT_ROOT,
    functionDirs: [path.join(PROJECT_ROOT, 'src', 'functions'), FIXTURE_FUNCTIONS],
    outDir: sharedBuildDir(),
  });
}
