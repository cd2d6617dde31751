import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { main as report } from '../../src/commands/media-report';
import { ForeignHostError, onApiOrigin } from '../../src/lib/http/api-origin';
import { listPages, restApi, TwilioApiError } from '../../src/lib/sync/twilio-messages';
import { twilioClientFrom } from '../../src/lib/recordings/client';
import { FakeHost, startFakeHost } from '../support/fake-host';
import { startFakeServerlessLogs } from '../support/fake-serverless-logs';

// No paged request carries the credentials off the configured origin: a next page naming another host is refused,
// naming it, and the other host (a second loopback server here) receives nothing.
const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
const AUTH_TOKEN = 'origin-test-token';
const authorization = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`;

let foreign: FakeHost;
beforeAll(async () => {
  foreign = await startFakeHost((_req, res) => res.end('{}'));
});
afterAll(() => foreign.close());
beforeEach(() => (foreign.requests.length = 0));

describe('onApiOrigin: the one rule', () => {
  const twilio = {
    pattern: /^https:\/\/serverless(\.[a-z0-9-]+){0,2}\.twilio\.com$/,
    name: 'https://serverless.twilio.com',
  };

  it('takes a path on the base, even one that starts with //', () => {
    expect(onApiOrigin('/v1/x?Page=1', ['http://127.0.0.1:9'], 'http://127.0.0.1:9')).toBe(
      'http://127.0.0.1:9/v1/x?Page=1',
    );
    expect(onApiOrigin('//evil.example/x', ['https://api.twilio.com'], 'https://api.twilio.com')).toBe(
      'https://api.twilio.com//evil.example/x',
    );
  });

  it("accepts the configured origin, and Twilio's host with a region and edge", () => {
    expect(onApiOrigin('http://127.0.0.1:9/v1/Logs', ['http://127.0.0.1:9/'])).toBe('http://127.0.0.1:9/v1/Logs');
    expect(onApiOrigin('https://serverless.dublin.ie1.twilio.com/v1/Logs', [twilio])).toBe(
      'https://serverless.dublin.ie1.twilio.com/v1/Logs',
    );
  });

  it.each([
    ['another host', 'https://evil.example/v1/Logs', 'evil.example'],
    ['another port', 'http://127.0.0.1:10/v1/Logs', '127.0.0.1:10'],
    ['another scheme', 'http://serverless.twilio.com/v1/Logs', 'serverless.twilio.com'],
    ['a look-alike', 'https://serverless.twilio.com.evil.example/v1', 'serverless.twilio.com.evil.example'],
    ['userinfo', 'https://serverless.twilio.com@evil.example/v1', 'evil.example'],
  ])('refuses %s, naming the host', (_what, url, host) => {
    let error: unknown;
    try {
      onApiOrigin(url, ['http://127.0.0.1:9', twilio]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ForeignHostError);
    expect((error as ForeignHostError).host).toBe(host);
    expect((error as Error).message).toContain(`refused a request to ${host} `);
    expect((error as Error).message).toContain(
      'not the configured Twilio API origin (http://127.0.0.1:9, https://serverless.twilio.com)',
    );
  });
});

describe('every paged client follows pages on the configured origin only', () => {
  it('media:report --service: a Logs next_page_url on another host fails naming it; nothing is sent there', async () => {
    const api = await startFakeServerlessLogs({
      username: ACCOUNT_SID,
      password: AUTH_TOKEN,
      nextPageOrigin: foreign.url,
    });
    try {
      // one page more than the report's PageSize (1000), so that the first page names a next one
      const at = Date.parse('2026-11-29T10:00:00Z');
      api.add(
        Array.from({ length: 1001 }, (_, i) => ({
          message: `line ${i}`,
          date_created: new Date(at + i * 1000).toISOString(),
        })),
      );
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-origin-'));
      fs.writeFileSync(
        path.join(cwd, '.twiliodeployinfo'),
        JSON.stringify({ [`${ACCOUNT_SID}:us1`]: { serviceSid: api.serviceSid, latestBuild: `ZB${'2'.repeat(32)}` } }),
      );
      let out = '';
      let err = '';
      const code = await report(['--service', '--since', '2026-11-29', '--until', '2026-11-29', '--json'], {
        env: { ACCOUNT_SID, AUTH_TOKEN, TWILIO_SERVERLESS_BASE_URL: api.url },
        cwd,
        stdin: Readable.from([]),
        out: (t) => (out += t),
        err: (t) => (err += `${t}\n`),
        now: () => new Date('2026-11-30T09:00:00Z'),
      });
      expect(foreign.requests).toEqual([]);
      expect(code).toBe(1);
      expect(out).toBe('');
      expect(err).toContain(`refused a request to ${foreign.host} (${foreign.url}/v1/Services/${api.serviceSid}/`);
      expect(err).toContain(
        `not the configured Twilio API origin (https://api.twilio.com, https://studio.twilio.com, ${api.url})`,
      );
      expect(api.logQueries).toHaveLength(1);
    } finally {
      await api.close();
    }
  });

  it('twilio-node list() (serverless lookups, recordings, Studio): a foreign next_page_url is refused before it is sent', async () => {
    const api = await startFakeHost((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          environments: [{ sid: `ZE${'e'.repeat(32)}`, domain_suffix: 'dev', domain_name: 'x-dev.twil.io' }],
          meta: { page: 0, page_size: 1, key: 'environments', next_page_url: `${foreign.url}${req.url}&Page=1` },
        }),
      );
    });
    try {
      const client = twilioClientFrom({ ACCOUNT_SID, AUTH_TOKEN, TWILIO_SERVERLESS_BASE_URL: api.url });
      const listing = client.serverless.v1.services(`ZS${'a'.repeat(32)}`).environments.list({ pageSize: 1 });
      await expect(listing).rejects.toThrow(new RegExp(`^refused a request to ${foreign.host} `));
      await expect(listing).rejects.toBeInstanceOf(ForeignHostError);
      expect(api.requests).toHaveLength(1);
      expect(api.requests[0].headers.authorization).toBe(authorization);
      expect(foreign.requests).toEqual([]);
    } finally {
      await api.close();
    }
  });

  it("twilio-node still follows a next_page_url on Twilio's own host, rewritten to the configured base", async () => {
    const api = await startFakeHost((req, res) => {
      const page = new URL(req.url ?? '/', 'http://x').searchParams.get('Page') ?? '0';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          environments: [{ sid: `ZE${page.padStart(32, '0')}` }],
          meta: {
            key: 'environments',
            next_page_url: page === '0' ? `https://serverless.twilio.com/v1/Services/ZS1/Environments?Page=1` : null,
          },
        }),
      );
    });
    try {
      const client = twilioClientFrom({ ACCOUNT_SID, AUTH_TOKEN, TWILIO_SERVERLESS_BASE_URL: api.url });
      const all = await client.serverless.v1.services('ZS1').environments.list();
      expect(all.map((e) => e.sid)).toEqual([`ZE${'0'.repeat(32)}`, `ZE${'1'.padStart(32, '0')}`]);
      expect(api.requests).toHaveLength(2);
    } finally {
      await api.close();
    }
  });

  it('media:sync (Messages and Media lists): a next_page_uri naming another host fails naming it', async () => {
    const api = await startFakeHost((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          messages: [],
          next_page_uri: `${foreign.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json?Page=1`,
        }),
      );
    });
    try {
      const get = restApi({ base: api.url, auth: { username: ACCOUNT_SID, password: AUTH_TOKEN } });
      const pages = listPages(get, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`, 'messages');
      expect((await pages.next()).value).toEqual([]);
      const next = pages.next();
      await expect(next).rejects.toBeInstanceOf(TwilioApiError);
      await expect(next).rejects.toThrow(`refused a request to ${foreign.host} (${foreign.url}/2010-04-01/`);
      expect(api.requests).toHaveLength(1);
      expect(foreign.requests).toEqual([]);
    } finally {
      await api.close();
    }
  });
});
