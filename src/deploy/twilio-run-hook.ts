import { DEPLOY_INFO_FILE, DeployInfoError, findDeployedService, projectServiceName } from '../lib/deploy-info';
import { ForeignHostError, onApiOrigin } from '../lib/http/api-origin';
import { twilioClientFrom } from '../lib/recordings/client';
import { CredentialEnv, credentialsWithSource, CREDENTIALS_LOOKED_FOR, SettingsError } from '../lib/settings';
import { chooseEnvFile, environmentName, EnvFileChoice } from './environments';
import { readTwilioRunFlags, targetEnvironment, textFlag, TwilioRunCommand } from './twilio-run-flags';
import { DEPLOY_CREDENTIALS, deployVariableProblems, uploadedVariables, uploadProblems } from './variables';

/**
 * What .twilioserverlessrc.js runs inside twilio-run (the project's twilio-run 5, or the 3.x the Twilio CLI's plugin
 * bundles) for deploy, promote and env: the env-file convention, the one credential rule and the checks that must see
 * what twilio-run has read.
 *
 * Why a hook rather than settings returned by the config getters: twilio-run drops `username` and `password` from
 * any config file (EXCLUDED_FLAGS in its config/global.js, both versions), so a getter cannot hand it credentials,
 * and it reads only ACCOUNT_SID/AUTH_TOKEN of the env file or --username/--password (twilio-cli #586,
 * https://github.com/twilio/twilio-cli/issues/586). Every command's config reader calls its
 * `getCredentialsFromFlags(flags, envFileVariables, externalCliOptions)` once, after reading the env file and before
 * any request, with the flags object it then reads `serviceSid` and `buildSid` from: wrapping that one function is
 * the single place where credentials, the Service and the Build can be settled and the variables checked, and a
 * throw there ends the command with its message before anything is written at Twilio (each command's handler logs
 * the message of a failed getConfigFromFlags and exits 1).
 */

type Mode = 'deploy' | 'promote' | 'env';
type Flags = Record<string, unknown>;
interface CliOptions {
  username: string;
  password: string;
  accountSid?: string;
}
type GetCredentials = (
  flags: Flags,
  envVariables: Record<string, string>,
  external?: CliOptions,
) => Promise<{ username: string; password: string }>;

const CREDENTIALS_MODULE = /[\\/]twilio-run[\\/]dist[\\/]config[\\/]utils[\\/]credentials\.js$/;
const HOOKED = Symbol.for('twilio-media-assets.credentials-hook');
const PAGINATION_MODULE = /[\\/]@twilio-labs[\\/]serverless-api[\\/]dist[\\/]api[\\/]utils[\\/]pagination\.js$/;
const PAGINATION_HOOKED = Symbol.for('twilio-media-assets.pagination-hook');

/** serverless-api's client as its getPaginatedResource uses it (TwilioServerlessApiClient, dist/client.js). */
interface ServerlessApiClient {
  request(method: string, url: string, options?: unknown): Promise<unknown>;
  getClient(): { defaults: { options: { prefixUrl: string } } };
}
type GetPaginatedResource = (client: ServerlessApiClient, url: string, options?: unknown) => Promise<unknown[]>;

const state: {
  mode?: Mode;
  projectRoot?: string;
  /** the env subcommand prepare() read from the arguments (`env import`, `serverless:env:set`...) */
  envCommand?: 'import' | 'set';
  envChoice?: EnvFileChoice;
} = {};

/** How a refusal starts, by command: it says that nothing reached Twilio. */
const REFUSED: Record<Mode, string> = {
  deploy: 'Deploy refused, nothing was uploaded',
  promote: 'Promote refused, nothing was changed at Twilio',
  env: 'Refused, no variable was written',
};

/** A refusal twilio-run prints as its error (one message, each problem on its own line). */
function refusal(mode: Mode, problems: string[]): Error {
  return new Error(`${REFUSED[mode]}:\n${problems.map((p) => `- ${p}`).join('\n')}`);
}

/** twilio-run's env subcommand in these arguments (`env import`, `serverless:env:import`...), if any. */
function envSubcommand(argv: readonly string[]): 'import' | 'set' | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const joined = /^(?:serverless:)?env:(\w+)$/.exec(argv[i])?.[1] ?? (argv[i] === 'env' ? argv[i + 1] : undefined);
    if (joined === 'import' || joined === 'set') return joined;
    if (joined) return undefined;
  }
  return undefined;
}

/**
 * Run by the config getter of `mode` before twilio-run reads anything else: settles the env file by the convention
 * (src/deploy/environments.ts), refusing one that belongs to another environment, and installs the hook. Returns
 * the settings the getter adds (`env` when the convention chose the file).
 */
export function prepare(mode: Mode, projectRoot: string, argv: readonly string[]): { env?: string } {
  state.mode = mode;
  state.projectRoot = projectRoot;
  state.envCommand = mode === 'env' ? envSubcommand(argv) : undefined;
  const command: TwilioRunCommand | undefined =
    mode === 'env' ? (state.envCommand === 'import' ? 'env import' : undefined) : mode;
  installHook(mode);
  if (!command) return {};
  let choice: EnvFileChoice;
  try {
    const flags = readTwilioRunFlags(argv, command);
    const suffix = targetEnvironment(flags);
    const given = textFlag(flags, 'env');
    if (/^ZE[0-9a-f]{32}$/i.test(suffix)) {
      if (given === undefined)
        throw new Error(`an environment given by SID (${suffix}) has no env file by the convention: pass --env FILE`);
      choice = { envFile: given, byConvention: false };
    } else choice = chooseEnvFile(projectRoot, suffix, given);
  } catch (err) {
    throw refusal(mode, [(err as Error).message]);
  }
  state.envChoice = choice;
  if (choice.byConvention) process.stderr.write(`Variables from ${choice.envFile} (the environment's env file)\n`);
  return choice.byConvention ? { env: choice.envFile } : {};
}

/** Wraps getCredentialsFromFlags in every twilio-run loaded in this process; the project's checks need it. */
function installHook(mode: Mode): void {
  const modules = Object.values(require.cache).filter((m) => m && CREDENTIALS_MODULE.test(m.id));
  if (modules.length === 0) {
    throw refusal(mode, [
      "the project's checks could not attach to this twilio-run (its dist/config/utils/credentials.js is not loaded: a layout the project does not know): use the project's own twilio-run (`npm run deploy`, `npm run promote`), or update src/deploy/twilio-run-hook.ts for this version",
    ]);
  }
  guardPagination(mode);
  for (const m of modules) {
    const exports = m!.exports as { getCredentialsFromFlags: GetCredentials; [HOOKED]?: boolean };
    if (exports[HOOKED]) continue;
    const original = exports.getCredentialsFromFlags;
    exports.getCredentialsFromFlags = (flags, envVariables, external) =>
      hooked(original, flags, envVariables, external);
    exports[HOOKED] = true;
  }
}

/**
 * The one origin rule (src/lib/http/api-origin.ts) for @twilio-labs/serverless-api, the client of every twilio-run
 * command the project hooks (twilio-run 5 and the plugin's 3.x load the same single copy). Its getPaginatedResource
 * (dist/api/utils/pagination.js) requests each list's `meta.next_page_url` as given, Basic auth included, on any
 * host; its callers read it from the module's exports at each call (`(0, pagination_1.getPaginatedResource)(...)`),
 * so a wrapped export sees every page. The wrapper hands the original a client whose request() checks each URL
 * against the client's own API origin before sending; and since the original ends a list quietly at a failed later
 * page (its catch: "if the first request failed, throw error", else break), a refusal is thrown again once it
 * returns, so the command fails naming the host instead of working on a cut-short list.
 */
function guardPagination(mode: Mode): void {
  const modules = Object.values(require.cache).filter((m) => m && PAGINATION_MODULE.test(m.id));
  if (modules.length === 0) {
    throw refusal(mode, [
      "the project's checks could not attach to this twilio-run's @twilio-labs/serverless-api (its dist/api/utils/pagination.js is not loaded: a layout the project does not know): use the project's own twilio-run (`npm run deploy`, `npm run promote`), or update src/deploy/twilio-run-hook.ts for this version",
    ]);
  }
  for (const m of modules) {
    const exports = m!.exports as { getPaginatedResource: GetPaginatedResource; [PAGINATION_HOOKED]?: boolean };
    if (exports[PAGINATION_HOOKED]) continue;
    const original = exports.getPaginatedResource;
    exports.getPaginatedResource = async (client, url, options) => {
      const prefixUrl = client.getClient().defaults.options.prefixUrl;
      let refused: ForeignHostError | undefined;
      const guarded = Object.create(client) as ServerlessApiClient;
      guarded.request = (method, target, requestOptions) => {
        try {
          // pagination.js's own test: a URL starting with "http" is sent as is, anything else under prefixUrl
          onApiOrigin(target.startsWith('http') ? target : `${prefixUrl}${target}`, [prefixUrl]);
        } catch (err) {
          refused = err as ForeignHostError;
          return Promise.reject(refused);
        }
        return client.request(method, target, requestOptions);
      };
      const result = await original(guarded, url, options);
      if (refused) throw refused;
      return result;
    };
    exports[PAGINATION_HOOKED] = true;
  }
}

/** The names of the credential rule: TWILIO_* from the process environment, the others from the env file. */
const ENV_FILE_CREDENTIALS = ['ACCOUNT_SID', 'AUTH_TOKEN', 'API_KEY', 'API_SECRET'] as const;

interface Resolved {
  username: string;
  password: string;
  accountSid?: string;
  /** where they came from, for the log line */
  from: string;
}

/**
 * The precedence documented once in docs/deploy.md ("Credentials"): explicit flags (--username/--password, or the
 * Twilio CLI's own: its flags, profile and TWILIO_* variables); then TWILIO_ACCOUNT_SID with TWILIO_API_KEY and
 * TWILIO_API_SECRET from the environment; then ACCOUNT_SID with API_KEY and API_SECRET or AUTH_TOKEN from the env
 * file. The last two are the project's one rule (credentialsWithSource).
 */
async function resolveCredentials(
  original: GetCredentials,
  flags: Flags,
  envVariables: Record<string, string>,
  external: CliOptions | undefined,
): Promise<Resolved> {
  const env: CredentialEnv = {};
  for (const name of DEPLOY_CREDENTIALS) env[name as keyof CredentialEnv] = process.env[name];
  for (const name of ENV_FILE_CREDENTIALS) env[name] = envVariables[name];
  if (flags.username || flags.password || external) {
    const given = await original(flags, envVariables, external);
    let ruleAccount: string | undefined;
    try {
      ruleAccount = credentialsWithSource(env)?.accountSid;
    } catch {
      ruleAccount = undefined; // the flags win; the rule only names the account an API key flag belongs to
    }
    const accountSid = given.username.startsWith('AC') ? given.username : (external?.accountSid ?? ruleAccount);
    return { ...given, accountSid, from: external ? "the Twilio CLI's credentials" : '--username and --password' };
  }
  let rule;
  try {
    rule = credentialsWithSource(env);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    throw new Error(`Twilio credentials refused: ${err.message} (looked for ${CREDENTIALS_LOOKED_FOR})`, {
      cause: err,
    });
  }
  if (!rule) throw new Error(`Missing Twilio credentials: looked for ${CREDENTIALS_LOOKED_FOR}`);
  const kind = rule.kind === 'API_KEY' ? 'API key' : 'Auth Token';
  const where = rule.from === 'TWILIO_*' ? 'TWILIO_* in the environment' : 'the env file';
  return {
    username: rule.username,
    password: rule.password,
    accountSid: rule.accountSid,
    from: `${kind} from ${where}`,
  };
}

function clientFor(credentials: Resolved) {
  if (!credentials.accountSid) {
    throw new Error(
      `the API key ${credentials.username.slice(0, 6)}... needs the account it belongs to: set TWILIO_ACCOUNT_SID (or ACCOUNT_SID in the env file)`,
    );
  }
  const env: Record<string, string | undefined> = {
    ACCOUNT_SID: credentials.accountSid,
    TWILIO_SERVERLESS_BASE_URL: process.env.TWILIO_SERVERLESS_BASE_URL,
  };
  if (credentials.username.startsWith('AC')) env.AUTH_TOKEN = credentials.password;
  else Object.assign(env, { API_KEY: credentials.username, API_SECRET: credentials.password });
  return twilioClientFrom(env);
}

/** The unique name a deploy gives the Service: --service-name, else package.json's name (as twilio-run reads it). */
function serviceUniqueName(flags: Flags, cwd: string): string | undefined {
  return typeof flags.serviceName === 'string' && flags.serviceName ? flags.serviceName : projectServiceName(cwd);
}

async function hooked(
  original: GetCredentials,
  flags: Flags,
  envVariables: Record<string, string>,
  external: CliOptions | undefined,
): Promise<{ username: string; password: string }> {
  const mode = state.mode ?? 'deploy';
  const credentials = await resolveCredentials(original, flags, envVariables, external);
  process.stderr.write(`Twilio credentials: ${credentials.from} (${credentials.username.slice(0, 6)}...)\n`);
  const cwd = typeof flags.cwd === 'string' ? flags.cwd : (state.projectRoot ?? process.cwd());
  if (mode === 'env') envChecks(flags, envVariables);
  try {
    if (mode === 'promote') await promoteChecks(flags, envVariables, credentials, cwd);
    else if (!flags.serviceSid) await settleService(flags, credentials, cwd, false);
  } catch (err) {
    // the first request with these credentials: a refusal says which ones, and where else they could come from
    if ((err as { status?: number }).status !== 401) throw err;
    throw new Error(
      `Twilio refused the credentials (${credentials.from}, ${credentials.username.slice(0, 6)}...): 401 ${(err as Error).message}. Looked for ${CREDENTIALS_LOOKED_FOR}`,
      { cause: err },
    );
  }
  return { username: credentials.username, password: credentials.password };
}

/**
 * Sets flags.serviceSid when twilio-run would not find the Service itself: with an API key as username twilio-run
 * writes no .twiliodeployinfo, so a second deploy would try to create the Service again ("already exists") and
 * promote would find none. `required`: refuse when there is no such Service (promote), rather than let the deploy
 * create it.
 */
async function settleService(flags: Flags, credentials: Resolved, cwd: string, required: boolean): Promise<string> {
  const uniqueName = serviceUniqueName(flags, cwd);
  // an API key given by flag alone names no account: a deploy then finds its Service as twilio-run does, or creates it
  if (!required && !credentials.accountSid) return '';
  const client = clientFor(credentials);
  try {
    const found = await findDeployedService({
      cwd,
      credentials,
      region: typeof flags.region === 'string' ? flags.region : undefined,
      uniqueName,
      client,
      hint: ', or pass --service-sid',
    });
    if (found.foundBy !== DEPLOY_INFO_FILE)
      process.stderr.write(`Service ${found.serviceSid} found by ${found.foundBy}\n`);
    flags.serviceSid = found.serviceSid;
    return found.serviceSid;
  } catch (err) {
    if (err instanceof DeployInfoError && !required) return '';
    throw err;
  }
}

/** `env import` uploads the env file, `env set` one variable: each checked as a deploy checks its variables. */
function envChecks(flags: Flags, envVariables: Record<string, string>): void {
  const sub = state.envCommand;
  let problems: string[] = [];
  if (sub === 'import') {
    const envFile = state.envChoice?.envFile ?? '.env';
    problems = uploadProblems(uploadedVariables(envVariables), envFile);
  } else if (sub === 'set') {
    const key = typeof flags.key === 'string' ? flags.key : '';
    const value = typeof flags.value === 'string' ? flags.value : String(flags.value);
    problems = deployVariableProblems({ [key]: value }, '--key');
  }
  if (problems.length > 0) throw refusal('env', problems);
}

/**
 * The preflight of a promote, before twilio-run sets a variable: the target's env file checked as a deploy checks
 * .env (only Function variables, Twilio's limits, a media store a deployed Function can use), the Service found, and
 * the Build to activate named and still there. A Deployment of an existing Build SID on another environment is
 * how a Build is promoted ("Deployments let you set a particular Build to be live on a particular Environment":
 * https://www.twilio.com/docs/serverless/api/resource/deployment), with no new upload; a Build with no active
 * Deployment is deleted after 24 hours (the Build resource, https://www.twilio.com/docs/serverless/api/resource/build),
 * and serverless-api's activateBuild writes the variables before it creates the Deployment, so a Build that is gone
 * must be refused here or the target would get the variables and keep its old Build. twilio-run is then handed the
 * Build SID checked here (flags.buildSid), so exactly that Build is activated.
 */
async function promoteChecks(
  flags: Flags,
  envVariables: Record<string, string>,
  credentials: Resolved,
  cwd: string,
): Promise<void> {
  const envFile = state.envChoice?.envFile ?? (typeof flags.env === 'string' ? flags.env : '.env');
  const upload = uploadedVariables(envVariables);
  const problems = uploadProblems(upload, envFile);
  if (problems.length > 0) throw refusal('promote', problems);

  const target = typeof flags.environment === 'string' ? flags.environment : 'dev';
  const source = typeof flags.sourceEnvironment === 'string' ? flags.sourceEnvironment : undefined;
  let buildSid = typeof flags.buildSid === 'string' ? flags.buildSid : undefined;
  if (!buildSid && !source) {
    throw refusal('promote', [
      'name the Build to promote: --from SOURCE_ENVIRONMENT (e.g. --from dev) or --build-sid ZB...',
    ]);
  }
  const serviceSid = (flags.serviceSid as string | undefined) || (await settleService(flags, credentials, cwd, true));
  const service = clientFor(credentials).serverless.v1.services(serviceSid);
  if (!buildSid) {
    const environments = await service.environments.list();
    const from = environments.find((e) => e.sid === source || e.domainSuffix === source);
    if (!from) {
      throw refusal('promote', [
        `the service has no environment "${source}" to promote from (it has ${environments.map((e) => e.domainSuffix || '(production)').join(', ') || 'none'})`,
      ]);
    }
    if (!from.buildSid) throw refusal('promote', [`the environment ${source} has no deployed Build to promote`]);
    buildSid = from.buildSid;
  }
  try {
    const build = await service.builds(buildSid).fetch();
    if (build.status !== 'completed') throw refusal('promote', [`Build ${buildSid} is ${build.status}, not completed`]);
  } catch (err) {
    if ((err as { status?: number }).status !== 404) throw err;
    throw refusal('promote', [
      `Build ${buildSid}${source ? ` (${source}'s)` : ''} no longer exists at Twilio: a Build with no active Deployment is deleted after 24 hours. Deploy it again, then promote`,
    ]);
  }
  flags.buildSid = buildSid;
  flags.serviceSid = serviceSid;
  process.stderr.write(
    `Promoting Build ${buildSid}${source ? ` (${source}'s)` : ''} to ${environmentName(target)} with the ${Object.keys(upload).length} checked variables of ${envFile}\n`,
  );
}
