import {
  listPages,
  MediaResource,
  mediaContentUrl,
  mediaListPath,
  MessageResource,
  messagesListPath,
  restApi,
  TwilioApiError,
  wantedMessage,
} from '../../src/lib/sync/twilio-messages';
import { startFakeHost } from '../support/fake-host';
import { FakeMessage, FakeTwilioApi, startFakeTwilioApi } from '../support/fake-twilio-api';

const AC = 'AC' + '3'.repeat(32);
const TOKEN = 'sync-listing-token';
const mm = (n: number) => `MM${String(n).padStart(32, '0')}`;
const me = (n: number, i: number) => `ME${String(n).padStart(30, '0')}${String(i).padStart(2, '0')}`;
const at = (iso: string) => new Date(iso);

function messages(): FakeMessage[] {
  const media = (n: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({
      sid: me(n, i),
      contentType: 'image/png',
      body: Buffer.from(`m${n}-${i}`),
    }));
  return [
    { sid: mm(1), to: '+15005550001', from: '+15005550006', dateSent: at('2026-11-01T00:00:00Z'), media: media(1, 1) },
    { sid: mm(2), to: '+15005550001', from: '+15005550006', dateSent: at('2026-11-02T08:30:00Z'), media: media(2, 3) },
    { sid: mm(3), to: '+15005550002', from: '+15005550006', dateSent: at('2026-11-02T23:59:59Z'), media: media(3, 1) },
    // no media: listed by Twilio, skipped by the sync
    { sid: mm(4), to: '+15005550001', from: '+15005550006', dateSent: at('2026-11-03T10:00:00Z'), media: [] },
    // outbound with media: not ours to keep
    {
      sid: mm(5),
      to: '+15005550006',
      from: '+15005550001',
      direction: 'outbound-api',
      dateSent: at('2026-11-03T11:00:00Z'),
      media: media(5, 1),
    },
    { sid: mm(6), to: '+15005550001', from: '+15005550006', dateSent: at('2026-11-05T12:00:00Z'), media: media(6, 2) },
  ];
}

describe('listing inbound messages and their media through the REST API', () => {
  let api: FakeTwilioApi;
  beforeEach(async () => {
    api = await startFakeTwilioApi({ accountSid: AC, authToken: TOKEN, messages: messages(), pageSize: 2 });
  });
  afterEach(() => api.close());
  const get = () => restApi({ base: api.baseUrl, auth: { username: AC, password: TOKEN } });

  async function all<T>(gen: AsyncGenerator<T[]>): Promise<{ items: T[]; pages: number }> {
    const items: T[] = [];
    let pages = 0;
    for await (const page of gen) {
      pages += 1;
      items.push(...page);
    }
    return { items, pages };
  }

  it('asks Twilio for whole days (DateSent> the first, DateSent< the day after the last) and a page size', () => {
    const path = messagesListPath(
      AC,
      { since: at('2026-11-02T08:00:00Z'), until: at('2026-11-03T23:59:59.999Z') },
      '+15005550001',
      50,
    );
    const url = new URL(path, 'http://x');
    expect(url.pathname).toBe(`/2010-04-01/Accounts/${AC}/Messages.json`);
    expect(url.searchParams.get('DateSent>')).toBe('2026-11-02');
    expect(url.searchParams.get('DateSent<')).toBe('2026-11-04');
    expect(url.searchParams.get('To')).toBe('+15005550001');
    expect(url.searchParams.get('PageSize')).toBe('50');
    // as written in Twilio's docs: DateSent>=2026-11-02
    expect(path).toContain('DateSent%3E=2026-11-02');
  });

  it('follows next_page_uri over every page, each message once, and keeps only inbound media in the exact range', async () => {
    const range = { since: at('2026-11-01T00:00:00Z'), until: at('2026-11-02T23:59:59.999Z') };
    const { items, pages } = await all(
      listPages<MessageResource>(get(), messagesListPath(AC, range, undefined, 2), 'messages'),
    );
    // Twilio's whole days reach to the end of Nov 3: five messages on three pages; the filter keeps the three in range
    expect(pages).toBe(3);
    expect(items.map((m) => m.sid).sort()).toEqual([mm(1), mm(2), mm(3), mm(4), mm(5)].sort());
    expect(
      items
        .filter((m) => wantedMessage(m, range))
        .map((m) => m.sid)
        .sort(),
    ).toEqual([mm(1), mm(2), mm(3)]);
    const listCalls = api.host.requests.filter((r) => r.url.includes('/Messages.json'));
    expect(listCalls).toHaveLength(3);
    expect(
      listCalls.every((r) => r.headers.authorization === `Basic ${Buffer.from(`${AC}:${TOKEN}`).toString('base64')}`),
    ).toBe(true);
  });

  it('applies the exact bounds of date-times inside the day', async () => {
    const range = { since: at('2026-11-02T09:00:00Z'), until: at('2026-11-02T23:59:59Z') };
    const { items } = await all(listPages<MessageResource>(get(), messagesListPath(AC, range), 'messages'));
    expect(items.filter((m) => wantedMessage(m, range)).map((m) => m.sid)).toEqual([mm(3)]);
  });

  it('filters by To', async () => {
    const range = { since: at('2026-11-01T00:00:00Z'), until: at('2026-11-30T00:00:00Z') };
    const { items } = await all(
      listPages<MessageResource>(get(), messagesListPath(AC, range, '+15005550002'), 'messages'),
    );
    expect(items.map((m) => m.sid)).toEqual([mm(3)]);
  });

  it("lists a message's media over pages, with the fields the sync uses", async () => {
    const { items, pages } = await all(listPages<MediaResource>(get(), mediaListPath(AC, mm(2), 2), 'media_list'));
    expect(pages).toBe(2);
    expect(items.map((m) => m.sid)).toEqual([me(2, 0), me(2, 1), me(2, 2)]);
    expect(items[0]).toMatchObject({ parent_sid: mm(2), content_type: 'image/png' });
    expect(mediaContentUrl(api.baseUrl, items[0])).toBe(
      `${api.baseUrl}/2010-04-01/Accounts/${AC}/Messages/${mm(2)}/Media/${me(2, 0)}`,
    );
  });

  it('refuses bad credentials at once (no retry), naming the status and the code', async () => {
    const bad = restApi({ base: api.baseUrl, auth: { username: AC, password: 'wrong' }, sleep: async () => {} });
    await expect(bad(messagesListPath(AC, {}))).rejects.toMatchObject({
      status: 401,
      message: expect.stringContaining('20003'),
    });
    expect(api.host.requests).toHaveLength(1);
  });
});

describe('restApi', () => {
  it('retries 429 and 5xx, then answers', async () => {
    let n = 0;
    const host = await startFakeHost((_req, res) => {
      n += 1;
      if (n === 1) return res.writeHead(503).end();
      if (n === 2)
        return res.writeHead(429, { 'Retry-After': '0' }).end('{"code":20429,"message":"Too many requests"}');
      return res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"messages":[],"next_page_uri":null}');
    });
    const slept: number[] = [];
    try {
      const get = restApi({
        base: host.url,
        auth: { username: AC, password: TOKEN },
        sleep: async (ms) => void slept.push(ms),
      });
      await expect(get('/x.json')).resolves.toEqual({ messages: [], next_page_uri: null });
      expect(n).toBe(3);
      expect(slept).toHaveLength(2);
      expect(slept[1]).toBe(0); // Retry-After: 0 honoured
    } finally {
      await host.close();
    }
  });

  it('gives up after its attempts, and refuses a page without its list or a next_page_uri that repeats', async () => {
    const host = await startFakeHost((req, res) => {
      if (req.url === '/fail') return res.writeHead(500).end();
      if (req.url === '/odd') return res.writeHead(200).end('{"something":[]}');
      return res.writeHead(200).end('{"messages":[{"sid":"x"}],"next_page_uri":"/loop"}');
    });
    try {
      const get = restApi({
        base: host.url,
        auth: { username: AC, password: TOKEN },
        attempts: 2,
        sleep: async () => {},
      });
      await expect(get('/fail')).rejects.toThrow(/500 \(after 2 attempts\)/);
      const drain = async (first: string) => {
        for await (const page of listPages(get, first, 'messages')) void page;
      };
      await expect(drain('/odd')).rejects.toThrow(/has no "messages" list/);
      await expect(drain('/loop')).rejects.toThrow(TwilioApiError);
      await expect(drain('/loop')).rejects.toThrow(/repeats/);
    } finally {
      await host.close();
    }
  });
});
