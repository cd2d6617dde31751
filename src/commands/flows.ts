// `npm run flows:deploy -- [NAME...] [--publish]` and `npm run flows:pull -- NAME`: the Studio flows of src/flows
// published to the deployed service with its SIDs and URLs filled in, and canvas edits pulled back as placeholders.
// Credentials by the one rule (API_KEY + API_SECRET, else ACCOUNT_SID + AUTH_TOKEN; environment, .env.local, .env).
// Progress on stderr, results on stdout. Exit 0 done, 1 Twilio refused or a flow failed its checks, 2 bad
// arguments or configuration.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FlowCheckError, formatFlow, unresolveFlow, resolveFlow, checkFlow } from '../lib/flows/definition';
import {
  DeployedService,
  deployedTargets,
  describeTwilioError,
  FlowsConfigError,
  FLOW_INFO_FILE,
  friendlyNameOf,
  knownFlowSids,
  lookupDeployment,
  publishFlows,
  resolutionOf,
} from '../lib/flows/publish';
import { DEPLOY_INFO_FILE, DeployInfoError, findDeployedService } from '../lib/deploy-info';
import { Manifest, MANIFEST_FILE_NAME, parseManifest } from '../lib/manifest';
import { twilioClientFrom } from '../lib/recordings/client';
import { requireCredentials, SettingsError } from '../lib/settings';
import { checkFlowSources, FLOWS_DIR, listFlows } from '../pipeline/flows';
import { parseCommandArgs, UsageError } from './args';
import { runFromProcess } from './settings';

export const USAGE = `usage: npm run flows:deploy -- [NAME...] [--publish] [--message TEXT] [[--service-sid ZS...] --environment SUFFIX|ZE...]
       npm run flows:pull -- NAME [[--service-sid ZS...] --environment SUFFIX|ZE...]
  deploy   validates src/flows/NAME.json (every flow without NAME) with Studio, then creates or updates each flow
           for the deployed environment, as a draft unless --publish; nothing changes when any flow is refused
  pull     writes src/flows/NAME.json from the flow's current definition in Studio, this service's URLs and SIDs
           turned back into placeholders
options:
  --publish           publish the new revision (default: a draft; the published revision keeps answering)
  --message TEXT      the revision's commit message (default: "flows:deploy of Build ZB...")
  --service-sid ZS... the service, with --environment (default: .twiliodeployinfo, written by the last deploy)
  --environment X     domain suffix (e.g. dev; "" for production) or ZE... SID (default: the environment running
                      the last deployed Build)`;

const OPTIONS = {
  publish: { type: 'boolean' },
  message: { type: 'string' },
  'service-sid': { type: 'string' },
  environment: { type: 'string' },
} as const;

export interface FlowsIo {
  env: NodeJS.ProcessEnv;
  /** the project: src/flows, dist/assets, .twiliodeployinfo and .twilioflowinfo are read from here */
  cwd: string;
  out(text: string): void;
  err(text: string): void;
}

interface Args {
  command: 'deploy' | 'pull';
  names: string[];
  publish: boolean;
  message?: string;
  serviceSid?: string;
  environment?: string;
}

export function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command !== 'deploy' && command !== 'pull')
    throw new UsageError(command ? `unknown command "${command}"` : 'a command is needed');
  const { values, positionals } = parseCommandArgs(
    {
      args: rest,
      options:
        command === 'deploy' ? OPTIONS : { 'service-sid': OPTIONS['service-sid'], environment: OPTIONS.environment },
      allowPositionals: true,
    },
    command,
  );
  const v = values as { publish?: boolean; message?: string; 'service-sid'?: string; environment?: string };
  if (command === 'pull' && positionals.length !== 1) throw new UsageError('pull takes exactly one flow NAME');
  for (const name of positionals) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name))
      throw new UsageError(`"${name}" is not a flow name (src/flows/NAME.json)`);
  }
  const serviceSid = v['service-sid'];
  if (serviceSid !== undefined && !/^ZS[0-9a-f]{32}$/i.test(serviceSid))
    throw new UsageError(`--service-sid: "${serviceSid}" is not a service SID (ZS and 32 hex digits)`);
  if (serviceSid !== undefined && v.environment === undefined)
    throw new UsageError('--service-sid needs --environment (without both, the last deploy says where)');
  return {
    command,
    names: positionals,
    publish: v.publish ?? false,
    message: v.message,
    serviceSid,
    environment: v.environment,
  };
}

/** What both commands work from once the deployment is known. */
interface Step {
  args: Args;
  io: FlowsIo;
  client: ReturnType<typeof twilioClientFrom>;
  deployed: DeployedService;
  manifest: Manifest;
}

function loadManifest(cwd: string): Manifest {
  const file = path.join(cwd, 'dist', 'assets', MANIFEST_FILE_NAME);
  if (!fs.existsSync(file))
    throw new FlowsConfigError(`dist/assets/${MANIFEST_FILE_NAME} is missing: build and deploy first`);
  return parseManifest(fs.readFileSync(file, 'utf8'), `dist/assets/${MANIFEST_FILE_NAME}`);
}

export async function main(argv: string[], io: FlowsIo): Promise<number> {
  let args: Args;
  let client: ReturnType<typeof twilioClientFrom>;
  let credentials: ReturnType<typeof requireCredentials>;
  try {
    args = parseArgs(argv);
    credentials = requireCredentials(io.env);
    client = twilioClientFrom(io.env);
  } catch (err) {
    io.err(`flows: ${(err as Error).message}${err instanceof UsageError ? `\n${USAGE}` : ''}`);
    return 2;
  }
  try {
    const target = args.serviceSid
      ? { serviceSid: args.serviceSid, latestBuild: undefined, foundBy: '--service-sid' }
      : await findDeployedService({
          cwd: io.cwd,
          credentials,
          region: io.env.TWILIO_REGION,
          client,
          hint: ', or pass --service-sid and --environment',
        });
    // a fresh checkout knows no last deploy: twilio-run's default environment, said so
    let environment = args.environment;
    if (target.foundBy !== DEPLOY_INFO_FILE && target.foundBy !== '--service-sid') {
      environment ??= 'dev';
      io.err(`Service ${target.serviceSid} found by ${target.foundBy}; environment "${environment}"`);
    }
    // --environment alone: another environment of the service the last deploy went to
    const manifest = loadManifest(io.cwd);
    const deployed = await lookupDeployment(client, target.serviceSid, environment, target.latestBuild);
    io.err(
      `Service ${deployed.serviceSid}, environment ${deployed.environmentSid} (https://${deployed.domainName}), Build ${deployed.buildSid}`,
    );
    const step = { args, io, client, deployed, manifest };
    return args.command === 'deploy' ? await deploy(step) : await pull(step);
  } catch (err) {
    if (err instanceof FlowsConfigError || err instanceof DeployInfoError || err instanceof SettingsError) {
      io.err(`flows ${args.command}: ${err.message}`);
      return 2;
    }
    if (err instanceof FlowCheckError) {
      io.err(`flows ${args.command}: ${err.message}`);
      return 1;
    }
    io.err(`flows ${args.command}: ${describeTwilioError(err)}`);
    return 1;
  }
}

async function deploy({ args, io, client, deployed, manifest }: Step): Promise<number> {
  const all = listFlows(path.join(io.cwd, FLOWS_DIR));
  const missing = args.names.filter((n) => !all.some((f) => f.name === n));
  if (missing.length > 0) {
    throw new FlowsConfigError(
      `no ${missing.map((n) => `src/flows/${n}.json`).join(', ')} (flows: ${all.map((f) => f.name).join(', ') || 'none'})`,
    );
  }
  const chosen = args.names.length > 0 ? all.filter((f) => args.names.includes(f.name)) : all;
  if (chosen.length === 0) throw new FlowsConfigError('src/flows holds no flow (NAME.json)');
  // The build's checks again, now against what this environment really serves.
  const checked = checkFlowSources(chosen, deployedTargets(deployed, manifest));
  const resolution = resolutionOf(deployed, manifest);
  const flows = checked.map((f) => ({ name: f.name, definition: resolveFlow(f.definition, resolution) }));
  const result = await publishFlows({
    client,
    cwd: io.cwd,
    deployed,
    flows,
    status: args.publish ? 'published' : 'draft',
    commitMessage: args.message ?? `flows:deploy of Build ${deployed.buildSid}`,
    progress: (line) => io.err(line),
  });
  if (result.refused.length > 0) {
    io.err(`${result.refused.join('\n')}\nNothing was changed in Studio.`);
    return 1;
  }
  for (const f of result.published) {
    io.out(
      `${f.name}: ${f.sid} ${f.status} revision ${f.revision}${f.created ? ' (created)' : ''}  webhook ${f.webhookUrl}`,
    );
  }
  io.err(
    `Flow SIDs recorded in ${FLOW_INFO_FILE}. Point a number's "A call comes in" / "A message comes in" at its flow (or its webhook URL).`,
  );
  return 0;
}

async function pull({ args, io, client, deployed, manifest }: Step): Promise<number> {
  const [name] = args.names;
  const known = await knownFlowSids({ client, cwd: io.cwd, deployed, progress: (line) => io.err(line) }, [name]);
  if (known.refused.length > 0) throw new FlowsConfigError(known.refused.join('\n'));
  const sid = known.sids.get(name);
  if (!sid) {
    throw new FlowsConfigError(
      `no flow "${name}" for environment ${deployed.environmentSid}: none in ${FLOW_INFO_FILE}, none named "${friendlyNameOf(name, deployed)}" in Studio; run flows:deploy first`,
    );
  }
  const flow = await client.studio.v2.flows(sid).fetch();
  const definition = unresolveFlow(
    flow.definition as Parameters<typeof unresolveFlow>[0],
    resolutionOf(deployed, manifest),
  );
  const text = formatFlow(definition);
  const file = path.join(io.cwd, FLOWS_DIR, `${name}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  io.out(
    `${name}: revision ${flow.revision} (${flow.status}) of ${sid} written to ${path.join(FLOWS_DIR, `${name}.json`)}`,
  );
  const { problems } = checkFlow(`${name}.json`, text, deployedTargets(deployed, manifest));
  if (problems.length > 0) {
    io.err(
      `The pulled flow does not pass the build's checks; fix it before the next build:\n  ${problems.join('\n  ')}`,
    );
    return 1;
  }
  return 0;
}

if (require.main === module) runFromProcess(main);
