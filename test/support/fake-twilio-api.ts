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
}

export interface FakeTwilioApi {
  host: FakeHost;
  baseUrl: string;
  recordings: Map<string, FakeRecording>;
  deleted: string[];
  close(): Promise<void>;
}

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
  recordings: FakeRecording[];
  pageSize?: number;
}): Promise<FakeTwilioApi> {
  const recordings = new Map(options.recordings.map((r) => [r.sid, r]));
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
    channels: 1,
    source: 'RecordVerb',
    error_code: r.errorCode ?? null,
    uri: `${prefix}/${r.sid}.json`,
    encryption_details: null,
    subresource_uris: {},
    media_url: r.mediaUrl ?? `https://api.twilio.com${prefix}/${r.sid}`,
  });
  const host = await startFakeHost((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
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
    const one = new RegExp(`^${prefix}/(RE\\w+)\\.(json|wav)$`).exec(url.pathname);
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
    if (one[2] === 'wav' && req.method === 'GET') {
      if (recording.status !== 'completed' || (recording.availableAt && Date.now() < recording.availableAt))
        return res.writeHead(404).end();
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
  return { host, baseUrl: host.url, recordings, deleted, close: () => host.close() };
}
