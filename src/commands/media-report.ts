// `npm run media:report -- [options] [FILE...]`: the per-day report of inbound media fetches and stores, with an
// escalation section for days over the threshold, from log lines in files, stdin, or the deployed service's own
// logs (--service); as markdown, JSON, CSV, and/or a self-contained HTML page (--html). Exit 0 done, 1 the
// Serverless API refused or could not be reached, 2 bad arguments or configuration.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isoWithOffset } from '../lib/log';
import { buildReport, formatCsv, formatMarkdown, parseLogLines, Report, ReportSource } from '../lib/report/build';
import { renderReportPage } from '../lib/report/page';
import {
  PacingClock,
  rangeWithinRetention,
  readServiceLogs,
  resolveEnvironment,
  ServiceLogsError,
} from '../lib/report/service-logs';
import { DEPLOY_INFO_FILE, DeployInfoError, findDeployedService } from '../lib/deploy-info';
import { twilioClientFrom } from '../lib/recordings/client';
import { requireCredentials, SettingsError } from '../lib/settings';
import { parseCommandArgs, parseDateFlag, UsageError } from './args';
import { loadLocalSettings } from './settings';

export const USAGE = `usage: npm run media:report -- [options] [FILE...]   (reads stdin without FILE or --service)
  --service             read the deployed service's logs (Serverless API; service from .twiliodeployinfo)
  --environment ENV     with --service: the environment's domain suffix or ZE SID (default dev)
  --production          with --service: the environment without a domain suffix
  --since DATE          with --service: from DATE (YYYY-MM-DD, UTC, or ISO 8601; default the start of the UTC day 7 days ago)
  --until DATE          with --service: up to DATE (a whole day when DATE has no time; default now)
  --threshold N         days with N or more fetches that met a 404 get an escalation section (default 24)
  --json | --csv        the report as JSON or CSV on stdout instead of markdown
  --html FILE           also write the report as one self-contained HTML page with charts`;

const DEFAULT_DAYS = 7;

interface Args {
  threshold: number;
  format: 'markdown' | 'json' | 'csv';
  html?: string;
  files: string[];
  service?: { environment: string; since?: Date; until?: Date };
}

export function parseReportArgs(argv: string[]): Args {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    options: {
      threshold: { type: 'string' },
      json: { type: 'boolean' },
      csv: { type: 'boolean' },
      html: { type: 'string' },
      service: { type: 'boolean' },
      environment: { type: 'string' },
      production: { type: 'boolean' },
      since: { type: 'string' },
      until: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (values.json && values.csv) throw new UsageError('--json and --csv exclude each other');
  const threshold = values.threshold ?? '24';
  if (!/^\d+$/.test(threshold) || Number(threshold) < 1) {
    throw new UsageError(`--threshold needs a whole number of at least 1, got "${threshold}"`);
  }
  if (values.html !== undefined && values.html.trim() === '') throw new UsageError('--html needs a file name');
  const args: Args = {
    threshold: Number(threshold),
    format: values.json ? 'json' : values.csv ? 'csv' : 'markdown',
    html: values.html,
    files: positionals,
  };
  if (!values.service) {
    for (const flag of ['environment', 'production', 'since', 'until'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --service`);
    }
    return args;
  }
  if (positionals.length) throw new UsageError(`--service reads the service's logs: drop "${positionals[0]}"`);
  if (values.production && values.environment !== undefined)
    throw new UsageError('--production and --environment exclude each other');
  const since = values.since === undefined ? undefined : parseDateFlag('--since', values.since, false);
  const until = values.until === undefined ? undefined : parseDateFlag('--until', values.until, true);
  if (since && until && since >= until)
    throw new UsageError(`--since (${since.toISOString()}) is not before --until (${until.toISOString()})`);
  args.service = { environment: values.production ? '' : (values.environment ?? 'dev'), since, until };
  return args;
}

export interface ReportIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: NodeJS.ReadableStream;
  out(text: string): void;
  err(text: string): void;
  now(): Date;
  /** what the Logs requests' pacing reads and waits on; default the real clock */
  pacing?: PacingClock;
}

const processIo = (): ReportIo => ({
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  now: () => new Date(),
});

/** The report's log lines and where they came from, read from the deployed service. */
async function linesFromService(
  service: NonNullable<Args['service']>,
  io: ReportIo,
): Promise<{ lines: string[]; source: ReportSource }> {
  loadLocalSettings(io.cwd, io.env);
  const credentials = requireCredentials(io.env);
  const client = twilioClientFrom(io.env, { autoRetry: true });
  const { serviceSid, foundBy } = await findDeployedService({
    cwd: io.cwd,
    credentials,
    region: io.env.TWILIO_REGION,
    client,
    hint: ', or run from the project that deployed the service',
  });
  if (foundBy !== DEPLOY_INFO_FILE) io.err(`media:report: service ${serviceSid} found by ${foundBy}`);
  const now = io.now();
  const until = service.until && service.until < now ? service.until : now;
  // whole UTC days by default: a range starting at this hour would show its first day cut short
  const asked = service.since ?? new Date((Math.floor(now.getTime() / 86_400_000) - DEFAULT_DAYS) * 86_400_000);
  if (asked >= until)
    throw new UsageError(`--since (${asked.toISOString()}) is not before the end (${until.toISOString()})`);
  const range = rangeWithinRetention(asked, until, now);
  for (const note of range.notes) io.err(`media:report: warning: ${note}`);
  const environment = await resolveEnvironment(client, serviceSid, service.environment);
  io.err(
    `media:report: reading the logs of ${environment.domainName} (${serviceSid}, ${environment.sid}) from ${range.since.toISOString()} to ${range.until.toISOString()}`,
  );
  const { entries, notes } = await readServiceLogs(
    client,
    serviceSid,
    environment.sid,
    range,
    (line) => io.err(line),
    io.pacing,
  );
  for (const note of notes) io.err(`media:report: warning: ${note}`);
  if (!entries.length) io.err('media:report: the service logged nothing in this range');
  return {
    // one entry is one console.log call; a message may hold several lines
    lines: entries.flatMap((e) => e.message.split(/\r?\n/)),
    source: {
      kind: 'service',
      serviceSid,
      environmentSid: environment.sid,
      environment: service.environment || '(production)',
      since: range.since.toISOString(),
      until: range.until.toISOString(),
      logEntries: entries.length,
      notes: [...range.notes, ...notes],
    },
  };
}

async function linesFromInput(files: string[], io: ReportIo): Promise<{ lines: string[]; source: ReportSource }> {
  let text = '';
  if (files.length === 0) {
    for await (const chunk of io.stdin) text += chunk.toString();
    return { lines: text.split(/\r?\n/), source: { kind: 'stdin' } };
  }
  for (const file of files) {
    try {
      text += fs.readFileSync(path.resolve(io.cwd, file), 'utf8') + '\n';
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return { lines: text.split(/\r?\n/), source: { kind: 'files', files } };
}

/** Chart.js's UMD build, from the installed package (its exports map names only the module builds). */
function chartJsSource(): string {
  return fs.readFileSync(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

function writePage(report: Report, file: string, io: ReportIo): void {
  const target = path.resolve(io.cwd, file);
  try {
    fs.writeFileSync(
      target,
      renderReportPage(report, { chartJs: chartJsSource(), generatedAt: isoWithOffset(io.now().getTime()) }),
    );
  } catch (err) {
    throw new UsageError(
      `--html: cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const escalated = report.days.filter((d) => d.escalate).length;
  io.err(`media:report: wrote ${file} (${report.days.length} days, ${escalated} over the threshold)`);
}

export async function main(argv: string[], io: ReportIo = processIo()): Promise<number> {
  try {
    const args = parseReportArgs(argv);
    const { lines, source } = args.service
      ? await linesFromService(args.service, io)
      : await linesFromInput(args.files, io);
    const { records, skipped, recordingFetches, storeRecords, recordingStoreRecords } = parseLogLines(lines);
    const report: Report = {
      ...buildReport(records, args.threshold, skipped, recordingFetches, storeRecords, recordingStoreRecords),
      source,
    };
    if (args.html) writePage(report, args.html, io);
    if (args.format === 'json') io.out(JSON.stringify(report, null, 2) + '\n');
    else if (args.format === 'csv') io.out(formatCsv(report));
    // with --html alone the page is the output; markdown on stdout too would only scroll the progress away
    else if (!args.html) io.out(formatMarkdown(report));
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`media:report: ${err.message}\n${USAGE}`);
      return 2;
    }
    if (
      err instanceof SettingsError ||
      err instanceof DeployInfoError ||
      (err instanceof ServiceLogsError && err.kind === 'config')
    ) {
      io.err(`media:report: ${err.message}`);
      return 2;
    }
    if (err instanceof ServiceLogsError) {
      io.err(`media:report: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
