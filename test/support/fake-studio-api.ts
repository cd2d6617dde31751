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

/** Studio's v2 Flows API on loopback (validate, create, update, fetch), keeping flows and revisions in memory. */
export async function startFakeStudioApi(options: { accountSid?: string } = {}): Promise<FakeStudioApi> {
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
    url: `https://studio.twilio.com/v2/Flows/${f.sid}`,
  });

  function answer(req: http.IncomingMessage, body: Buffer): Answer {
    const method = req.method ?? '';
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${method} ${url.pathname}`);
    const auth = Buffer.from(String(req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
    if (!auth.includes(':')) return [401, { code: 20003, message: 'Authenticate', status: 401 }];
    const form = new URLSearchParams(method === 'POST' ? body.toString('utf8') : '');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'v2' || parts[1] !== 'Flows') return [404, { code: 20404, message: 'not found', status: 404 }];
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
      const flow: FakeFlow = {
        sid: `FW${String(++counter).padStart(32, '0')}`,
        friendlyName: form.get('FriendlyName') ?? '',
        status: status!,
        definition: JSON.parse(form.get('Definition')!),
        revision: 1,
        commitMessage: form.get('CommitMessage'),
      };
      flows.set(flow.sid, flow);
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
    close: () => host.close(),
  };
}
