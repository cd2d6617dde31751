import { createHash } from 'node:crypto';
import { ByteBudget, fetchMedia } from '../fetch/media-fetcher';
import { FetchEnv, fetchOptionsFor, fetchSettingsOrLog } from '../fetch/settings';
import type { LogRecord } from '../log';
import type { PlainResponse } from '../respond';
import {
  MediaStore,
  MediaStoreEnv,
  MediaStoreSettings,
  mediaStoreSettingsFrom,
  openMediaStore,
} from '../storage/media-store';
import type { SignedWebhookRequest } from '../webhook-signature';
import {
  deleteTwilioMedia,
  KeptMedia,
  keepMediaItem,
  mediaSidOf,
  MESSAGE_MEDIA_BYTES,
  recordMessage,
} from '../keep/media';
import { mmsSummaryRecord, SummaryItem } from './summary';
import { InboundMedia, parseInboundMms } from './webhook';

export interface FetchedMedia {
  messageSid: string | undefined;
  index: number;
  url: string;
  declaredContentType?: string;
  contentType: string;
  body: Buffer;
}

/**
 * Receives each fetched item: store it, forward it... The default logs its size, type and sha256, warning when the
 * type is not the declared one (an empty body never gets here: the fetch fails it, src/lib/fetch/classify.ts).
 */
export type MediaHandler = (item: FetchedMedia, log: (record: LogRecord) => void) => void | Promise<void>;

export const verifyAndLogMedia: MediaHandler = (item, log) => {
  const received = item.contentType.split(';')[0].trim().toLowerCase();
  const declared = item.declaredContentType?.split(';')[0].trim().toLowerCase();
  log({
    level: declared && declared !== received ? 'warn' : 'info',
    event: 'media_received',
    messageSid: item.messageSid,
    index: item.index,
    bytes: item.body.length,
    contentType: received,
    ...(declared && declared !== received
      ? { problem: `MediaContentType${item.index} says ${declared}, the media host sent ${received}` }
      : {}),
    sha256: createHash('sha256').update(item.body).digest('hex'),
  });
};

export interface InboundEnv extends FetchEnv, MediaStoreEnv {
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

/** The media store of this request, or undefined (none configured, or a setting at fault: logged). */
function mediaStoreOrLog(
  env: InboundEnv,
  log: (record: LogRecord) => void,
  messageSid: string | undefined,
): { settings: MediaStoreSettings; store: MediaStore } | undefined {
  try {
    const settings = mediaStoreSettingsFrom(env);
    return settings ? { settings, store: openMediaStore(settings.location) } : undefined;
  } catch (err) {
    log({ level: 'error', event: 'config_error', messageSid, problem: (err as Error).message });
    return undefined;
  }
}

/**
 * POST /mms/inbound, signature already verified (src/runtime/signed-webhook.ts): every media item fetched
 * concurrently within the deadline and handed to onMedia (to forward it, pass your own in
 * src/functions/mms/inbound.protected.ts); with a media store (MEDIA_STORE_URL, or the local runtime's folder)
 * each item is then kept, verified, before the answer and inside the same deadline, with the message's record
 * beside it. Twilio always gets a TwiML 200 in time, whatever happened.
 */
export async function handleInboundMms(
  request: InboundRequest,
  onMedia: MediaHandler = verifyAndLogMedia,
): Promise<PlainResponse> {
  const { env, log, receivedAt } = request;
  const mms = parseInboundMms(request.params);
  for (const problem of mms.problems)
    log({ level: 'warn', event: 'webhook_problem', messageSid: mms.messageSid, problem });

  const config = fetchSettingsOrLog(env, log, { messageSid: mms.messageSid });
  if (!config) return twiml(env.MMS_REPLY);
  const keeping = mms.media.length > 0 ? mediaStoreOrLog(env, log, mms.messageSid) : undefined;
  const fetchOptions = fetchOptionsFor(config, receivedAt);
  // The store's requests share the fetch's deadline, so the answer still leaves in time.
  const signal = AbortSignal.timeout(Math.max(1, fetchOptions.deadlineAt - Date.now()));
  const budget = new ByteBudget(MESSAGE_MEDIA_BYTES);
  const fetchOne = async (item: InboundMedia): Promise<{ summary: SummaryItem; kept?: KeptMedia; url: string }> => {
    const outcome = await fetchMedia({
      ...fetchOptions,
      url: item.url,
      budget,
      log,
      logContext: { source: 'message', messageSid: mms.messageSid, index: item.index },
    });
    const mediaSid = mediaSidOf(item.url);
    // the same figures as this fetch's media_fetch line
    const summary: SummaryItem = {
      i: item.index,
      ...(mediaSid ? { me: mediaSid } : {}),
      f: outcome.ok ? 'succeeded' : 'gave_up',
      ms: outcome.endedAt - receivedAt,
      a: outcome.attempts.length,
      nf: outcome.attempts.filter((a) => a.status === 404).length,
    };
    if (!outcome.ok) return { summary, url: item.url };
    const fetched: FetchedMedia = {
      messageSid: mms.messageSid,
      index: item.index,
      url: item.url,
      declaredContentType: item.contentType,
      contentType: outcome.contentType,
      body: outcome.body,
    };
    try {
      await onMedia(fetched, log);
    } catch (err) {
      log({
        level: 'error',
        event: 'media_handler_failed',
        messageSid: mms.messageSid,
        index: item.index,
        problem: (err as Error).message,
      });
    }
    if (!keeping) return { summary, url: item.url };
    const kept = await keepMediaItem({
      store: keeping.store,
      accountSid: mms.accountSid,
      messageSid: mms.messageSid,
      index: item.index,
      mediaUrl: item.url,
      contentType: fetched.contentType,
      body: fetched.body,
      receivedAt,
      signal,
      log,
    });
    return { summary: { ...summary, st: kept.outcome }, kept, url: item.url };
  };
  const results = await Promise.all(mms.media.map(fetchOne));
  const kept = results.map((r) => r.kept).filter((k): k is KeptMedia => k !== undefined);
  if (keeping) {
    // The record first: Twilio's copy of an item is deleted only once the stored record lists it.
    const record = await recordMessage({
      store: keeping.store,
      accountSid: mms.accountSid,
      messageSid: mms.messageSid,
      receivedAt,
      kept,
      params: { From: request.params.From, To: request.params.To, Body: request.params.Body },
      fields: keeping.settings.messageFields,
      signal,
      log,
    });
    if (keeping.settings.deleteAfterStore)
      await Promise.all(
        results.map(async (r) => {
          if (!r.kept) return;
          const deleted = await deleteTwilioMedia({
            kept: r.kept,
            listed: record.listed,
            mediaUrl: r.url,
            auth: config.auth,
            allowedHosts: config.allowedHosts,
            prefix: keeping.store.prefix,
            receivedAt,
            signal,
            log,
          });
          if (deleted) r.summary.dl = deleted;
        }),
      );
  }
  // Last, so that it is inside the 3 KB of output per invocation that Twilio's Logs API keeps (src/lib/mms/summary.ts).
  log(
    mmsSummaryRecord({
      messageSid: mms.messageSid,
      accountSid: mms.accountSid,
      receivedAt,
      items: results.map((r) => r.summary),
    }),
  );
  return twiml(env.MMS_REPLY);
}
