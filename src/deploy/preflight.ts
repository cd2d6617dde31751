import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildInputs } from '../pipeline/project';
import { staleBuildReason } from '../pipeline/stamp';
import { runtimeHandlerProblem, runtimeProblem } from './platform';
import { readTwilioRunFlags, textFlag } from './twilio-run-flags';
import { uploadedVariables, uploadProblems } from './variables';

// twilio-run's own reading of the env file, so the check sees exactly the variables twilio-run is about to send.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const twilioRunEnv = require('twilio-run/dist/config/utils/env') as {
  readLocalEnvFile(flags: {
    cwd: string;
    env?: string;
    loadSystemEnv?: boolean;
  }): Promise<{ localEnv: Record<string, string>; envPath: string }>;
};

export interface DeployFlags {
  env?: string;
  loadSystemEnv: boolean;
  runtime?: string;
}

/** The deploy command's flags as twilio-run reads them; a flag it would take as a list is refused by name. */
export function readDeployFlags(argv: readonly string[]): DeployFlags {
  const flags = readTwilioRunFlags(argv, 'deploy');
  return {
    env: textFlag(flags, 'env'),
    loadSystemEnv: flags.loadSystemEnv === true,
    runtime: textFlag(flags, 'runtime'),
  };
}

export interface PreflightOptions {
  projectRoot: string;
  /** the env file the deploy uploads (twilio-run's --env), relative to projectRoot; default .env */
  envFile?: string;
  /** twilio-run's --load-system-env: empty values of the env file taken from this process's environment */
  loadSystemEnv?: boolean;
  /** the runtime the deploy sends */
  runtime: string | undefined;
  /** where the runtime comes from, for messages */
  runtimeSource: string;
  /** builds dist/ from the current sources; throws when the build fails */
  rebuild: () => Promise<unknown>;
  log: (line: string) => void;
}

/** The variables a deploy would upload, read and filtered by twilio-run's own code. */
async function variablesToUpload(
  projectRoot: string,
  envFile?: string,
  loadSystemEnv = false,
): Promise<Record<string, string>> {
  const { localEnv } = await twilioRunEnv.readLocalEnvFile({ cwd: projectRoot, env: envFile, loadSystemEnv });
  return uploadedVariables(localEnv);
}

/**
 * Everything a deploy must get right before its first request: a handler version and runtime Twilio accepts,
 * only Function variables within Twilio's limits, a media store that outlasts a Function (not a folder), and dist/ built from the current sources (built here when
 * missing or stale). Returns the problems; empty means the deploy may go ahead. Nothing is built while any
 * other check fails.
 */
export async function preflightDeploy(options: PreflightOptions): Promise<string[]> {
  const root = options.projectRoot;
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const problems: string[] = [];
  const handler = runtimeHandlerProblem(pkg.dependencies);
  if (handler) problems.push(handler);
  const runtime = runtimeProblem(options.runtime, options.runtimeSource);
  if (runtime) problems.push(runtime);
  const envFile = options.envFile ?? '.env';
  const upload = await variablesToUpload(root, options.envFile, options.loadSystemEnv);
  problems.push(...uploadProblems(upload, envFile));
  if (problems.length > 0) return problems;

  const outDir = path.join(root, 'dist');
  const inputs = buildInputs({ projectRoot: root });
  const stale = staleBuildReason(outDir, inputs);
  if (stale === null) {
    options.log('dist/ is the build of the current sources');
    return [];
  }
  options.log(`Building before the deploy: ${stale}`);
  await options.rebuild();
  const still = staleBuildReason(outDir, inputs);
  return still === null ? [] : [`the sources changed during the build (${still}); deploy again`];
}
