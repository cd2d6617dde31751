import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Settings and secrets of the commands run on this machine (S3 and AWS keys, the archive, the local port...).
 * Nothing reads it when deploying, so nothing in it reaches a Function's environment.
 */
const LOCAL_ENV_FILE = '.env.local';

/**
 * The local commands read the environment first, then `.env.local`, then `.env` (the Functions' variables, which
 * also holds ACCOUNT_SID and AUTH_TOKEN): a variable already set wins, as with process.loadEnvFile.
 */
export function loadLocalSettings(cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): void {
  for (const file of [LOCAL_ENV_FILE, '.env']) {
    const full = path.join(cwd, file);
    if (!fs.existsSync(full)) continue;
    for (const [key, value] of Object.entries(parseEnv(fs.readFileSync(full, 'utf8')))) {
      if (env[key] === undefined && value !== undefined) env[key] = value;
    }
  }
}

/** What a command's main is given: its environment, its folder, and where its lines go. */
export interface ProcessIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * Runs a command's main as `npm run` starts it: the local settings loaded, lines to stdout and stderr, and the
 * process's exit code from main's answer (tests call main directly with their own io).
 */
export function runFromProcess(main: (argv: string[], io: ProcessIo) => Promise<number>): void {
  loadLocalSettings();
  void main(process.argv.slice(2), {
    env: process.env,
    cwd: process.cwd(),
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  }).then((code) => process.exit(code));
}
