import * as fs from 'node:fs';
import * as path from 'node:path';
import type twilio from 'twilio';
import type { Manifest } from '../manifest';
import { lookupEntry, mediaUrl, stableMediaUrl } from '../media/urls';
import { DEPLOY_INFO_FILE } from '../deploy-info';
import { FlowDefinition, FlowTargets, Resolution } from './definition';

/** Ours beside it: the flows flows:deploy created, per environment SID, so the next run updates them. */
export const FLOW_INFO_FILE = '.twilioflowinfo';

/** A problem with the configuration or the arguments (exit 2), as against Twilio refusing something (exit 1). */
export class FlowsConfigError extends Error {}

export interface FlowInfo {
  [environmentSid: string]: { serviceSid: string; domainName: string; flows: Record<string, string> };
}

export function readFlowInfo(cwd: string): FlowInfo {
  const file = path.join(cwd, FLOW_INFO_FILE);
  if (!fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as FlowInfo;
  } catch {
    throw new FlowsConfigError(`${FLOW_INFO_FILE} is not valid JSON: fix it, or remove it to create the flows anew`);
  }
}

/** Written after each flow, so an interrupted run never forgets a flow it created. */
export function writeFlowInfo(cwd: string, info: FlowInfo): void {
  const file = path.join(cwd, FLOW_INFO_FILE);
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** The deployed service as Studio flows see it: its environment, domain, Functions and asset paths. */
export interface DeployedService {
  serviceSid: string;
  environmentSid: string;
  domainName: string;
  buildSid: string;
  /** route -> Function SID, from the environment's current Build */
  functionSids: Map<string, string>;
  assetPaths: Set<string>;
}

interface VersionOnBuild {
  path?: string;
  function_sid?: string;
}

/**
 * Looks the deployment up through the Serverless API as twilio-run's own `list` does: the environment (by SID, by
 * domain suffix, or else the one whose current Build is the last deployed one), its domain_name and build_sid,
 * then that Build's function_versions (path and function_sid) and asset_versions.
 */
export async function lookupDeployment(
  client: twilio.Twilio,
  serviceSid: string,
  environment: string | undefined,
  latestBuild: string | undefined,
): Promise<DeployedService> {
  const service = client.serverless.v1.services(serviceSid);
  let env: { sid: string; domainName: string; buildSid: string } | undefined;
  if (environment && /^ZE[0-9a-f]{32}$/i.test(environment)) {
    env = await service.environments(environment).fetch();
  } else {
    const all = await service.environments.list();
    if (environment !== undefined) {
      env = all.find((e) => (e.domainSuffix ?? '') === environment);
      if (!env) {
        throw new FlowsConfigError(
          `--environment: service ${serviceSid} has no environment with domain suffix "${environment}" (it has ${all.map((e) => `"${e.domainSuffix ?? ''}"`).join(', ') || 'none'})`,
        );
      }
    } else {
      env = all.find((e) => e.buildSid === latestBuild);
      if (!env) {
        throw new FlowsConfigError(
          `no environment of service ${serviceSid} runs the last deployed Build ${latestBuild} (${DEPLOY_INFO_FILE}): pass --environment SUFFIX or ZE...`,
        );
      }
    }
  }
  if (!env.buildSid) throw new FlowsConfigError(`environment ${env.sid} has nothing deployed: deploy first`);
  const build = await service.builds(env.buildSid).fetch();
  const functionSids = new Map<string, string>();
  for (const v of (build.functionVersions ?? []) as VersionOnBuild[]) {
    if (v.path && v.function_sid) functionSids.set(v.path, v.function_sid);
  }
  const assetPaths = new Set(
    ((build.assetVersions ?? []) as VersionOnBuild[]).flatMap((v) => (v.path ? [v.path] : [])),
  );
  return {
    serviceSid,
    environmentSid: env.sid,
    domainName: env.domainName,
    buildSid: env.buildSid,
    functionSids,
    assetPaths,
  };
}

/**
 * What flows may refer to once deployed: the Functions of the environment's Build, and media of the local build's
 * manifest whose versioned file that Build holds (a dist/ rebuilt after the deploy would name versions Twilio
 * does not serve, and a flow would play a 404).
 */
export function deployedTargets(deployed: DeployedService, manifest: Manifest): FlowTargets {
  return {
    hasFunction: (route) => deployed.functionSids.has(route),
    mediaProblem: (name) => {
      const entry = lookupEntry(manifest, name);
      if (!entry) return 'not in dist/ (run `npm run build`, then deploy)';
      if (entry.notMedia) return 'declared "notMedia" in media.config.json, so it has no URL';
      if (!deployed.assetPaths.has(entry.path)) {
        return `the deployed Build ${deployed.buildSid} has no ${entry.path}: dist/ changed since the deploy, deploy again`;
      }
      return undefined;
    },
  };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function resolutionOf(deployed: DeployedService, manifest: Manifest): Resolution {
  const baseUrl = `https://${deployed.domainName}`;
  const patterns = new Map<string, string>();
  for (const entry of Object.values(manifest.entries)) {
    if (entry.notMedia) continue;
    const version = `[0-9a-f]{${entry.version.length}}`;
    if (entry.visibility === 'private') {
      patterns.set(entry.name, `${escapeRegExp(stableMediaUrl(baseUrl, entry.name))}&v=${version}`);
    } else {
      const at = entry.path.lastIndexOf(entry.version);
      patterns.set(
        entry.name,
        escapeRegExp(baseUrl + entry.path.slice(0, at)) +
          version +
          escapeRegExp(entry.path.slice(at + entry.version.length)),
      );
    }
  }
  return {
    serviceSid: deployed.serviceSid,
    environmentSid: deployed.environmentSid,
    baseUrl,
    functionSids: deployed.functionSids,
    mediaUrl: (name) => mediaUrl(manifest, name, baseUrl),
    mediaUrlPatterns: patterns,
  };
}

/** Twilio's answer to a refused request, as twilio-node's RestException carries it; never the request itself. */
export function describeTwilioError(err: unknown): string {
  const e = err as { status?: number; code?: number; message?: string; details?: unknown };
  const details = e.details === undefined ? '' : ` ${JSON.stringify(e.details)}`;
  return `${e.status ? `Twilio answered ${e.status}${e.code ? ` (error ${e.code})` : ''}: ` : ''}${e.message ?? String(err)}${details}`;
}

export interface PublishedFlow {
  name: string;
  sid: string;
  status: string;
  revision: number;
  webhookUrl: string;
  created: boolean;
}

export interface PublishOptions {
  client: twilio.Twilio;
  cwd: string;
  deployed: DeployedService;
  flows: { name: string; definition: FlowDefinition }[];
  status: 'draft' | 'published';
  commitMessage: string;
  progress: (line: string) => void;
}

const friendlyNameOf = (name: string, deployed: DeployedService) => `${name} (${deployed.domainName})`;

/**
 * Validates every flow with Studio first, and changes nothing unless all pass; then updates the flow created for
 * this environment before (its SID in .twilioflowinfo) or creates one, and records its SID at once.
 */
export async function publishFlows(o: PublishOptions): Promise<{ refused: string[]; published: PublishedFlow[] }> {
  const studio = o.client.studio.v2;
  const refused: string[] = [];
  for (const flow of o.flows) {
    try {
      await studio.flowValidate.update({
        friendlyName: friendlyNameOf(flow.name, o.deployed),
        status: o.status,
        definition: flow.definition,
      });
      o.progress(`${flow.name}: valid`);
    } catch (err) {
      refused.push(`${flow.name}: Studio refused the definition: ${describeTwilioError(err)}`);
    }
  }
  if (refused.length > 0) return { refused, published: [] };

  const info = readFlowInfo(o.cwd);
  const published: PublishedFlow[] = [];
  for (const flow of o.flows) {
    const record = (info[o.deployed.environmentSid] ??= {
      serviceSid: o.deployed.serviceSid,
      domainName: o.deployed.domainName,
      flows: {},
    });
    const known = record.flows[flow.name];
    const fields = {
      friendlyName: friendlyNameOf(flow.name, o.deployed),
      status: o.status,
      definition: flow.definition,
      commitMessage: o.commitMessage,
    };
    let instance;
    let created = false;
    if (known) {
      try {
        instance = await studio.flows(known).update(fields);
      } catch (err) {
        if ((err as { status?: number }).status !== 404) throw err;
        o.progress(`${flow.name}: flow ${known} is gone from Studio (deleted in the Console?); creating it anew`);
      }
    }
    if (!instance) {
      instance = await studio.flows.create(fields);
      created = true;
    }
    record.flows[flow.name] = instance.sid;
    writeFlowInfo(o.cwd, info);
    published.push({
      name: flow.name,
      sid: instance.sid,
      status: instance.status,
      revision: instance.revision,
      webhookUrl: instance.webhookUrl,
      created,
    });
  }
  return { refused, published };
}
