import * as fs from 'node:fs';
import { sharedBuildDir, sharedRuntimeLog } from './paths';
import { stopSharedRuntime } from './runtime';

export default async function globalTeardown(): Promise<void> {
  await stopSharedRuntime();
  fs.rmSync(sharedBuildDir(), { recursive: true, force: true });
  fs.rmSync(sharedRuntimeLog(), { force: true });
}
