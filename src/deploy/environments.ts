import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The project's convention for environments, one env file each, so that a team never sends one environment's
 * variables to another by accident (docs/deploy.md, "Environments and promotion"):
 * - `dev` (twilio-run's default environment) reads `.env`, as `npm start` does;
 * - production, the environment with a blank domain suffix (`--production`), and `prod` read `.env.prod`;
 * - any other suffix reads `.env.SUFFIX` (`--environment stage` reads `.env.stage`).
 * A domain is UNIQUE-NAME-RANDOM[-SUFFIX].twil.io, a blank suffix being production, and each environment has its
 * own Variables ("Functions and Assets API" page, https://www.twilio.com/docs/serverless/api, and the Variable
 * resource, https://www.twilio.com/docs/serverless/api/resource/variable).
 */
export const DEV_ENVIRONMENT = 'dev';
const PRODUCTION_FILE = '.env.prod';

/** How an environment is named in messages: its suffix, or "production" for the blank one. */
export function environmentName(suffix: string): string {
  return suffix === '' ? 'production (no domain suffix)' : suffix;
}

/** The env file of an environment (its domain suffix, '' for production) by the convention. */
export function envFileOf(suffix: string): string {
  if (suffix === DEV_ENVIRONMENT) return '.env';
  if (suffix === '' || suffix === 'prod') return PRODUCTION_FILE;
  return `.env.${suffix}`;
}

/** The environments an env file belongs to by its name, or undefined for a name outside the convention. */
function environmentsOfFile(file: string): string[] | undefined {
  const base = path.basename(file);
  if (base === '.env') return [DEV_ENVIRONMENT];
  if (base === PRODUCTION_FILE) return ['', 'prod'];
  const match = /^\.env\.([A-Za-z0-9-]+)$/.exec(base);
  return match ? [match[1]] : undefined;
}

export interface EnvFileChoice {
  /** the env file the command reads, relative to the project */
  envFile: string;
  /** true when the convention chose it (no --env given): the caller passes it to twilio-run */
  byConvention: boolean;
}

/** Refused by the convention: the message names the environment, the file and what to pass instead. */
export class EnvFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvFileError';
  }
}

/**
 * The env file a deploy, promote or env import to `suffix` reads: the one given with --env, or the convention's.
 * A given file whose name says another environment (`.env` is dev's, `.env.stage` stage's) is refused; a name
 * outside the convention (`ci/prod.env`) is the team's explicit choice and is taken. `.env.local` is never an
 * environment's: it holds the local commands' settings. The convention's file must exist, but dev's `.env` may be
 * missing (twilio-run then uploads no variables, as before).
 */
export function chooseEnvFile(projectRoot: string, suffix: string, given: string | undefined): EnvFileChoice {
  const target = environmentName(suffix);
  const expected = envFileOf(suffix);
  const convention = `(the convention in docs/deploy.md: .env for dev, .env.prod for production, .env.SUFFIX for the others)`;
  if (given === undefined) {
    if (expected !== '.env' && !fs.existsSync(path.join(projectRoot, expected))) {
      throw new EnvFileError(
        `the environment ${target} reads its variables from ${expected}, which does not exist: create it with ${target}'s variables ${convention}`,
      );
    }
    return { envFile: expected, byConvention: true };
  }
  if (path.basename(given) === '.env.local') {
    throw new EnvFileError(
      `${given} holds the settings of the local commands and is never uploaded: the environment ${target} reads ${expected} ${convention}`,
    );
  }
  const owners = environmentsOfFile(given);
  if (owners && !owners.includes(suffix)) {
    throw new EnvFileError(
      `${given} holds the variables of ${environmentName(owners[0])}, not of ${target}: pass --env ${expected}, or leave --env out ${convention}`,
    );
  }
  return { envFile: given, byConvention: false };
}
