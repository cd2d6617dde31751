import type * as http from 'node:http';
import { FakeHost, startFakeHost } from './fake-host';

export interface FakeFlow {
  sid: string;
  friendlyName: string;
  status: string;
  definition: unknown;
  revision: number;
  commitMessage: string | null;
}

export interface FakeStudioApi {
  url: string;
  /** `METHOD path` of every request, in order */
  requests: string[];
  /** flows by SID, as Studio keeps them */
  flows: Map<string, FakeFlow>;
  /** creates and updates that changed something */
  changes: number;
  /**
   * Refusals a test scripts, by flow name (the friendly name before " ("): Studio's own reasons that no build check
   * can know, e.g. a sender or a Content Template the account does not have. Each is `#/path: message`.
   */
  refusals: Map<string, string[]>;
  /** a flow that exists before the test (created in the Console, or by a run from another checkout); its SID */
  addFlow(friendlyName: string, definition?: unknown): string;
  close(): Promise<void>;
}

type Answer = [status: number, body: unknown];

/** Studio's widget types as exports spell them (from Twilio's widget library), kept apart from the project's list. */
const WIDGET_TYPES = new Set(
  'trigger split-based-on set-variables say-play gather-input-on-call connect-call-to make-outgoing-call-v2 record-voicemail record-call enqueue-call capture-payments fork-stream connect-virtual-agent connect-virtual-agent-v2 send-message send-and-wait-for-reply run-function make-http-request run-subflow add-twiml-redirect send-to-flex send-to-auto-pilot'.split(
    ' ',
  ),
);

/**
 * Structural rules Studio's validator applies, written here on their own (not the project's checks, so a bug there
 * cannot hide itself): states with unique names, exactly one trigger which is initial_state, every `next` naming
 * a state (an empty one ends a branch), a known widget type, and the schema's required flags.allow_concurrent_calls.
 * Messages: a property path and what is wrong.
 */
function validate(raw: string | null): string[] {
  let def: { states?: unknown; initial_state?: unknown; flags?: { allow_concurrent_calls?: unknown } };
  try {
    def = JSON.parse(raw ?? '') as typeof def;
  } catch {
    return ['#: Definition is not JSON'];
  }
  if (!Array.isArray(def.states) || def.states.length === 0) return ['#/states: expected a non-empty array'];
  // Studio's flow-definition schema: flags, when given, require allow_concurrent_calls (a check the build leaves to Studio)
  const flagsError =
    def.flags !== undefined && typeof def.flags?.allow_concurrent_calls !== 'boolean'
      ? ['#/flags/allow_concurrent_calls: required boolean']
      : [];
  const states = def.states as { name?: unknown; type?: unknown; transitions?: { next?: unknown }[] }[];
  const errors: string[] = [...flagsError];
  states.forEach((s, i) => {
    if (typeof s.type !== 'string' || !WIDGET_TYPES.has(s.type)) errors.push(`#/states/${i}/type: unknown widget type`);
  });
  const names = states.map((s) => s.name);
  names.forEach((n, i) => {
    if (typeof n !== 'string' || !n) errors.push(`#/states/${i}/name: required`);
    else if (names.indexOf(n) !== i) errors.push(`#/states/${i}/name: duplicate state name ${n}`);
  });
  const triggers = states.filter((s) => s.type === 'trigger');
  if (triggers.length !== 1) errors.push('#/states: exactly one trigger widget required');
  else if (def.initial_state !== triggers[0].name) errors.push('#/initial_state: must be the trigger widget');
  states.forEach((s, i) =>
    (s.transitions ?? []).forEach((t, j) => {
      if (t.next !== undefined && t.next !== '' && !names.includes(t.next))
        errors.push(`#/states/${i}/transitions/${j}/next: no widget named ${JSON.stringify(t.next)}`);
    }),
  );
  return errors;
}

const STUDIO = 'https://studio.twilio.com';

/**
 * Studio's v2 Flows API on loopback (validate, create, update, fetch, list), keeping flows and revisions in memory.
 * The list (`GET /v2/Flows`) is paged as Studio pages it (Twilio's Flow resource page,
 * https://www.twilio.com/docs/studio/rest-api/v2/flow): PageSize 50 by default and at most 1000 (a PageSize outside
 * 1..1000 is refused), the next page as an absolute `meta.next_page_url` on Studio's own host with a PageToken (so a
 * client that builds page URLs itself, or follows one without the origin rule, fails), definitions null in the list,
 * and no filter by friendly name: Studio lets two flows share one.
 */
export async function startFakeStudioApi(
  options: {
    accountSid?: string;
    /** the origin `next_page_url` names (default Studio's own); another host stands for a page off the API */
    nextPageOrigin?: string;
  } = {},
): Promise<FakeStudioApi> {
  const accountSid = options.accountSid ?? 'AC00000000000000000000000000000000';
  let counter = 0;
  const flows = new Map<string, FakeFlow>();
  const requests: string[] = [];
  const api = { changes: 0 };
  const refusals = new Map<string, string[]>();
  const check = (form: URLSearchParams): string[] => [
    ...validate(form.get('Definition')),
    ...(refusals.get((form.get('FriendlyName') ?? '').replace(/ \(.*$/, '')) ?? []),
  ];
  const invalid = (errors: string[]): Answer => [
    400,
    {
      code: 20001,
      message: 'Invalid Flow Definition',
      status: 400,
      more_info: 'https://www.twilio.com/docs/errors/20001',
      details: { errors: errors.map((e) => ({ message: e.replace(/^\S+: /, ''), property_path: e.split(':')[0] })) },
    },
  ];
  const resource = (f: FakeFlow) => ({
    sid: f.sid,
    account_sid: accountSid,
    friendly_name: f.friendlyName,
    definition: f.definition,
    status: f.status,
    revision: f.revision,
    commit_message: f.commitMessage,
    valid: true,
    errors: [],
    warnings: [],
    webhook_url: `https://webhooks.twilio.com/v1/Accounts/${accountSid}/Flows/${f.sid}`,
    url: `${STUDIO}/v2/Flows/${f.sid}`,
  });

  function newFlow(friendlyName: string, status: string, definition: unknown): FakeFlow {
    const flow = { sid: `FW${String(++counter).padStart(32, '0')}`, friendlyName, status, definition, revision: 1 };
    flows.set(flow.sid, { ...flow, commitMessage: null });
    return flows.get(flow.sid)!;
  }

  function list(url: URL): Answer {
    const rawSize = url.searchParams.get('PageSize') ?? '50';
    const pageSize = Number(rawSize);
    if (!/^[0-9]+$/.test(rawSize) || pageSize < 1 || pageSize > 1000)
      return [400, { code: 20001, message: `Invalid PageSize: ${rawSize} (1 to 1000)`, status: 400 }];
    const page = Number(url.searchParams.get('Page') ?? '0');
    // a later page is reached through the PageToken its next_page_url carries, never by a Page number alone
    if (!Number.isInteger(page) || page < 0 || (page > 0 && url.searchParams.get('PageToken') !== `PT${page}`))
      return [400, { code: 20001, message: 'Invalid Page or PageToken', status: 400 }];
    const all = [...flows.values()];
    const items = all.slice(page * pageSize, (page + 1) * pageSize);
    const query = (n: number) => `PageSize=${pageSize}&Page=${n}${n > 0 ? `&PageToken=PT${n}` : ''}`;
    return [
      200,
      {
        flows: items.map((f) => ({ ...resource(f), definition: null, valid: null, errors: null, warnings: null })),
        meta: {
          page,
          page_size: pageSize,
          key: 'flows',
          url: `${STUDIO}/v2/Flows?${query(page)}`,
          first_page_url: `${STUDIO}/v2/Flows?${query(0)}`,
          previous_page_url: page > 0 ? `${STUDIO}/v2/Flows?${query(page - 1)}` : null,
          next_page_url:
            (page + 1) * pageSize < all.length
              ? `${options.nextPageOrigin ?? STUDIO}/v2/Flows?${query(page + 1)}`
              : null,
        },
      },
    ];
  }

  function answer(req: http.IncomingMessage, body: Buffer): Answer {
    const method = req.method ?? '';
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${method} ${url.pathname}`);
    const auth = Buffer.from(String(req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
    if (!auth.includes(':')) return [401, { code: 20003, message: 'Authenticate', status: 401 }];
    const form = new URLSearchParams(method === 'POST' ? body.toString('utf8') : '');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'v2' || parts[1] !== 'Flows') return [404, { code: 20404, message: 'not found', status: 404 }];
    if (method === 'GET' && parts.length === 2) return list(url);
    const status = form.get('Status');
    const badStatus = (): Answer | undefined =>
      status === 'draft' || status === 'published'
        ? undefined
        : [400, { code: 20001, message: `Invalid Status: ${status}`, status: 400 }];
    if (method === 'POST' && parts[2] === 'Validate' && parts.length === 3) {
      if (!form.get('FriendlyName')) return [400, { code: 20001, message: 'Missing FriendlyName', status: 400 }];
      const errors = check(form);
      return badStatus() ?? (errors.length ? invalid(errors) : [200, { valid: true }]);
    }
    if (method === 'POST' && parts.length === 2) {
      const errors = check(form);
      if (errors.length) return invalid(errors);
      const refused = badStatus();
      if (refused) return refused;
      const flow = newFlow(form.get('FriendlyName') ?? '', status!, JSON.parse(form.get('Definition')!));
      flow.commitMessage = form.get('CommitMessage');
      api.changes += 1;
      return [200, resource(flow)];
    }
    const flow = parts.length === 3 ? flows.get(parts[2]) : undefined;
    if (!flow)
      return [404, { code: 20404, message: `The requested resource ${url.pathname} was not found`, status: 404 }];
    if (method === 'GET') return [200, resource(flow)];
    if (method === 'POST') {
      const refused = badStatus();
      if (refused) return refused;
      if (form.has('Definition')) {
        const errors = check(form);
        if (errors.length) return invalid(errors);
        flow.definition = JSON.parse(form.get('Definition')!);
      }
      if (form.has('FriendlyName')) flow.friendlyName = form.get('FriendlyName')!;
      flow.status = status!;
      flow.commitMessage = form.get('CommitMessage');
      flow.revision += 1;
      api.changes += 1;
      return [200, resource(flow)];
    }
    return [405, { message: `unexpected ${method}` }];
  }

  const host: FakeHost = await startFakeHost((req, res, body) => {
    const [status, json] = answer(req, body);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(json));
  });
  return {
    url: host.url,
    requests,
    flows,
    get changes() {
      return api.changes;
    },
    refusals,
    addFlow: (friendlyName, definition = { states: [] }) => newFlow(friendlyName, 'published', definition).sid,
    close: () => host.close(),
  };
}
