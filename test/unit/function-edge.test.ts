import * as fs from 'node:fs';
import * as path from 'node:path';
import twilio from 'twilio';
import { jsonResponse } from '../../src/lib/respond';
import { checkSignature } from '../../src/lib/webhook-signature';
import { twilioFunction } from '../../src/runtime/function';
import { signedWebhook } from '../../src/runtime/signed-webhook';
import { callFunction, installTwilioGlobal } from '../support/function-call';
import { PROJECT_ROOT } from '../support/paths';

const AUTH_TOKEN = 'unit-auth-token';
const env = { DOMAIN_NAME: 'media-1234-dev.twil.io', ACCOUNT_SID: 'AC1', AUTH_TOKEN };
let lines: { stream: string; line: string }[] = [];

let removeTwilioGlobal: () => void;
beforeAll(() => (removeTwilioGlobal = installTwilioGlobal()));
afterAll(() => removeTwilioGlobal());
beforeEach(() => {
  lines = [];
  for (const stream of ['log', 'warn', 'error'] as const) {
    jest
      .spyOn(console, stream)
      .mockImplementation((...args: unknown[]) => void lines.push({ stream, line: String(args[0]) }));
  }
});
afterEach(() => jest.restoreAllMocks());

const invoke = (
  fn: (context: never, event: never, callback: never) => unknown,
  event: Record<string, unknown>,
  context: object = env,
) => callFunction(fn, event, context);

describe('twilioFunction, the one Function edge', () => {
  it('hands the handler its parameters without `request`, the lower-case headers and the context, and sends its response', async () => {
    const seen: unknown[] = [];
    const fn = twilioFunction<{ name: string }>('probe', (request) => {
      seen.push(request.params, request.headers['if-none-match'], request.context.DOMAIN_NAME);
      return jsonResponse(201, { ok: true }, { ETag: '"x"' });
    });
    const res = await invoke(fn, { name: 'a.wav', request: { headers: { 'if-none-match': '"x"' }, cookies: {} } });
    expect(seen).toEqual([{ name: 'a.wav' }, '"x"', env.DOMAIN_NAME]);
    expect(res).toMatchObject({
      status: 201,
      body: { ok: true },
      headers: { ETag: '"x"', 'Content-Type': 'application/json; charset=utf-8' },
    });
  });

  it('treats a missing event.request (no pinned runtime handler) as no headers', async () => {
    const fn = twilioFunction('probe', (request) => jsonResponse(200, { headers: request.headers }));
    expect((await invoke(fn, { name: 'x' })).body).toEqual({ headers: {} });
  });

  it('turns an exception into a JSON 500 without its message or a stack, and logs one error line', async () => {
    const fn = twilioFunction(
      'media',
      () => {
        throw new Error('ENOENT: /var/task/secret/path.json');
      },
      { errorHeaders: () => ({ 'Access-Control-Allow-Origin': 'https://flex.twilio.com' }) },
    );
    const res = await invoke(fn, {});
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'media failed; see the service logs', status: 500 });
    expect(res.headers['Access-Control-Allow-Origin']).toBe('https://flex.twilio.com');
    expect(JSON.stringify(res)).not.toMatch(/ENOENT|secret|at /);
    expect(lines).toHaveLength(1);
    expect(lines[0].stream).toBe('error');
    expect(JSON.parse(lines[0].line)).toMatchObject({
      fn: 'media',
      level: 'error',
      event: 'function_failed',
      problem: 'ENOENT: /var/task/secret/path.json',
    });
  });

  it('a rejected promise and a throwing errorHeaders still end in the JSON 500', async () => {
    const fn = twilioFunction('x', async () => Promise.reject(new Error('late')), {
      errorHeaders: () => {
        throw new Error('bad setting');
      },
    });
    const res = await invoke(fn, {});
    expect(res).toMatchObject({ status: 500, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
  });

  it('every log line has one shape: time with offset, the Function name, then the record', async () => {
    const fn = twilioFunction('studio/media-url', (request) => {
      request.log({ level: 'info', event: 'a' });
      request.log({ level: 'warn', event: 'b' });
      return jsonResponse(200, {});
    });
    await invoke(fn, {});
    expect(lines.map((l) => l.stream)).toEqual(['log', 'warn']);
    for (const { line } of lines) {
      expect(Object.keys(JSON.parse(line)).slice(0, 3)).toEqual(['at', 'fn', 'level']);
      expect(JSON.parse(line).at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
    }
  });
});

describe('signedWebhook: a handler only ever sees a verified request', () => {
  const url = `https://${env.DOMAIN_NAME}/mms/inbound`;
  const params = { MessageSid: 'MM1', NumMedia: '0', Body: 'hi' };
  const signed = (p: Record<string, string>, token = AUTH_TOKEN) => ({
    ...p,
    request: { headers: { 'x-twilio-signature': twilio.getExpectedTwilioSignature(token, url, p) }, cookies: {} },
  });

  it('passes a correctly signed request to the handler with the URL Twilio signed', async () => {
    const handle = jest.fn(async () => jsonResponse(200, { handled: true }));
    const res = await invoke(signedWebhook('/mms/inbound', handle), signed(params));
    expect(res.status).toBe(200);
    expect(handle).toHaveBeenCalledWith(
      expect.objectContaining({ params, url, env: expect.objectContaining({ AUTH_TOKEN }) }),
    );
  });

  it.each([
    [
      'forged',
      signed(params, 'not-the-auth-token'),
      `header "X-Twilio-Signature" does not match the request to ${url}`,
    ],
    ['missing', { ...params, request: { headers: {}, cookies: {} } }, 'header "X-Twilio-Signature" is missing'],
    [
      'tampered',
      { ...signed(params), Body: 'changed' },
      `header "X-Twilio-Signature" does not match the request to ${url}`,
    ],
    [
      'added parameter',
      { ...signed(params), MediaUrl0: 'https://evil.test/x' },
      `header "X-Twilio-Signature" does not match the request to ${url}`,
    ],
  ])('a %s signature is a 403 naming the header; the handler never runs', async (_name, event, reason) => {
    const handle = jest.fn(async () => jsonResponse(200, {}));
    const res = await invoke(signedWebhook('/mms/inbound', handle), event);
    expect(handle).not.toHaveBeenCalled();
    expect(res).toMatchObject({ status: 403, body: { error: reason, status: 403 } });
    expect(JSON.parse(lines[0].line)).toMatchObject({
      fn: 'mms/inbound',
      level: 'warn',
      event: 'webhook_rejected',
      reason,
      sid: 'MM1',
    });
  });

  it('without AUTH_TOKEN nothing can be verified: 403, handler not called', async () => {
    const handle = jest.fn(async () => jsonResponse(200, {}));
    const res = await invoke(signedWebhook('/mms/inbound', handle), signed(params), { DOMAIN_NAME: env.DOMAIN_NAME });
    expect(res.status).toBe(403);
    expect(handle).not.toHaveBeenCalled();
  });

  it('checks the URL of WEBHOOK_BASE_URL when Twilio calls through a tunnel', async () => {
    const tunnel = 'https://abc.ngrok.app';
    const p = { RecordingSid: 'RE1' };
    const event = {
      ...p,
      request: {
        headers: {
          'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${tunnel}/recordings/status`, p),
        },
        cookies: {},
      },
    };
    const handle = jest.fn(async () => jsonResponse(200, {}));
    const res = await invoke(signedWebhook('/recordings/status', handle), event, {
      ...env,
      DOMAIN_NAME: 'localhost:3000',
      WEBHOOK_BASE_URL: `${tunnel}/`,
    });
    expect(res.status).toBe(200);
  });
});

describe('checkSignature', () => {
  const url = 'https://x.twil.io/mms/inbound';
  const params = { A: '1', B: 'two words' };
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, params);
  it('accepts the signature over the URL and every parameter, the first of a repeated header', () => {
    expect(checkSignature({ authToken: AUTH_TOKEN, signature, url, params })).toEqual({ ok: true });
    expect(checkSignature({ authToken: AUTH_TOKEN, signature: [signature, 'other'], url, params })).toEqual({
      ok: true,
    });
  });
  it('refuses a missing token or header, another URL, another token, a changed parameter', () => {
    expect(checkSignature({ authToken: undefined, signature, url, params })).toMatchObject({
      ok: false,
      status: 403,
      reason: expect.stringMatching(/^AUTH_TOKEN is not configured/),
    });
    expect(checkSignature({ authToken: AUTH_TOKEN, signature: undefined, url, params })).toMatchObject({
      ok: false,
      reason: 'header "X-Twilio-Signature" is missing',
    });
    expect(checkSignature({ authToken: AUTH_TOKEN, signature, url: `${url}?x=1`, params }).ok).toBe(false);
    expect(checkSignature({ authToken: 'other', signature, url, params }).ok).toBe(false);
    expect(checkSignature({ authToken: AUTH_TOKEN, signature, url, params: { ...params, B: 'two Words' } }).ok).toBe(
      false,
    );
  });
});

describe('every Function goes through the one edge', () => {
  const dir = path.join(PROJECT_ROOT, 'src', 'functions');
  const files = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
  it.each(files)(
    '%s: its handler is made by twilioFunction or signedWebhook, and it answers nothing by hand',
    (file) => {
      const source = fs.readFileSync(path.join(dir, file), 'utf8');
      expect(source).toMatch(/export const handler = (twilioFunction|signedWebhook)\b/);
      expect(source).not.toMatch(/callback\(|new Twilio\.Response|console\./);
    },
  );
});
