import { createHash } from 'node:crypto';
import type * as http from 'node:http';
import { FakeHost, startFakeHost } from './fake-host';

/**
 * What Twilio's platform accepts, copied here from Twilio's pages and kept apart from the project's own lists
 * (src/deploy/platform.ts): the fake refuses by these, so a wrong list in the product fails a test instead of
 * agreeing with the fake by construction.
 */
export const TWILIO_PLATFORM = {
  /** "Runtime Handler" page, table "Versions": https://www.twilio.com/docs/serverless/functions-assets/handler */
  handlerVersions: ['2.1.2', '2.0.1', '2.0.0', '1.3.1', '1.3.0', '1.2.5', '1.2.4', '1.2.3', '1.2.2', '1.2.1', '1.2.0'],
  /**
   * Twilio's "Functions and Assets Node.js v22 Upgrade" page (node18 Builds refused with 82007 after 2025-11-10)
   * and its changelog entry "Node.js v24 is now available for Twilio Functions" (2026-07-08)
   */
  runtimes: ['node22', 'node24'],
  /** the Serverless API's Variable resource (Key at most 128 characters, Value at most 450 bytes):
   * https://www.twilio.com/docs/serverless/api/resource/variable */
  variableKeyChars: 128,
  variableValueBytes: 450,
} as const;

const RUNTIME_HANDLER = '@twilio/runtime-handler';

/**
 * The one account the fake knows, and an API key of it. Twilio's API takes HTTP Basic with the Account SID and
 * its Auth Token, or with an API key's SID (SK...) and its secret, the recommended one ("Twilio API requests",
 * Authentication: https://www.twilio.com/docs/usage/requests-to-twilio); anything else is 401 with error 20003.
 */
export const FAKE_ACCOUNT = {
  sid: 'AC00000000000000000000000000000000',
  authToken: 'test-token',
  apiKey: `SK${'5'.repeat(32)}`,
  apiSecret: 'api-key-secret',
} as const;

/** The Authorization header of the fake's account, for a test that reads the fake's state over HTTP. */
export const FAKE_AUTHORIZATION = `Basic ${Buffer.from(`${FAKE_ACCOUNT.sid}:${FAKE_ACCOUNT.authToken}`).toString('base64')}`;

export interface Upload {
  kind: 'Functions' | 'Assets';
  path: string;
  visibility: string;
  bytes: number;
  sha256: string;
}

export interface BuildRequest {
  dependencies: { name: string; version: string }[];
  /** the Runtime parameter as sent; undefined when none was */
  runtime: string | undefined;
  functionVersions: string[];
  assetVersions: string[];
}

export interface FakeEnvironment {
  sid: string;
  unique_name: string;
  domain_suffix: string;
  domain_name: string;
  build_sid: string | null;
  /** this environment's variables as set, by key (each environment has its own: the Variable resource) */
  variables: Map<string, string>;
  /** the Build SID of each Deployment made on it, in order */
  deployments: string[];
}

export interface FakeServerlessApi {
  url: string;
  /** `METHOD host path` of every request, in order */
  requests: string[];
  /** the Basic auth username of every request, in the order of `requests` ('' when none) */
  usernames: string[];
  uploads: Upload[];
  builds: BuildRequest[];
  /** the SID given to each accepted Build, in order */
  buildSids: string[];
  /** the dev environment's variables as set, by key (empty until dev exists) */
  variables: Map<string, string>;
  /** Deployments made, on every environment */
  deployments: number;
  /** an environment of the first service by domain suffix ('' for production), if it exists */
  environment(suffix: string): FakeEnvironment | undefined;
  /** the `meta.next_page_url` each list names, by its key ('functions', 'variables'...): none unless a test sets one */
  nextPages: Map<string, string>;
  /** Twilio deletes a Build with no active Deployment after 24 hours: from now on it answers 404 */
  expireBuild(buildSid: string): void;
  /** a service that exists before the test, e.g. last built on a runtime Twilio no longer accepts */
  addService(uniqueName: string, lastRuntime: string): string;
  close(): Promise<void>;
}

interface Service {
  sid: string;
  uniqueName: string;
  lastRuntime: string | undefined;
  environments: FakeEnvironment[];
  functions: { sid: string; friendly_name: string }[];
  assets: { sid: string; friendly_name: string }[];
}

type Answer = [status: number, body: unknown];

/** Twilio's error body. */
function refusal(code: number, message: string): Answer {
  return [400, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status: 400 }];
}

/**
 * The Serverless API as a deploy by twilio-run (through @twilio-labs/serverless-api) uses it, on loopback, with
 * the platform's refusals that twilio-run does not check: a Build naming a runtime-handler version Twilio does
 * not list, or a range (400, 20001); a Build whose runtime, sent or inherited from the service's last Build, is
 * not supported (400, 82007); a variable over 450 bytes or a key over 128 characters (400, 82006), by its own
 * copy of Twilio's lists (TWILIO_PLATFORM above).
 * Requests reach it from a `twilio-run deploy` child through serverless-api-redirect.cjs, which keeps the
 * original host in `x-original-host`.
 */
export async function startFakeServerlessApi(): Promise<FakeServerlessApi> {
  let counter = 0;
  const sid = (prefix: string) => `${prefix}${String(++counter).padStart(32, '0')}`;
  const services: Service[] = [];
  const requests: string[] = [];
  const uploads: Upload[] = [];
  const builds: BuildRequest[] = [];
  const buildSids: string[] = [];
  const expired = new Set<string>();
  const usernames: string[] = [];
  const variableSids = new Map<string, string>();
  const versions = new Map<string, Upload>();
  const api = { deployments: 0 };
  const deployed = deployedBuilds();
  const nextPages = new Map<string, string>();
  const page = (key: string, items: unknown[]) => ({
    meta: { key, next_page_url: nextPages.get(key) ?? null, page: 0, page_size: 50 },
    [key]: items,
  });

  const serviceResource = (s: Service) => ({ sid: s.sid, unique_name: s.uniqueName, friendly_name: s.uniqueName });
  const environmentResource = ({ variables: _v, deployments: _d, ...resource }: FakeEnvironment) => resource;
  const knownBuild = (buildSid: string) => buildSids.includes(buildSid) && !expired.has(buildSid);
  const notFound = (what: string, which: string): Answer => [
    404,
    { code: 20404, message: `The requested resource ${what} ${which} was not found`, status: 404 },
  ];

  function build(s: Service, form: URLSearchParams): Answer {
    const raw = form.get('Dependencies');
    // serverless-api sends the JSON list wrapped in one more pair of quotes
    const dependencies = raw ? (JSON.parse(raw.replace(/^"([\s\S]*)"$/, '$1')) as BuildRequest['dependencies']) : [];
    const request: BuildRequest = {
      dependencies,
      runtime: form.get('Runtime') ?? undefined,
      functionVersions: form.getAll('FunctionVersions'),
      assetVersions: form.getAll('AssetVersions'),
    };
    builds.push(request);
    const handler = dependencies.find((d) => d.name === RUNTIME_HANDLER);
    if (handler && !(TWILIO_PLATFORM.handlerVersions as readonly string[]).includes(handler.version)) {
      return refusal(
        20001,
        `Some dependencies could not be validated. No matching version found for ${handler.name}@${handler.version}`,
      );
    }
    const runtime = request.runtime ?? s.lastRuntime ?? 'node22';
    if (!(TWILIO_PLATFORM.runtimes as readonly string[]).includes(runtime))
      return refusal(82007, `Unsupported Runtime: ${runtime}`);
    for (const v of [...request.functionVersions, ...request.assetVersions]) {
      if (!versions.has(v)) return [404, { code: 20404, message: `version ${v} not found`, status: 404 }];
    }
    s.lastRuntime = runtime;
    const buildSid = sid('ZB');
    buildSids.push(buildSid);
    deployed.recordBuild(buildSid, request);
    return [201, { sid: buildSid, status: 'building', runtime }];
  }

  function setVariable(env: FakeEnvironment, form: URLSearchParams, existingSid: string | null): Answer {
    const variables = env.variables;
    const name =
      (existingSid && [...variableSids].find(([k, v]) => v === existingSid && k.startsWith(env.sid))?.[0]?.slice(34)) ||
      (form.get('Key') ?? '');
    const value = form.get('Value') ?? '';
    if (name.length > TWILIO_PLATFORM.variableKeyChars)
      return refusal(82006, `Variable key longer than ${TWILIO_PLATFORM.variableKeyChars} characters`);
    if (Buffer.byteLength(value, 'utf8') > TWILIO_PLATFORM.variableValueBytes) {
      return refusal(82006, `Variable value of ${name} is larger than ${TWILIO_PLATFORM.variableValueBytes} bytes`);
    }
    variables.set(name, value);
    const key = `${env.sid}${name}`;
    if (!variableSids.has(key)) variableSids.set(key, sid('ZV'));
    return [201, { sid: variableSids.get(key), key: name, value }];
  }

  async function upload(kind: Upload['kind'], req: http.IncomingMessage, body: Buffer): Promise<Answer> {
    const form = await new Response(body, {
      headers: { 'content-type': req.headers['content-type'] ?? '' },
    }).formData();
    const content = form.get('Content');
    const bytes =
      content instanceof Blob ? Buffer.from(await content.arrayBuffer()) : Buffer.from(String(content ?? ''));
    const record: Upload = {
      kind,
      path: formText(form, 'Path'),
      visibility: formText(form, 'Visibility'),
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    uploads.push(record);
    const versionSid = sid('ZN');
    versions.set(versionSid, record);
    return [201, { sid: versionSid, path: record.path, visibility: record.visibility }];
  }

  async function answer(req: http.IncomingMessage, body: Buffer): Promise<Answer> {
    const method = req.method ?? '';
    const host = String(req.headers['x-original-host'] ?? 'serverless.twilio.com');
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${method} ${host} ${url.pathname}`);
    const [username, password] = basicAuth(req.headers.authorization);
    usernames.push(username);
    const accepted =
      (username === FAKE_ACCOUNT.sid && password === FAKE_ACCOUNT.authToken) ||
      (username === FAKE_ACCOUNT.apiKey && password === FAKE_ACCOUNT.apiSecret);
    if (!accepted) {
      return [
        401,
        { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 },
      ];
    }
    const form = new URLSearchParams(
      method === 'POST' && !/multipart/.test(String(req.headers['content-type'])) ? body.toString('utf8') : '',
    );
    const parts = url.pathname.split('/').filter(Boolean); // v1, Services, ZS.., ...
    if (parts[0] !== 'v1' || parts[1] !== 'Services') return [404, { message: `unexpected ${method} ${url.pathname}` }];
    if (parts.length === 2) {
      if (method === 'GET') return [200, page('services', services.map(serviceResource))];
      const uniqueName = form.get('UniqueName') ?? '';
      if (services.some((s) => s.uniqueName === uniqueName))
        return [409, { code: 54301, message: 'Unique name already in use', status: 409 }];
      const created: Service = {
        sid: sid('ZS'),
        uniqueName,
        lastRuntime: undefined,
        environments: [],
        functions: [],
        assets: [],
      };
      services.push(created);
      return [201, serviceResource(created)];
    }
    // a Service's unique name can stand in for its SID in the URL (the Service resource page)
    const s = services.find((x) => x.sid === parts[2] || x.uniqueName === parts[2]);
    if (!s) return [404, { code: 20404, message: `service ${parts[2]} not found`, status: 404 }];
    const rest = parts.slice(3);
    const route = `${method} ${rest.map((p) => (/^Z[A-Z][0-9a-f]{32}$/.test(p) ? ':sid' : p)).join('/')}`;
    switch (route) {
      case 'GET ':
        return [200, serviceResource(s)];
      case 'GET Environments':
        return [200, page('environments', s.environments.map(environmentResource))];
      case 'POST Environments': {
        const suffix = form.get('DomainSuffix') ?? '';
        const env: FakeEnvironment = {
          sid: sid('ZE'),
          unique_name: form.get('UniqueName') ?? '',
          domain_suffix: suffix,
          domain_name: `${s.uniqueName}-1234${suffix ? `-${suffix}` : ''}.twil.io`,
          build_sid: null,
          variables: new Map(),
          deployments: [],
        };
        s.environments.push(env);
        return [201, environmentResource(env)];
      }
      case 'GET Functions':
        return [200, page('functions', s.functions)];
      case 'GET Assets':
        return [200, page('assets', s.assets)];
      case 'POST Functions':
      case 'POST Assets': {
        const resource = { sid: sid('ZH'), friendly_name: form.get('FriendlyName') ?? '' };
        (rest[0] === 'Functions' ? s.functions : s.assets).push(resource);
        return [201, resource];
      }
      case 'POST Functions/:sid/Versions':
      case 'POST Assets/:sid/Versions': {
        if (host !== 'serverless-upload.twilio.com')
          return [404, { message: `uploads go to serverless-upload, not ${host}` }];
        const answered = await upload(rest[0] as Upload['kind'], req, body);
        deployed.recordVersion(answered, rest[1], versions);
        return answered;
      }
      case 'POST Builds':
        return build(s, form);
      case 'GET Builds/:sid/Status':
        if (!knownBuild(rest[1])) return notFound('build', rest[1]);
        return [200, { sid: rest[1], status: 'completed' }];
      case 'GET Builds/:sid':
        if (!knownBuild(rest[1])) return notFound('build', rest[1]);
        return [200, { sid: rest[1], status: 'completed', runtime: s.lastRuntime, ...deployed.versionsOf(rest[1]) }];
      case 'GET Environments/:sid': {
        const env = s.environments.find((e) => e.sid === rest[1]);
        return env ? [200, environmentResource(env)] : notFound('environment', rest[1]);
      }
    }
    const env = s.environments.find((e) => e.sid === rest[1]);
    if (rest[0] === 'Environments' && !env) return notFound('environment', rest[1]);
    switch (env && route) {
      case 'GET Environments/:sid/Variables':
        return [
          200,
          page(
            'variables',
            [...env!.variables].map(([key, value]) => ({ sid: variableSids.get(`${env!.sid}${key}`), key, value })),
          ),
        ];
      case 'POST Environments/:sid/Variables':
        return setVariable(env!, form, null);
      case 'POST Environments/:sid/Variables/:sid':
        return setVariable(env!, form, rest[3]);
      case 'POST Environments/:sid/Deployments': {
        // a Deployment names an existing Build: one Twilio deleted is not found
        const buildSid = form.get('BuildSid') ?? '';
        if (!knownBuild(buildSid)) return notFound('build', buildSid);
        api.deployments += 1;
        env!.deployments.push(buildSid);
        deployed.activate(s, rest[1], buildSid);
        return [201, { sid: sid('ZD'), build_sid: buildSid, environment_sid: env!.sid }];
      }
      default:
        return [404, { message: `unexpected ${method} ${url.pathname}` }];
    }
  }

  const host: FakeHost = await startFakeHost(async (req, res, body) => {
    const [status, json] = await answer(req, body);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(json));
  });

  const environmentOf = (suffix: string) => services[0]?.environments.find((e) => e.domain_suffix === suffix);
  return {
    url: host.url,
    requests,
    usernames,
    uploads,
    builds,
    buildSids,
    get variables() {
      return environmentOf('dev')?.variables ?? new Map<string, string>();
    },
    get deployments() {
      return api.deployments;
    },
    environment: environmentOf,
    nextPages,
    expireBuild(buildSid) {
      expired.add(buildSid);
      for (const e of services.flatMap((x) => x.environments)) if (e.build_sid === buildSid) e.build_sid = null;
    },
    addService(uniqueName, lastRuntime) {
      const s: Service = { sid: sid('ZS'), uniqueName, lastRuntime, environments: [], functions: [], assets: [] };
      services.push(s);
      return s.sid;
    },
    close: () => host.close(),
  };
}

/** The username and password of an HTTP Basic Authorization header; empty strings when there is none. */
function basicAuth(header: string | undefined): [string, string] {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return ['', ''];
  const text = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? [text, ''] : [text.slice(0, colon), text.slice(colon + 1)];
}

/** A text field of a multipart upload; empty when absent or a file. */
function formText(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

/**
 * What a Build holds and what each environment runs, as the lookups of flows:deploy read them: a Build's
 * function_versions and asset_versions (path, visibility and parent SID, as serverless-api types them), and an
 * environment's build_sid once a Deployment names it.
 */
function deployedBuilds() {
  const parents = new Map<string, string>();
  const builds = new Map<string, BuildRequest>();
  let uploads = new Map<string, Upload>();
  return {
    recordVersion([status, body]: Answer, parentSid: string, versions: Map<string, Upload>) {
      uploads = versions;
      if (status === 201) parents.set((body as { sid: string }).sid, parentSid);
    },
    recordBuild(buildSid: string, request: BuildRequest) {
      builds.set(buildSid, request);
    },
    versionsOf(buildSid: string) {
      const build = builds.get(buildSid);
      const version = (versionSid: string, parentKey: 'function_sid' | 'asset_sid') => ({
        sid: versionSid,
        path: uploads.get(versionSid)?.path,
        visibility: uploads.get(versionSid)?.visibility,
        [parentKey]: parents.get(versionSid),
      });
      return {
        function_versions: (build?.functionVersions ?? []).map((v) => version(v, 'function_sid')),
        asset_versions: (build?.assetVersions ?? []).map((v) => version(v, 'asset_sid')),
      };
    },
    activate(service: Service, environmentSid: string, buildSid: string | null) {
      const env = service.environments.find((e) => e.sid === environmentSid);
      if (env) env.build_sid = buildSid;
    },
  };
}
