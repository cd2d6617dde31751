import type * as http from 'node:http';
import { FakeHost, startFakeHost } from './fake-host';

/** A recording held by the fake REST API. */
export interface FakeRecording {
  sid: string;
  callSid: string;
  dateCreated: Date;
  dateUpdated?: Date;
  duration: string;
  status: 'completed' | 'absent' | 'failed' | 'processing' | 'deleted';
  errorCode?: number;
  /** media_url; default the API's own .wav URL (media held by Twilio) */
  mediaUrl?: string;
  audio: Buffer;
  /** the .wav answers 404 until this time (epoch ms): "404 right after the callback" */
  availableAt?: number;
  /** cut the connection half way through the next N downloads */
  cutDownloads?: number;
  /** what .mp3 serves (audio/mpeg); none: .mp3 answers 404 */
  mp3?: Buffer;
  /** 1 (default) or 2; a mono recording asked with RequestedChannels=2 is refused, as Twilio does (16113) */
  channels?: 1 | 2;
}

/** One media item of a fake message. */
export interface FakeMedia {
  sid: string;
  contentType: string;
  body: Buffer;
  dateCreated?: Date;
  /** the media content answers 404 until this time (epoch ms), as fresh Twilio media can */
  availableAt?: number;
  /** answer 500 to the next N content fetches */
  failFetches?: number;
  /** wait this long before answering a content fetch (a slow run, to interrupt) */
  delayMs?: number;
  /** answer 500 to the next N deletes */
  failDeletes?: number;
  /** never answer the next N deletes (the connection stays open until the client gives up) */
  hangDeletes?: number;
  /** answer the next N content fetches (on the CDN) with an empty 200, Content-Length: 0 */
  emptyFetches?: number;
  /** answer the next N content fetches with half the body, no Content-Length, then close the connection */
  cutFetches?: number;
  /** set by DELETE: the resource and its content answer 404 from then on */
  deletedAt?: number;
}

/** A message held by the fake REST API (inbound unless said otherwise). */
export interface FakeMessage {
  sid: string;
  to: string;
  from: string;
  body?: string;
  dateSent: Date;
  direction?: 'inbound' | 'outbound-api' | 'outbound-reply';
  media: FakeMedia[];
}

export interface FakeTwilioApi {
  host: FakeHost;
  baseUrl: string;
  recordings: Map<string, FakeRecording>;
  deleted: string[];
  messages: Map<string, FakeMessage>;
  /** Media SIDs in the order DELETE removed them */
  deletedMedia: string[];
  close(): Promise<void>;
}

/** How long a redirect target of a media fetch stays valid (Twilio's CDN URLs last about 4 hours; short here). */
const MEDIA_URL_TTL_MS = 60_000;

const rfc2822 = (d: Date) => d.toUTCString().replace('GMT', '+0000');

/** A minimal RIFF/WAVE file whose header size matches its length. */
export function wav(seed: number, dataBytes = 800): Buffer {
  const data = Buffer.alloc(dataBytes);
  for (let i = 0; i < dataBytes; i += 1) data[i] = (seed * 31 + i * 7) % 256;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(dataBytes, 40);
  return Buffer.concat([header, data]);
}

/**
 * A fake of Twilio's REST API for Recordings on 127.0.0.1, driven through the real twilio client: Basic auth,
 * paging with next_page_uri (pageSize per page at most), DateCreated>/< filters, fetch, delete, .wav download.
 */
export async function startFakeTwilioApi(options: {
  accountSid: string;
  authToken: string;
  recordings?: FakeRecording[];
  messages?: FakeMessage[];
  pageSize?: number;
}): Promise<FakeTwilioApi> {
  const recordings = new Map((options.recordings ?? []).map((r) => [r.sid, r]));
  const messages = new Map((options.messages ?? []).map((m) => [m.sid, m]));
  const deletedMedia: string[] = [];
  const deleted: string[] = [];
  const pageSize = options.pageSize ?? 2;
  const expectedAuth = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  const prefix = `/2010-04-01/Accounts/${options.accountSid}/Recordings`;
  const resource = (r: FakeRecording) => ({
    account_sid: options.accountSid,
    api_version: '2010-04-01',
    call_sid: r.callSid,
    conference_sid: null,
    date_created: rfc2822(r.dateCreated),
    date_updated: rfc2822(r.dateUpdated ?? r.dateCreated),
    start_time: rfc2822(r.dateCreated),
    duration: r.duration,
    sid: r.sid,
    price: null,
    price_unit: 'USD',
    status: r.status,
    channels: r.channels ?? 1,
    source: 'RecordVerb',
    error_code: r.errorCode ?? null,
    uri: `${prefix}/${r.sid}.json`,
    encryption_details: null,
    subresource_uris: {},
    media_url: r.mediaUrl ?? `https://api.twilio.com${prefix}/${r.sid}`,
  });
  const host = await startFakeHost((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    // the short-lived media URL a media fetch redirects to: no credentials, as on Twilio's CDN
    const cdn = /^\/cdn\/(MM\w+)\/(ME\w+)$/.exec(url.pathname);
    if (cdn) return serveMediaContent(res, cdn[1], cdn[2], Number(url.searchParams.get('expires')));
    if (req.headers.authorization !== expectedAuth)
      return res
        .writeHead(401, { 'Content-Type': 'application/json' })
        .end('{"code":20003,"message":"Authenticate","status":401}');
    if (req.method === 'GET' && url.pathname === `${prefix}.json`) {
      const after = url.searchParams.get('DateCreated>');
      const before = url.searchParams.get('DateCreated<');
      const all = [...recordings.values()]
        .filter((r) => (!after || r.dateCreated >= new Date(after)) && (!before || r.dateCreated <= new Date(before)))
        .sort((a, b) => b.dateCreated.getTime() - a.dateCreated.getTime());
      const size = Math.min(pageSize, Number(url.searchParams.get('PageSize') ?? pageSize));
      const page = Number(url.searchParams.get('Page') ?? 0);
      const slice = all.slice(page * size, page * size + size);
      const next = new URLSearchParams(url.searchParams);
      next.set('Page', String(page + 1));
      next.set('PageSize', String(size));
      return res.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          recordings: slice.map(resource),
          page,
          page_size: size,
          start: page * size,
          end: page * size + slice.length - 1,
          uri: `${prefix}.json?${url.searchParams.toString()}`,
          first_page_uri: `${prefix}.json?PageSize=${size}&Page=0`,
          previous_page_uri: null,
          next_page_uri: (page + 1) * size < all.length ? `${prefix}.json?${next.toString()}` : null,
        }),
      );
    }
    if (url.pathname.startsWith(messagesPrefix)) return messagesApi(req, res, url);
    const one = new RegExp(`^${prefix}/(RE\\w+)\\.(json|wav|mp3)$`).exec(url.pathname);
    const recording = one ? recordings.get(one[1]) : undefined;
    if (!one || !recording)
      return res
        .writeHead(404, { 'Content-Type': 'application/json' })
        .end('{"code":20404,"message":"not found","status":404}');
    if (one[2] === 'json' && req.method === 'GET')
      return res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(resource(recording)));
    if (one[2] === 'json' && req.method === 'DELETE') {
      if (recording.status === 'deleted') return res.writeHead(404).end();
      recording.status = 'deleted';
      recording.dateUpdated = new Date();
      deleted.push(recording.sid);
      return res.writeHead(204).end();
    }
    if ((one[2] === 'wav' || one[2] === 'mp3') && req.method === 'GET') {
      if (recording.status !== 'completed' || (recording.availableAt && Date.now() < recording.availableAt))
        return res.writeHead(404).end();
      if (url.searchParams.get('RequestedChannels') === '2' && (recording.channels ?? 1) === 1)
        return res.writeHead(400, { 'Content-Type': 'application/json' }).end(
          JSON.stringify({
            code: 16113,
            message: 'Cannot download a dual-channel presentation of a mono recording',
            status: 400,
          }),
        );
      if (one[2] === 'mp3') {
        if (!recording.mp3) return res.writeHead(404).end();
        return res
          .writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': String(recording.mp3.length) })
          .end(recording.mp3);
      }
      if (recording.cutDownloads) {
        recording.cutDownloads -= 1;
        res.writeHead(200, { 'Content-Type': 'audio/x-wav', 'Content-Length': String(recording.audio.length) });
        res.write(recording.audio.subarray(0, recording.audio.length >> 1));
        return setTimeout(() => req.socket.destroy(), 20);
      }
      return res
        .writeHead(200, { 'Content-Type': 'audio/x-wav', 'Content-Length': String(recording.audio.length) })
        .end(recording.audio);
    }
    return res.writeHead(405).end();
  });

  // ---- Messages and their Media (the Message and Media resources of API 2010-04-01) ----
  const messagesPrefix = `/2010-04-01/Accounts/${options.accountSid}/Messages`;
  const notFound = (res: http.ServerResponse) =>
    res
      .writeHead(404, { 'Content-Type': 'application/json' })
      .end('{"code":20404,"message":"The requested resource was not found","status":404}');
  const json = (res: http.ServerResponse, body: unknown) =>
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  const live = (m: FakeMessage) => m.media.filter((x) => x.deletedAt === undefined);
  const mediaResource = (m: FakeMessage, x: FakeMedia) => ({
    sid: x.sid,
    account_sid: options.accountSid,
    parent_sid: m.sid,
    content_type: x.contentType,
    date_created: rfc2822(x.dateCreated ?? m.dateSent),
    date_updated: rfc2822(x.dateCreated ?? m.dateSent),
    uri: `${messagesPrefix}/${m.sid}/Media/${x.sid}.json`,
  });
  const messageResource = (m: FakeMessage) => ({
    sid: m.sid,
    account_sid: options.accountSid,
    api_version: '2010-04-01',
    to: m.to,
    from: m.from,
    body: m.body ?? '',
    direction: m.direction ?? 'inbound',
    status: m.direction && m.direction !== 'inbound' ? 'delivered' : 'received',
    // what the message arrived with; whether Twilio lowers it after a media DELETE is not documented, and the
    // sync lists Media.json either way
    num_media: String(m.media.length),
    num_segments: '1',
    date_created: rfc2822(m.dateSent),
    date_updated: rfc2822(m.dateSent),
    date_sent: rfc2822(m.dateSent),
    error_code: null,
    error_message: null,
    price: null,
    price_unit: 'USD',
    messaging_service_sid: null,
    uri: `${messagesPrefix}/${m.sid}.json`,
    subresource_uris: { media: `${messagesPrefix}/${m.sid}/Media.json` },
  });
  /** Twilio's list envelope: `key` holds the page, next_page_uri the rest (Page and PageSize in the query). */
  const page = <T>(res: http.ServerResponse, url: URL, key: string, all: T[], render: (t: T) => unknown) => {
    const size = Math.min(1000, Number(url.searchParams.get('PageSize') ?? 50) || 50, pageSize);
    const number = Number(url.searchParams.get('Page') ?? 0);
    const slice = all.slice(number * size, number * size + size);
    const next = new URLSearchParams(url.searchParams);
    next.set('Page', String(number + 1));
    next.set('PageSize', String(size));
    return json(res, {
      [key]: slice.map(render),
      page: number,
      page_size: size,
      start: number * size,
      end: number * size + Math.max(0, slice.length - 1),
      uri: `${url.pathname}?${url.searchParams.toString()}`,
      first_page_uri: `${url.pathname}?PageSize=${size}&Page=0`,
      previous_page_uri: number > 0 ? `${url.pathname}?PageSize=${size}&Page=${number - 1}` : null,
      next_page_uri: (number + 1) * size < all.length ? `${url.pathname}?${next.toString()}` : null,
    });
  };
  /**
   * DateSent filters as Twilio documents them: `DateSent>` (written `DateSent>=DAY` in a URL) is on or after the
   * day's start, `DateSent<` on or before the day's end, `DateSent` that one day; a date-time bound is taken exactly.
   */
  const dayStart = (v: string) => new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v).getTime();
  const dayEnd = (v: string) =>
    /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T00:00:00Z`).getTime() + 86_400_000 - 1 : new Date(v).getTime();
  const messagesApi = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const rest = url.pathname.slice(messagesPrefix.length);
    if (rest === '.json' && req.method === 'GET') {
      const q = url.searchParams;
      const after = q.get('DateSent>');
      const before = q.get('DateSent<');
      const on = q.get('DateSent');
      for (const [name, v] of [
        ['DateSent>', after],
        ['DateSent<', before],
        ['DateSent', on],
      ] as const) {
        if (v !== null && Number.isNaN(dayStart(v)))
          return res
            .writeHead(400, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ code: 20001, message: `Invalid value for ${name}`, status: 400 }));
      }
      const all = [...messages.values()]
        .filter((m) => !q.get('To') || m.to === q.get('To'))
        .filter((m) => !q.get('From') || m.from === q.get('From'))
        .filter((m) => after === null || m.dateSent.getTime() >= dayStart(after))
        .filter((m) => before === null || m.dateSent.getTime() <= dayEnd(before))
        .filter((m) => on === null || (m.dateSent.getTime() >= dayStart(on) && m.dateSent.getTime() <= dayEnd(on)))
        .sort((a, b) => b.dateSent.getTime() - a.dateSent.getTime() || (a.sid < b.sid ? -1 : 1));
      return page(res, url, 'messages', all, messageResource);
    }
    const parts = /^\/(MM\w+)(?:\/Media(?:\/(ME\w+))?)?(\.json)?$/.exec(rest);
    const message = parts ? messages.get(parts[1]) : undefined;
    if (!parts || !message) return notFound(res);
    const [, , mediaSid, dotJson] = parts;
    const isMediaList = rest.endsWith('/Media.json');
    if (!mediaSid && !isMediaList) {
      return dotJson && req.method === 'GET' ? json(res, messageResource(message)) : res.writeHead(405).end();
    }
    if (isMediaList)
      return req.method === 'GET'
        ? page(res, url, 'media_list', live(message), (x) => mediaResource(message, x))
        : res.writeHead(405).end();
    const item = message.media.find((x) => x.sid === mediaSid);
    if (!item || item.deletedAt !== undefined) return notFound(res);
    if (req.method === 'DELETE') {
      if (item.failDeletes) {
        item.failDeletes -= 1;
        return res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"code":20500,"status":500}');
      }
      if (item.hangDeletes) {
        item.hangDeletes -= 1;
        return;
      }
      item.deletedAt = Date.now();
      deletedMedia.push(item.sid);
      return res.writeHead(204).end();
    }
    if (req.method !== 'GET') return res.writeHead(405).end();
    if (dotJson) return json(res, mediaResource(message, item));
    if (item.availableAt && Date.now() < item.availableAt) return notFound(res);
    if (item.failFetches) {
      item.failFetches -= 1;
      return res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"code":20500,"status":500}');
    }
    // as Twilio: the content is a redirect to a short-lived URL on the media CDN
    if (item.delayMs) await new Promise((r) => setTimeout(r, item.delayMs));
    return res
      .writeHead(302, {
        Location: `${host.url}/cdn/${message.sid}/${item.sid}?expires=${Date.now() + MEDIA_URL_TTL_MS}`,
        'Content-Type': 'text/html',
      })
      .end();
  };
  const serveMediaContent = (res: http.ServerResponse, messageSid: string, mediaSid: string, expires: number) => {
    const item = messages.get(messageSid)?.media.find((x) => x.sid === mediaSid);
    if (!item || item.deletedAt !== undefined) return res.writeHead(404).end();
    if (!(expires > Date.now())) return res.writeHead(403).end('expired');
    if (item.emptyFetches) {
      item.emptyFetches -= 1;
      return res.writeHead(200, { 'Content-Type': item.contentType, 'Content-Length': '0' }).end();
    }
    if (item.cutFetches) {
      // close-delimited: the body ends where the connection does, so half of it looks whole to a careless client
      item.cutFetches -= 1;
      const head = `HTTP/1.1 200 OK\r\nContent-Type: ${item.contentType}\r\nConnection: close\r\n\r\n`;
      res.socket?.end(Buffer.concat([Buffer.from(head), item.body.subarray(0, item.body.length >> 1)]));
      return;
    }
    return res
      .writeHead(200, { 'Content-Type': item.contentType, 'Content-Length': String(item.body.length) })
      .end(item.body);
  };

  return {
    host,
    baseUrl: host.url,
    recordings,
    deleted,
    messages,
    deletedMedia,
    close: () => host.close(),
  };
}
