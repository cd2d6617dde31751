// `npm run recordings -- audit | archive | purge [options]`: where each recording's audio lives, a verified
// archive of what Twilio holds, and deletion of verified copies only. Credentials come from the environment,
// .env.local or .env (ACCOUNT_SID with AUTH_TOKEN, or API_KEY and API_SECRET). Exit 0 done, 1 some recording failed,
// 2 bad arguments or configuration.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  archiveRecordings,
  DateRange,
  IndexEntry,
  INDEX_NAME,
  LEDGER_NAME,
  parseJsonLines,
  purgeRecordings,
  RecordingSource,
  twilioRecordingSource,
} from '../lib/recordings/archive';
import { auditRows, formatAuditTable } from '../lib/recordings/audit';
import { parseS3Destination, S3Store } from '../lib/storage/s3-store';
import { LocalFolderStore, ObjectStore } from '../lib/storage/store';
import { jsonLine, LogRecord } from '../lib/log';
import { parseCommandArgs, parseDateFlag, UsageError } from './args';
import { runFromProcess } from './settings';

export const USAGE = `usage: npm run recordings -- <command> [options]
  audit    every recording: date, duration, status, where its audio lives, its archived copy, when a deleted one's metadata is purged
  archive  download completed recordings held by Twilio to the archive, verified by sha256, listed in index.jsonl
  purge    delete from Twilio the recordings whose archived copy verifies now (dry run unless --yes); writes purge-ledger.jsonl
options:
  --since DATE       only recordings created on or after DATE (YYYY-MM-DD, UTC, or an ISO 8601 date-time with Z or +HH:MM)
  --until DATE       only recordings created on or before DATE (a whole day when DATE has no time)
  --dest DEST        archive folder, or s3://BUCKET/PREFIX (default: RECORDINGS_ARCHIVE, else ./recordings-archive)
  --json             machine-readable output
  --yes              purge: really delete
  --timeout SECONDS  archive: time allowed per download, retries included (default 120)
  --verbose          every fetch outcome as a JSON line on stderr (warnings are always shown)`;

interface Args {
  command: 'audit' | 'archive' | 'purge';
  range: DateRange;
  dest?: string;
  json: boolean;
  yes: boolean;
  timeoutMs: number;
  verbose: boolean;
}

/** The options every command takes, and those only one command takes. */
const COMMON_OPTIONS = {
  since: { type: 'string' },
  until: { type: 'string' },
  dest: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
} as const;
const ALL_OPTIONS = { ...COMMON_OPTIONS, yes: { type: 'boolean' }, timeout: { type: 'string' } } as const;
const OPTIONS_OF: Record<Args['command'], Partial<typeof ALL_OPTIONS>> = {
  audit: COMMON_OPTIONS,
  archive: { ...COMMON_OPTIONS, timeout: ALL_OPTIONS.timeout },
  purge: { ...COMMON_OPTIONS, yes: ALL_OPTIONS.yes },
};

export function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command !== 'audit' && command !== 'archive' && command !== 'purge') {
    throw new UsageError(command ? `unknown command "${command}"` : 'a command is needed');
  }
  // typed with every option; the parse itself refuses those the command does not take
  const { values } = parseCommandArgs({ args: rest, options: OPTIONS_OF[command] as typeof ALL_OPTIONS }, command);
  const args: Args = {
    command,
    range: {},
    dest: values.dest,
    json: values.json ?? false,
    yes: values.yes ?? false,
    timeoutMs: 120_000,
    verbose: values.verbose ?? false,
  };
  if (values.since !== undefined) args.range.since = parseDateFlag('--since', values.since, false);
  if (values.until !== undefined) args.range.until = parseDateFlag('--until', values.until, true);
  if (values.timeout !== undefined) {
    if (!/^\d+$/.test(values.timeout) || Number(values.timeout) < 1 || Number(values.timeout) > 3600)
      throw new UsageError(`--timeout: "${values.timeout}" is not a whole number of seconds from 1 to 3600`);
    args.timeoutMs = Number(values.timeout) * 1000;
  }
  if (args.range.since && args.range.until && args.range.since > args.range.until) {
    throw new UsageError(
      `--since (${args.range.since.toISOString()}) is after --until (${args.range.until.toISOString()})`,
    );
  }
  return args;
}

/** The archive named by --dest or RECORDINGS_ARCHIVE: a folder, or an S3-compatible bucket. */
export async function openDestination(
  dest: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<ObjectStore> {
  const target = dest ?? env.RECORDINGS_ARCHIVE ?? 'recordings-archive';
  const flag = dest ? '--dest' : env.RECORDINGS_ARCHIVE ? 'RECORDINGS_ARCHIVE' : '--dest';
  if (target.startsWith('s3://')) return new S3Store(parseS3Destination(target, env, flag));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target))
    throw new UsageError(`${flag}: "${target}" is neither a folder nor s3://BUCKET/PREFIX`);
  const folder = path.resolve(cwd, target);
  if (fs.existsSync(folder) && !fs.statSync(folder).isDirectory())
    throw new UsageError(`${flag}: "${target}" is a file, not a folder`);
  return new LocalFolderStore(folder);
}

export interface CliIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  out(text: string): void;
  err(text: string): void;
  /** for tests: the recording source to use instead of the one built from env */
  source?: RecordingSource;
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  let args: Args;
  let destination: ObjectStore;
  let source: RecordingSource;
  const log = (record: LogRecord) => {
    if (record.level === 'warn' || record.level === 'error' || args?.verbose) io.err(jsonLine(record));
  };
  try {
    args = parseArgs(argv);
    destination = await openDestination(args.dest, io.env, io.cwd);
    source = io.source ?? twilioRecordingSource(io.env, log, { downloadDeadlineMs: args.timeoutMs });
  } catch (err) {
    io.err(`recordings: ${(err as Error).message}${err instanceof UsageError ? `\n${USAGE}` : ''}`);
    return 2;
  }
  try {
    if (args.command === 'audit') {
      const index = parseJsonLines<IndexEntry>(await destination.readText(INDEX_NAME));
      const rows = auditRows(await source.list(args.range), index);
      io.out(
        args.json
          ? JSON.stringify({ archive: destination.description, recordings: rows }, null, 2)
          : formatAuditTable(rows, destination.description),
      );
      return 0;
    }
    if (args.command === 'archive') {
      const result = await archiveRecordings({ source, destination, range: args.range, log });
      if (args.json) io.out(JSON.stringify({ archive: destination.description, ...result }, null, 2));
      else {
        io.out(
          `Archive ${destination.description}: ${result.archived.length} archived now, ${result.alreadyArchived.length} already archived, ${result.skipped.length} skipped, ${result.failed.length} failed`,
        );
        for (const s of result.skipped) io.out(`  skipped ${s.sid}: ${s.reason}`);
        for (const f of result.failed) io.out(`  FAILED  ${f.sid}: ${f.reason} (run archive again to retry)`);
      }
      return result.failed.length ? 1 : 0;
    }
    const result = await purgeRecordings({ source, destination, range: args.range, yes: args.yes, log });
    if (args.json) io.out(JSON.stringify({ archive: destination.description, ...result }, null, 2));
    else {
      if (result.dryRun) {
        io.out(
          `Dry run: ${result.wouldDelete.length} recording${result.wouldDelete.length === 1 ? '' : 's'} would be deleted from Twilio (their archived copies verify). Run again with --yes to delete.`,
        );
        for (const sid of result.wouldDelete) io.out(`  would delete ${sid}`);
      } else {
        io.out(
          `Deleted ${result.deleted.length} recording${result.deleted.length === 1 ? '' : 's'} from Twilio; ${result.ledgerAdded.length} added to ${LEDGER_NAME} in ${destination.description}`,
        );
        for (const sid of result.deleted) io.out(`  deleted ${sid}`);
      }
      for (const r of result.refused) io.out(`  kept    ${r.sid}: ${r.reason}`);
    }
    return 0;
  } catch (err) {
    // a Twilio RestException carries status and code; print those, never the request (it has the credentials)
    const e = err as { status?: number; code?: number; message?: string };
    io.err(
      `recordings ${args.command}: ${e.status ? `Twilio answered ${e.status}${e.code ? ` (error ${e.code})` : ''}: ` : ''}${e.message ?? String(err)}`,
    );
    return 1;
  } finally {
    destination.close?.();
  }
}

if (require.main === module) runFromProcess(main);
