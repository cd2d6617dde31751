import { createHash } from 'node:crypto';
import { ByteBudget, fetchMedia, FetchOutcome } from '../fetch/media-fetcher';
import { FetchEnv, fetchOptionsFor, fetchSettingsOrLog } from '../fetch/settings';
import type { LogRecord } from '../log';
import type { PlainResponse } from '../respond';
import type { SignedWebhookRequest } from '../webhook-signature';
import { InboundMedia, parseInboundMms } from './webhook';

/** Twilio's limit on the media of one message. */
export const MESSAGE_MEDIA_BYTES = 5 * 1024 * 1024;

export interface FetchedMedia {
  messageSid: string | undefined;
  index: number;
  url: string;
  declaredContentType?: string;
  contentType: string;
  body: Buffer;
}

/** Receives each fetched item: store it, forward it... The default checks size and type and logs its sha256. */
export type MediaHandler = (item: FetchedMedia, log: (record: LogRecord) => void) => void | Promise<void>;

export const verifyAndLogMedia: MediaHandler = (item, log) => {
  const received = item.contentType.split(';')[0].trim().toLowerCase();
  const declared = item.declaredContentType?.split(';')[0].trim().toLowerCase();
  log({
    level: item.body.length === 0 || (declared && declared !== received) ? 'warn' : 'info',
    event: 'media_received',
    messageSid: item.messageSid,
    index: item.index,
    bytes: item.body.length,
    contentType: received,
    ...(declared && declared !== received
      ? { problem: `MediaContentType${item.index} says ${declared}, the media host sent ${received}` }
      : {}),
    ...(item.body.length === 0 ? { problem: 'empty media body' } : {}),
    sha256: createHash('sha256').update(item.body).digest('hex'),
  });
};

export interface InboundEnv extends FetchEnv {
  MMS_REPLY?: string;
}

export type InboundRequest = SignedWebhookRequest<InboundEnv>;

/** The empty answer exactly as MessagingResponse writes it (a unit test compares them). */
export const EMPTY_MESSAGING_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

function twiml(reply: string | undefined): PlainResponse {
  let body = EMPTY_MESSAGING_TWIML;
  if (reply) {
    // The TwiML builder (and the XML library under it) only when there is text to escape: loaded at the top it
    // costs every cold start tens of ms, for an answer that is a constant by default.
    const MessagingResponse =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('twilio/lib/twiml/MessagingResponse') as typeof import('twilio/lib/twiml/MessagingResponse');
    const response = new MessagingResponse();
    response.message(reply);
    body = response.toString();
  }
  return { status: 200, headers: { 'Content-Type': 'text/xml; charset=utf-8', 'Cache-Control': 'no-store' }, body };
}

/**
 * POST /mms/inbound, signature already verified (src/runtime/signed-webhook.ts): every media item fetched
 * concurrently within the deadline, each handed to onMedia (to store or forward it, pass your own in
 * src/functions/mms/inbound.protected.ts); Twilio always gets a TwiML 200 in time, whatever happened.
 */
export async function handleInboundMms(
  request: InboundRequest,
  onMedia: MediaHandler = verifyAndLogMedia,
): Promise<PlainResponse> {
  const { env, log } = request;
  const mms = parseInboundMms(request.params);
  for (const problem of mms.problems)
    log({ level: 'warn', event: 'webhook_problem', messageSid: mms.messageSid, problem });

  const config = fetchSettingsOrLog(env, log, { messageSid: mms.messageSid });
  if (!config) return twiml(env.MMS_REPLY);
  const budget = new ByteBudget(MESSAGE_MEDIA_BYTES);
  const fetchOne = async (item: InboundMedia): Promise<FetchOutcome> => {
    const outcome = await fetchMedia({
      ...fetchOptionsFor(config, request.receivedAt),
      url: item.url,
      budget,
      log,
      logContext: { source: 'message', messageSid: mms.messageSid, index: item.index },
    });
    if (outcome.ok) {
      try {
        await onMedia(
          {
            messageSid: mms.messageSid,
            index: item.index,
            url: item.url,
            declaredContentType: item.contentType,
            contentType: outcome.contentType,
            body: outcome.body,
          },
          log,
        );
      } catch (err) {
        log({
          level: 'error',
          event: 'media_handler_failed',
          messageSid: mms.messageSid,
          index: item.index,
          problem: (err as Error).message,
        });
      }
    }
    return outcome;
  };
  await Promise.all(mms.media.map(fetchOne));
  return twiml(env.MMS_REPLY);
}
