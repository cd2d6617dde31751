import { signedWebhook } from '../../runtime/signed-webhook';

/** The variables this Function reads (each also in ServiceEnv, FUNCTION_VARIABLES and docs/environment.md). */
interface ReplyEnv {
  SMS_REPLY?: string;
}

/**
 * Inbound SMS webhook, the worked example of docs/functions.md: answers with SMS_REPLY as a TwiML <Message>, or
 * with no reply when it is empty. Protected by its name; signedWebhook checks the signature again.
 */
export const handler = signedWebhook<ReplyEnv>('/sms/reply', async ({ params, env, log }) => {
  const twiml = new Twilio.twiml.MessagingResponse();
  if (env.SMS_REPLY) twiml.message(env.SMS_REPLY);
  log({ level: 'info', event: 'sms_reply', messageSid: params.MessageSid, replied: Boolean(env.SMS_REPLY) });
  return {
    status: 200,
    headers: { 'Content-Type': 'text/xml; charset=utf-8', 'Cache-Control': 'no-store' },
    body: String(twiml),
  };
});
