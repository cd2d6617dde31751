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

/**
 * The Studio friendly name flows:deploy gives a flow in one environment: `NAME (DOMAIN)`. The environment's
 * `domain_name` is built by Twilio from the Service's unique name, a random Service suffix and the environment's
 * domain suffix (the Environment resource, https://www.twilio.com/docs/serverless/api/resource/environment), so it
 * names one environment of one service and no other: the friendly name is per environment and unique as it is, and
 * a checkout without .twilioflowinfo finds the flows earlier runs created, those made before this lookup included.
 */
export const friendlyNameOf = (name: string, deployed: Pick<DeployedService, 'domainName'>) =>
  `${name} (${deployed.domainName})`;

/**
 * Studio's flows with the given friendly names, from every page of `GET /v2/Flows` (Twilio's Flow resource page,
 * https://www.twilio.com/docs/studio/rest-api/v2/flow: the list holds `sid` and `friendly_name`, the definition
 * being null there; PageSize at most 1000, the next page in `meta.next_page_url`). Studio lets two flows share a
 * name, and the list cannot be filtered by it: every page is read. The pages go through the client's own request
 * hook, so a next page off the configured Studio origin is refused by the one rule (src/lib/http/api-origin.ts).
 */
export async function flowSidsByFriendlyName(
  client: twilio.Twilio,
  friendlyNames: readonly string[],
): Promise<Map<string, string[]>> {
  const found = new Map(friendlyNames.map((n) => [n, [] as string[]]));
  for (const flow of await client.studio.v2.flows.list({ pageSize: 1000 })) {
    found.get(flow.friendlyName)?.push(flow.sid);
  }
  return found;
}

/**
 * The SID of each flow in this environment: the one .twilioflowinfo remembers, else the one Studio holds under the
 * flow's friendly name (said on progress), else none (to be created). Two flows under one name are refused,
 * naming both: which one a number points at is not ours to guess. `gone`: remembered SIDs Studio no longer has.
 */
export async function knownFlowSids(
  o: Pick<PublishOptions, 'client' | 'cwd' | 'deployed' | 'progress'>,
  names: readonly string[],
  gone: ReadonlySet<string> = new Set(),
): Promise<{ sids: Map<string, string>; refused: string[] }> {
  const remembered = readFlowInfo(o.cwd)[o.deployed.environmentSid]?.flows ?? {};
  const sids = new Map<string, string>();
  const unknown: string[] = [];
  for (const name of names) {
    const sid = remembered[name];
    if (sid && !gone.has(sid)) sids.set(name, sid);
    else unknown.push(name);
  }
  const refused: string[] = [];
  if (unknown.length === 0) return { sids, refused };
  const byName = await flowSidsByFriendlyName(
    o.client,
    unknown.map((n) => friendlyNameOf(n, o.deployed)),
  );
  for (const name of unknown) {
    const friendlyName = friendlyNameOf(name, o.deployed);
    const matches = (byName.get(friendlyName) ?? []).filter((sid) => !gone.has(sid));
    if (matches.length > 1) {
      refused.push(
        `${name}: Studio has ${matches.length} flows named "${friendlyName}": ${matches.join(', ')}; not guessing which one to update. Delete the extra ones in the Console, or put the right SID under "${o.deployed.environmentSid}" in ${FLOW_INFO_FILE}`,
      );
    } else if (matches.length === 1) {
      sids.set(name, matches[0]);
      o.progress(
        `${name}: no SID in ${FLOW_INFO_FILE} for environment ${o.deployed.environmentSid}; found flow ${matches[0]} in Studio by its name "${friendlyName}"`,
      );
    }
  }
  return { sids, refused };
}

/**
 * Validates every flow with Studio first, and changes nothing unless all pass; then updates the flow this
 * environment already has (its SID in .twilioflowinfo, or else found in Studio by its friendly name) or creates one,
 * and records its SID at once. .twilioflowinfo is only a cache: a fresh checkout updates the same flows.
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

  // Every flow's SID before anything changes: a refusal (two flows under one name) leaves Studio as it was.
  const lookup = await knownFlowSids(
    o,
    o.flows.map((f) => f.name),
  );
  if (lookup.refused.length > 0) return { refused: lookup.refused, published: [] };

  const info = readFlowInfo(o.cwd);
  const published: PublishedFlow[] = [];
  for (const flow of o.flows) {
    const record = (info[o.deployed.environmentSid] ??= {
      serviceSid: o.deployed.serviceSid,
      domainName: o.deployed.domainName,
      flows: {},
    });
    const fields = {
      friendlyName: friendlyNameOf(flow.name, o.deployed),
      status: o.status,
      definition: flow.definition,
      commitMessage: o.commitMessage,
    };
    const update = async (sid: string) => {
      try {
        return await studio.flows(sid).update(fields);
      } catch (err) {
        if ((err as { status?: number }).status !== 404) throw err;
        o.progress(`${flow.name}: flow ${sid} is gone from Studio (deleted in the Console?)`);
        return undefined;
      }
    };
    const known = lookup.sids.get(flow.name);
    let instance = known ? await update(known) : undefined;
    if (known && !instance) {
      // the remembered flow was deleted: another one under this environment's name may still be there
      const again = await knownFlowSids(o, [flow.name], new Set([known]));
      if (again.refused.length > 0) throw new FlowsConfigError(again.refused.join('\n'));
      const other = again.sids.get(flow.name);
      if (other) instance = await update(other);
    }
    let created = false;
    if (!instance) {
      o.progress(`${flow.name}: creating it in Studio as "${fields.friendlyName}"`);
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
