import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { main, ReportIo } from '../../src/commands/media-report';
import type { Report } from '../../src/lib/report/build';
import { mediaLogLines } from '../support/media-log';

const lines = mediaLogLines([
  { day: '2026-11-26', fetches: 30, with404: 26, gaveUp: 2, storeFailed: 1, deleted: 20 },
  { day: '2026-11-27', fetches: 10, with404: 1, gaveUp: 0 },
]).map((l) => l.text);

async function run(
  argv: string[],
  stdin: string[] = [],
): Promise<{ code: number; out: string; err: string; cwd: string }> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-report-cli-'));
  fs.writeFileSync(path.join(cwd, 'media.log'), lines.join('\n'));
  let out = '';
  let err = '';
  const io: ReportIo = {
    env: {},
    cwd,
    stdin: Readable.from([stdin.join('\n')]),
    out: (t) => (out += t),
    err: (t) => (err += `${t}\n`),
    now: () => new Date('2026-11-28T00:00:00Z'),
  };
  const code = await main(argv, io);
  return { code, out, err, cwd };
}

describe('media:report flags and exit codes', () => {
  it.each([
    [['--yes'], 'unknown option "--yes"'],
    [['--json', '--csv'], '--json and --csv exclude each other'],
    [['--threshold', '0'], '--threshold needs a whole number of at least 1, got "0"'],
    [['--threshold', '2.5'], '--threshold needs a whole number of at least 1, got "2.5"'],
    [['--threshold'], '--threshold needs a value'],
    [['--html'], '--html needs a value'],
    [['--html', ' '], '--html needs a file name'],
    [['--since', '2026-11-01'], '--since needs --service'],
    [['--environment', 'dev'], '--environment needs --service'],
    [['--service', 'media.log'], '--service reads the service\'s logs: drop "media.log"'],
    [['--service', '--production', '--environment', 'dev'], '--production and --environment exclude each other'],
    [
      ['--service', '--since', '2026-02-30'],
      '--since: "2026-02-30" is not a date (YYYY-MM-DD, a UTC day) or an ISO 8601 date-time with its offset',
    ],
    [['--service', '--until', 'yesterday'], '--until: "yesterday" is not a date'],
    [
      ['--service', '--since', '2026-11-20', '--until', '2026-11-19'],
      '--since (2026-11-20T00:00:00.000Z) is not before --until',
    ],
    [['missing.log'], 'cannot read missing.log: ENOENT'],
    [['--html', 'no-such-dir/report.html', 'media.log'], '--html: cannot write no-such-dir/report.html: ENOENT'],
  ])('%j exits 2 naming the flag or file', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`media:report: ${message}`);
    expect(r.err).toContain('usage: npm run media:report');
    expect(r.out).toBe('');
  });

  it('reads stdin without FILE, and prints markdown with the store outcomes and p99', async () => {
    const r = await run([], lines);
    expect(r.code).toBe(0);
    expect(r.out).toContain('| 2026-11-26 | 30 | 30 | 26 |');
    expect(r.out).toContain('## Media store outcomes');
    expect(r.out).toMatch(/\| 2026-11-26 \| 27 \| 0 \| 1 \| 0 \| 20 \| 0 \|/);
    expect(r.out).toContain('p99 delay ms');
    expect(r.out).toContain('## Escalation for 2026-11-26');
  });

  it('--csv appends p99, the store outcomes and the recording outcomes after the older columns', async () => {
    const r = await run(['--csv', 'media.log']);
    const [header, first] = r.out.split('\n');
    expect(header).toBe(
      'day,fetches,messages,with404,transient404,notFoundResponses,retries,gaveUp,p50DelayMs,p95DelayMs,escalate,p99DelayMs,store_stored,store_already_stored,store_store_failed,store_conflict,store_deleted,store_delete_failed,recording_stored,recording_already_stored,recording_store_failed,recording_conflict,recording_deleted,recording_delete_failed',
    );
    expect(first).toMatch(/^2026-11-26,30,30,26,24,\d+,\d+,2,\d+,\d+,true,\d+,27,0,1,0,20,0,0,0,0,0,0,0$/);
  });

  it('--html alone writes the page and leaves stdout empty; with --json the page embeds the printed report', async () => {
    const alone = await run(['--html', 'report.html', 'media.log']);
    expect(alone.code).toBe(0);
    expect(alone.out).toBe('');
    expect(alone.err).toContain('media:report: wrote report.html (2 days, 1 over the threshold)');
    const both = await run(['--html', 'report.html', '--json', '--threshold', '30', 'media.log']);
    expect(both.code).toBe(0);
    const printed = JSON.parse(both.out) as Report;
    const page = fs.readFileSync(path.join(both.cwd, 'report.html'), 'utf8');
    const embedded = /<script type="application\/json" id="report-json">(.*?)<\/script>/s.exec(page)?.[1];
    expect(JSON.parse(embedded ?? '')).toEqual(printed);
    expect(printed.threshold).toBe(30);
    expect(printed.days.some((d) => d.escalate)).toBe(false);
    expect(page).toContain('No day reached the threshold of 30');
  });
});
