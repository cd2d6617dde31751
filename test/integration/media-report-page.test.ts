import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, Browser } from 'playwright-core';
import { formatEscalation, Report } from '../../src/lib/report/build';
import { CHROMIUM, CHROMIUM_FLAGS } from '../support/chromium';
import { FakeServerlessLogs, startFakeServerlessLogs } from '../support/fake-serverless-logs';
import { exampleWeek, mediaLogLines } from '../support/media-log';
import { PROJECT_ROOT } from '../support/paths';

const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
const AUTH_TOKEN = 'page-test-token';
const TSX = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
const COMMAND = path.join(PROJECT_ROOT, 'src', 'commands', 'media-report.ts');

/** `npm run media:report -- ARGS` as the script runs it (tsx src/commands/media-report.ts), from `cwd`. */
function mediaReport(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [COMMAND, ...args], { cwd, env: { PATH: process.env.PATH, HOME: cwd, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

describe('media:report --service --html: the page, in Chromium with no network', () => {
  let api: FakeServerlessLogs;
  let browser: Browser;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  // the example week, ending yesterday: within the 30 days Twilio keeps, so the command's default range reads it
  const firstDay = new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10);
  const plan = exampleWeek(firstDay);
  const badDay = plan.find((d) => d.with404 === 30)!.day;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`,
      );
    api = await startFakeServerlessLogs({ username: ACCOUNT_SID, password: AUTH_TOKEN });
    api.add(mediaLogLines(plan).map((l) => ({ message: l.text, date_created: l.at, level: l.level })));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-report-page-'));
    fs.writeFileSync(
      path.join(dir, '.twiliodeployinfo'),
      JSON.stringify({ [`${ACCOUNT_SID}:us1`]: { serviceSid: api.serviceSid, latestBuild: `ZB${'2'.repeat(32)}` } }),
    );
    env = { ACCOUNT_SID, AUTH_TOKEN, TWILIO_SERVERLESS_BASE_URL: api.url };
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  it('shows the bad day over the threshold line, lists its escalation rows as --json does, requests nothing', async () => {
    const html = await mediaReport(['--service', '--html', 'report.html'], dir, env);
    expect(html.err).toContain('wrote report.html (');
    expect(html.code).toBe(0);
    expect(html.out).toBe('');
    const json = await mediaReport(['--service', '--json'], dir, env);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.out) as Report;
    expect(report.days.find((d) => d.day === badDay)).toMatchObject({ with404: 30, escalate: true });

    const file = path.join(dir, 'report.html');
    const fileUrl = pathToFileURL(file).href;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, offline: true });
    const requests: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    await context.route('**/*', (route) =>
      route.request().url() === fileUrl ? route.continue() : route.abort('blockedbyclient'),
    );
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(fileUrl);
    // (page code as strings: the tests are type-checked without the DOM library)
    await page.waitForFunction('document.documentElement.dataset.charts !== undefined', undefined, {
      timeout: 30_000,
    });
    expect(errors).toEqual([]);
    expect(requests).toEqual([fileUrl]);

    // the page's numbers are the --json report's (the source differs only by when each run read the service)
    const embedded = JSON.parse((await page.locator('#report-json').textContent()) ?? '') as Report;
    expect({ ...embedded, source: undefined }).toEqual({ ...report, source: undefined });

    // every chart drew something
    const inked = await page.evaluate<[string, number][]>(`[...document.querySelectorAll('canvas')].map((c) => {
      const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n += 1;
      return [c.id, n];
    })`);
    expect(inked.map(([id]) => id)).toEqual(['chart-days', 'chart-delay', 'chart-store']);
    for (const [, n] of inked) expect(n).toBeGreaterThan(2000);

    // the bad day's 404 bar reaches above the threshold line; the other days' bars stay below it
    const bars = await page.evaluate<boolean[]>(`(() => {
      const chart = Chart.getChart('chart-days');
      const threshold = chart.getDatasetMeta(3).data.map((e) => e.y);
      return chart.getDatasetMeta(1).data.map((e, i) => e.y < threshold[i]);
    })()`);
    expect(bars).toEqual(report.days.map((d) => d.escalate));

    // the per-day table and the escalation table hold the report's rows, cell for cell
    const dayRows = await page.$$eval('#days-table tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)),
    );
    const dash = (v: number | null) => (v === null ? '-' : String(v));
    expect(dayRows).toEqual(
      report.days.map((d) =>
        [d.day, d.fetches, d.messages, d.with404, d.transient404, d.notFoundResponses, d.retries, d.gaveUp]
          .map(String)
          .concat([dash(d.p50DelayMs), dash(d.p95DelayMs), dash(d.p99DelayMs), d.escalate ? 'yes' : 'no']),
      ),
    );
    const escalationRows = await page.$$eval(`table.escalation[data-day="${badDay}"] tbody tr`, (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)),
    );
    const day = report.days.find((d) => d.day === badDay)!;
    expect(escalationRows).toEqual(
      day.incidents.map((r) => [
        r.messageSid,
        r.mediaUrl,
        r.webhookReceivedAt,
        r.endedAt,
        String(r.delayMs),
        `${r.outcome}${r.reason ? ` (${r.reason})` : ''}`,
        String(r.notFoundCount),
        String(r.attemptCount),
      ]),
    );
    expect(escalationRows).toHaveLength(30);
    for (const row of escalationRows) expect(row[2]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d$/);
    const storeRows = await page.$$eval('#store-table tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => Number(td.textContent))),
    );
    expect(storeRows.map((r) => r.slice(1))).toEqual(
      report.days.map((d) => [
        d.store.stored,
        d.store.already_stored,
        d.store.store_failed,
        d.store.conflict,
        d.store.deleted,
        d.store.delete_failed,
      ]),
    );

    // the copy button copies the escalation as text, the same text the markdown report holds
    await page.click('#copy-escalation');
    await page.waitForSelector('#copy-escalation[data-copied="true"]');
    expect(await page.locator('#copy-status').textContent()).toMatch(/^Copied \d+ lines\.$/);
    expect(await page.locator('#escalation-text').textContent()).toBe(formatEscalation(report));

    // readable at a laptop's width: nothing but the wide tables' own scrollers goes past the window
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    const shot = path.join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(50_000);
    // printable: the print stylesheet lays it out on pages, still without a request
    const pdf = path.join(dir, 'report.pdf');
    await page.pdf({ path: pdf, format: 'A4', printBackground: true });
    expect(fs.readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    expect(requests).toEqual([fileUrl]);
    await context.close();
  }, 180_000);
});
