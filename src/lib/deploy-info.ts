import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * twilio-run's record of the last deploy (`.twiliodeployinfo` in the project), which the Twilio CLI's plugin writes
 * the same way: a JSON object keyed `USERNAME:REGION` (the Account SID or API key, then us1 unless TWILIO_REGION
 * says otherwise; older files: `USERNAME` alone), each `{serviceSid, latestBuild}`. Looked up as twilio-run's own
 * `logs` and `list` commands do, so every command finds the service the last deploy went to.
 */
export const DEPLOY_INFO_FILE = '.twiliodeployinfo';

/** The deploy record is missing or does not name a service for these credentials: a configuration problem. */
export class DeployInfoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployInfoError';
  }
}

export interface DeployInfo {
  serviceSid: string;
  /** the Build of the last deploy; absent in a record twilio-run did not complete */
  latestBuild: string | undefined;
}

/** `hint` ends each message with what else the caller accepts (e.g. a flag naming the service). */
export function parseDeployInfo(text: string | undefined, username: string, region?: string, hint = ''): DeployInfo {
  if (text === undefined) {
    throw new DeployInfoError(
      `${DEPLOY_INFO_FILE} does not exist: deploy first (\`twilio serverless:deploy\` or \`npm run deploy\` writes it)${hint}`,
    );
  }
  let all: Record<string, { serviceSid?: unknown; latestBuild?: unknown } | undefined>;
  try {
    all = JSON.parse(text) as typeof all;
  } catch {
    throw new DeployInfoError(`${DEPLOY_INFO_FILE} is not valid JSON: delete it and deploy again${hint}`);
  }
  const key = `${username}:${region || 'us1'}`;
  const entry = all && typeof all === 'object' ? (all[key] ?? all[username]) : undefined;
  const serviceSid = entry?.serviceSid;
  if (typeof serviceSid !== 'string' || !/^ZS[0-9a-f]{32}$/i.test(serviceSid)) {
    const keys = all && typeof all === 'object' ? Object.keys(all) : [];
    throw new DeployInfoError(
      `${DEPLOY_INFO_FILE} has no deploy for ${key} (it lists ${keys.join(', ') || 'none'}): check the credentials and TWILIO_REGION, or deploy with them${hint}`,
    );
  }
  return { serviceSid, latestBuild: typeof entry?.latestBuild === 'string' ? entry.latestBuild : undefined };
}

export function readDeployInfo(cwd: string, username: string, region?: string, hint = ''): DeployInfo {
  let text: string | undefined;
  try {
    text = fs.readFileSync(path.join(cwd, DEPLOY_INFO_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return parseDeployInfo(text, username, region, hint);
}
