import twilio from 'twilio';
import { handler } from '../../src/functions/sms/reply.protected';
import { callFunction, installTwilioGlobal } from '../support/function-call';

// The worked example of docs/functions.md: a Function on the project's signedWebhook edge, tested by calling its
// handler as the runtime does, with a request signed as Twilio signs it.
const AUTH_TOKEN = 'unit-auth-token';
const context = { DOMAIN_NAME: 'example-1234-dev.twil.io', AUTH_TOKEN, SMS_REPLY: 'Thanks, we got it' };
const URL = 'https://example-1234-dev.twil.io/sms/reply';
const SMS = { MessageSid: 'SM00000000000000000000000000000001', From: '+15550001111', Body: 'hello' };

/** An inbound SMS webhook's event as the runtime builds it, signed with AUTH_TOKEN over URL and the form. */
function inboundSms(
  params: Record<string, string>,
  signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, URL, params),
) {
  return { ...params, request: { headers: { 'x-twilio-signature': signature }, cookies: {} } };
}

let removeTwilioGlobal: () => void;
beforeAll(() => (removeTwilioGlobal = installTwilioGlobal()));
afterAll(() => removeTwilioGlobal());
/** The JSON log lines the Function wrote. */
let logged: Record<string, unknown>[] = [];
beforeEach(() => {
  logged = [];
  for (const stream of ['log', 'warn', 'error'] as const)
    jest
      .spyOn(console, stream)
      .mockImplementation((...args: unknown[]) => void logged.push(JSON.parse(String(args[0]))));
});
afterEach(() => jest.restoreAllMocks());

describe('/sms/reply', () => {
  it('answers a signed SMS with SMS_REPLY as a <Message>', async () => {
    const res = await callFunction(handler, inboundSms(SMS), context);
    expect(res.status).toBe(200);
    expect(res.headers['Content-Type']).toBe('text/xml; charset=utf-8');
    expect(res.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks, we got it</Message></Response>',
    );
    expect(logged).toEqual([expect.objectContaining({ fn: 'sms/reply', event: 'sms_reply', replied: true })]);
  });

  it('answers an empty <Response/> (no reply) when SMS_REPLY is empty', async () => {
    const res = await callFunction(handler, inboundSms(SMS), { ...context, SMS_REPLY: '' });
    expect(res.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
  });

  it('refuses a request whose signature does not cover what was posted, in the one error shape', async () => {
    const signedForOther = twilio.getExpectedTwilioSignature(AUTH_TOKEN, URL, { ...SMS, Body: 'other' });
    const res = await callFunction(handler, inboundSms(SMS, signedForOther), context);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      error: `header "X-Twilio-Signature" does not match the request to ${URL}`,
      status: 403,
    });
    expect(logged).toEqual([expect.objectContaining({ level: 'warn', event: 'webhook_rejected' })]);
  });
});
