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

/** The part of a twilio client the unique-name lookup uses (twilio-node's `serverless.v1.services(name).fetch()`). */
export interface ServiceFetcher {
  serverless: { v1: { services(sidOrUniqueName: string): { fetch(): Promise<{ sid: string }> } } };
}

/**
 * The Service SID for a unique name, or undefined when the account has no such Service (404). Twilio's Service
 * resource takes the unique name in place of the SID in the URL ("uniqueName ... can be used in place of the
 * Service resource's sid in the URL": https://www.twilio.com/docs/serverless/api/resource/service).
 */
export async function serviceSidByUniqueName(client: ServiceFetcher, uniqueName: string): Promise<string | undefined> {
  try {
    return (await client.serverless.v1.services(uniqueName).fetch()).sid;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return undefined;
    throw err;
  }
}

/** The unique name a deploy gives the project's Service: package.json's `name`, as twilio-run reads it. */
export function projectServiceName(cwd: string): string | undefined {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(cwd, 'package.json'), 'utf8')) as { name?: unknown };
    return typeof pkg.name === 'string' && pkg.name !== '' ? pkg.name : undefined;
  } catch {
    return undefined;
  }
}

export interface ServiceQuery {
  cwd: string;
  /** the deploy's username (Account SID or API key) and the account it belongs to */
  credentials: { username: string; accountSid?: string };
  region?: string;
  /** the unique name deploy gives the Service (--service-name); default package.json's `name` */
  uniqueName?: string;
  /** a twilio client for these credentials: the Service is looked up by its unique name through it */
  client: ServiceFetcher;
  /** ends a refusal with what else the caller accepts */
  hint?: string;
}

export interface FoundService extends DeployInfo {
  /** how it was found, for the command to say */
  foundBy: string;
}

/**
 * The Service a command works on, found as a team's checkouts need it: `.twiliodeployinfo` when it names one for
 * this account (twilio-run keys it by the Account SID even when an API key deployed through the Twilio CLI, by the
 * API key's own name in older files), else, as in a fresh checkout or a CI job whose deploy used an API key
 * (twilio-run then writes no record), by its unique name through the API. The file stays a cache: nothing here
 * writes it. A file that is not JSON is still refused, rather than silently skipped.
 */
export async function findDeployedService(query: ServiceQuery): Promise<FoundService> {
  let text: string | undefined;
  try {
    text = fs.readFileSync(path.join(query.cwd, DEPLOY_INFO_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const usernames = [...new Set([query.credentials.accountSid, query.credentials.username])].filter((u): u is string =>
    Boolean(u),
  );
  let why = '';
  for (const username of usernames.reverse()) {
    try {
      return { ...parseDeployInfo(text, username, query.region), foundBy: DEPLOY_INFO_FILE };
    } catch (err) {
      if (!(err instanceof DeployInfoError) || /not valid JSON/.test(err.message)) throw err;
      why = err.message; // the account's own key is tried last, and named
    }
  }
  const uniqueName = query.uniqueName ?? projectServiceName(query.cwd);
  if (!uniqueName) {
    throw new DeployInfoError(
      `${why}; and package.json names no Service to look up by its unique name${query.hint ?? ''}`,
    );
  }
  let serviceSid: string | undefined;
  try {
    serviceSid = await serviceSidByUniqueName(query.client, uniqueName);
  } catch (err) {
    // a network failure is said in context; Twilio's own answer (a 401...) goes to the caller as it is
    if (err instanceof Error && (err as { status?: number }).status === undefined)
      err.message = `${why}; looking the Service "${uniqueName}" up by its unique name failed: ${err.message}`;
    throw err;
  }
  if (!serviceSid) {
    throw new DeployInfoError(
      `${why}; and this account has no Service "${uniqueName}" (its unique name)${query.hint ?? ''}`,
    );
  }
  return {
    serviceSid,
    latestBuild: undefined,
    foundBy: `its unique name "${uniqueName}" through the API (${text === undefined ? `no ${DEPLOY_INFO_FILE} here` : `${DEPLOY_INFO_FILE} has no deploy for these credentials`})`,
  };
}
