import * as fs from 'node:fs';
import { sharedBuildDir } from './paths';

export default async function globalTeardown(): Promise<void> {
  fs.rmSync(sharedBuildDir(), { recursive: true, force: true });
}
