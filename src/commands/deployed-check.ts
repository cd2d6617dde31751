// `npm run deployed:check -- --environment SUFFIX|ZE... [--service-sid ZS...]` or `-- --url URL`: asks a deployed
// environment's /health which build it serves and compares the answer with the build in dist/ (its identity is in
// dist/build-stamp.json), so a CI job can tell that its deploy is live before it promotes that Build. A fresh
// deployment can take a moment to answer: the check asks again until --wait runs out. The environment's domain comes
// from the Serverless API (the Environment resource's domain_name), credentials by the one rule (API_KEY +
// API_SECRET, else ACCOUNT_SID + AUTH_TOKEN; environment, .env.local, .env). Exit 0 the same build, 1 another build
// or no answer (each difference named), 2 bad arguments or configuration.
import * as path from 'node:path';
import { BuildInfo, buildInfoDifferences } from '../lib/build-info';
import { DEPLOY_INFO_FILE, DeployInfoError, findDeployedService } from '../lib/deploy-info';
import { DEFAULT_SCHEDULE, retryDelay } from '../lib/fetch/schedule';
import { resolveEnvironment, ServiceLogsError } from '../lib/report/service-logs';
import { twilioClientFrom } from '../lib/recordings/client';
import { baseUrlFrom, requireCredentials, SettingsError, wholeNumber } from '../lib/settings';
import { BuildStampError, readBuildInfo } from '../pipeline/stamp';
import { parseCommandArgs, UsageError } from './args';
import { ProcessIo, runFromProcess } from './settings';

const DEFAULT_WAIT_SECONDS = 30;
/** one request's limit: a Function answers within 10 s or the platform gives up on it (504) */
const ATTEMPT_TIMEOUT_MS = 10_000;

export const USAGE = `usage: npm run deployed:check -- --environment SUFFIX|ZE... [--service-sid ZS...] [--wait SECONDS]
       npm run deployed:check -- --url URL [--wait SECONDS]
  GETs /health of the deployed environment and compares the build it answers with the build in dist/
options:
  --environment X     domain suffix (e.g. dev, prod; "" for production) or ZE... SID; its domain is looked up
                      through the Serverless API
  --service-sid ZS... the service (default: .twiliodeployinfo, written by the last deploy)
  --url URL           the service's base URL instead (e.g. https://NAME-1234-dev.twil.io); no Twilio credentials
  --wait SECONDS      how long to keep asking while the answer differs or does not come (default ${DEFAULT_WAIT_SECONDS}, 0: once)
exit: 0 the same build, 1 another build or no answer, 2 bad arguments or configuration`;

const OPTIONS = {
  environment: { type: 'string' },
  'service-sid': { type: 'string' },
  url: { type: 'string' },
  wait: { type: 'string' },
} as const;

type Target = { url: string } | { environment: string; serviceSid?: string };

export interface Args {
  target: Target;
  waitMs: number;
}

export function parseArgs(argv: string[]): Args {
  const { values: v } = parseCommandArgs({ args: argv, options: OPTIONS });
  let waitSeconds: number;
  try {
    waitSeconds = wholeNumber('--wait', v.wait, { fallback: DEFAULT_WAIT_SECONDS, min: 0, max: 600, unit: 'seconds' });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const waitMs = waitSeconds * 1000;
  if (v.url !== undefined) {
    if (v.environment !== undefined || v['service-sid'] !== undefined)
      throw new UsageError('--url names the service itself: give it alone, or --environment instead');
    let url: string;
    try {
      url = baseUrlFrom({ '--url': v.url }, '--url');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    // /health needs no credentials; a user:password in the URL would only end up in the lines printed
    if (new URL(url).username || new URL(url).password)
      throw new UsageError('--url: give the URL without user:password');
    return { target: { url }, waitMs };
  }
  if (v.environment === undefined) throw new UsageError('which deployment? --environment or --url is needed');
  const serviceSid = v['service-sid'];
  if (serviceSid !== undefined && !/^ZS[0-9a-f]{32}$/i.test(serviceSid))
    throw new UsageError(`--service-sid: "${serviceSid}" is not a service SID (ZS and 32 hex digits)`);
  return { target: { environment: v.environment, serviceSid }, waitMs };
}

/** The service's base URL: --url as given, or https:// and the environment's domain from the Serverless API. */
async function baseUrlOf(target: Target, io: ProcessIo): Promise<string> {
  if ('url' in target) return target.url;
  const credentials = requireCredentials(io.env);
  const client = twilioClientFrom(io.env);
  let serviceSid = target.serviceSid;
  if (!serviceSid) {
    const found = await findDeployedService({
      cwd: io.cwd,
      credentials,
      region: io.env.TWILIO_REGION,
      client,
      hint: ', or pass --service-sid',
    });
    serviceSid = found.serviceSid;
    if (found.foundBy !== DEPLOY_INFO_FILE) io.err(`deployed:check: service ${serviceSid} found by ${found.foundBy}`);
  }
  // The Environment resource's domain_suffix (e.g. "prod" for `twilio-run promote --to prod`) and domain_name, "the
  // domain name for all Functions and Assets deployed in the Environment" (https://www.twilio.com/docs/serverless/api/resource/environment)
  const environment = await resolveEnvironment(client, serviceSid, target.environment);
  io.err(`deployed:check: environment ${environment.sid} of service ${serviceSid} is ${environment.domainName}`);
  // Deployed Functions are only served over https (the Environment resource's domain_name has no scheme).
  return `https://${environment.domainName}`;
}

/** One request to /health: the differences from the expected build, or why there was no usable answer. */
async function askOnce(url: string, expected: BuildInfo): Promise<string[]> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') return [`no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`];
    return [`no answer: ${e.cause?.code ?? e.cause?.message ?? e.message}`];
  }
  const text = await response.text().catch(() => '');
  if (response.status !== 200) return [`answered ${response.status} ${response.statusText}`.trim()];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [`answered 200 with a body that is not JSON: ${JSON.stringify(text.slice(0, 80))}`];
  }
  return buildInfoDifferences(expected, body);
}

export async function main(argv: string[], io: ProcessIo): Promise<number> {
  let args: Args;
  let expected: BuildInfo;
  let healthUrl: string;
  try {
    args = parseArgs(argv);
    expected = readBuildInfo(path.join(io.cwd, 'dist'), 'dist');
    healthUrl = `${await baseUrlOf(args.target, io)}/health`;
  } catch (err) {
    const usage = err instanceof UsageError ? `\n${USAGE}` : '';
    if (err instanceof ServiceLogsError && err.kind === 'api') {
      io.err(`deployed:check: ${err.message}`);
      return 1;
    }
    if (
      err instanceof UsageError ||
      err instanceof SettingsError ||
      err instanceof DeployInfoError ||
      err instanceof ServiceLogsError ||
      err instanceof BuildStampError
    ) {
      io.err(`deployed:check: ${err.message}${usage}`);
      return 2;
    }
    throw err;
  }
  const deadline = Date.now() + args.waitMs;
  for (let attempt = 0; ; attempt++) {
    const differences = await askOnce(healthUrl, expected);
    if (differences.length === 0) {
      io.out(`${healthUrl} serves the build in dist/: ${expected.name} ${expected.version} built ${expected.builtAt}`);
      return 0;
    }
    const delay = retryDelay(attempt, DEFAULT_SCHEDULE);
    if (Date.now() + delay > deadline) {
      io.err(`deployed:check: ${healthUrl} does not serve the build in dist/: ${differences.join('; ')}`);
      return 1;
    }
    io.err(`deployed:check: ${healthUrl}: ${differences.join('; ')}; asking again`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

if (require.main === module) runFromProcess(main);
