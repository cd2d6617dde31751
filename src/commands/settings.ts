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
