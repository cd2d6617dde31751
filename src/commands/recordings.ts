// `npm run recordings -- audit | archive | purge [options]`: where each recording's audio lives, the catch-up of what
// the status callback could not keep (same media store, keys and records), and deletion of verified copies only. Credentials come from the environment,
// .env.local or .env (ACCOUNT_SID with AUTH_TOKEN, or API_KEY and API_SECRET). Exit 0 done, 1 some recording failed,
// 2 bad arguments or configuration.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  archiveRecordings,
  DateRange,
  purgeRecordings,
  recordOf,
  STORE_READ_TIMEOUT_MS,
  RecordingSource,
  twilioRecordingSource,
} from '../lib/recordings/archive';
import { auditRows, formatAuditTable } from '../lib/recordings/audit';
import type { RecordingRecord } from '../lib/keep/recording-record';
import { recordingsSettingsFrom } from '../lib/keep/recording-record';
import { mediaStoreSettingsFrom, openMediaStore } from '../lib/storage/media-store';
import type { ObjectStore } from '../lib/storage/store';
import { SettingsError } from '../lib/settings';
import { jsonLine, LogRecord } from '../lib/log';
import { parseCommandArgs, parseDateFlag, UsageError } from './args';
import { runFromProcess } from './settings';

export const USAGE = `usage: npm run recordings -- <command> [options]
  audit    every recording: date, duration, status, where its audio lives, its kept copy, when a deleted one's metadata is purged
  archive  keep in the media store what the status callback could not: same keys, verified by sha256, with its record
  purge    delete from Twilio the recordings whose kept copy verifies now (dry run unless --yes); notes it in the record
options:
  --since DATE       only recordings created on or after DATE (YYYY-MM-DD, UTC, or an ISO 8601 date-time with Z or +HH:MM)
  --until DATE       only recordings created on or before DATE (a whole day when DATE has no time)
  --dest DEST        another store than MEDIA_STORE_URL: a folder, or s3://BUCKET/PREFIX (with the MEDIA_STORE_* keys)
  --json             machine-readable output
  --yes              purge: really delete
  --timeout SECONDS  time allowed per download (archive, retries included) and per read from the store (default 120)
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
  audit: { ...COMMON_OPTIONS, timeout: ALL_OPTIONS.timeout },
  archive: { ...COMMON_OPTIONS, timeout: ALL_OPTIONS.timeout },
  purge: { ...COMMON_OPTIONS, yes: ALL_OPTIONS.yes, timeout: ALL_OPTIONS.timeout },
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
    timeoutMs: STORE_READ_TIMEOUT_MS,
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

/**
 * Settings of the recordings' old archive, now the media store's (the callback and this command keep recordings in
 * one store with one layout). Refused by name rather than read beside the new ones, so no run quietly writes to the
 * old place (docs/recordings.md, "From the old archive"). The AWS_* names are common outside this project, so they
 * are refused only where they would have been used: an S3 store whose MEDIA_STORE_* counterpart is unset.
 */
export const MOVED_SETTINGS: readonly (readonly [string, string])[] = [
  ['RECORDINGS_ARCHIVE', 'MEDIA_STORE_URL (or --dest)'],
  ['S3_ENDPOINT', 'MEDIA_STORE_ENDPOINT'],
  ['S3_FORCE_PATH_STYLE', 'MEDIA_STORE_ENDPOINT (path-style addressing comes with it)'],
];
const MOVED_AWS_SETTINGS: readonly (readonly [string, string])[] = [
  ['AWS_REGION', 'MEDIA_STORE_REGION'],
  ['AWS_ACCESS_KEY_ID', 'MEDIA_STORE_ACCESS_KEY_ID'],
  ['AWS_SECRET_ACCESS_KEY', 'MEDIA_STORE_SECRET_ACCESS_KEY'],
];

/** The store recordings are kept in: MEDIA_STORE_URL and the other MEDIA_STORE_* settings, or --dest. */
export function openStore(dest: string | undefined, env: NodeJS.ProcessEnv, cwd: string): ObjectStore {
  for (const [old, replacement] of MOVED_SETTINGS) {
    if (env[old]?.trim())
      throw new UsageError(
        `${old} is no longer read: recordings are kept in the media store; set ${replacement} instead (docs/recordings.md)`,
      );
  }
  let url = dest ?? env.MEDIA_STORE_URL?.trim();
  if (dest && !dest.startsWith('s3://')) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dest))
      throw new UsageError(`--dest: "${dest}" is neither a folder nor s3://BUCKET/PREFIX`);
    const folder = path.resolve(cwd, dest);
    if (fs.existsSync(folder) && !fs.statSync(folder).isDirectory())
      throw new UsageError(`--dest: "${dest}" is a file, not a folder`);
    url = `folder:${folder}`;
  } else if (url?.startsWith('folder:')) url = `folder:${path.resolve(cwd, url.slice('folder:'.length).trim() || '.')}`;
  if (!url || url === 'none')
    throw new UsageError('MEDIA_STORE_URL is not set (nor --dest): name the store recordings are kept in');
  try {
    // DOMAIN_NAME unset: the command is not the local runtime, so no default folder is made up
    const settings = mediaStoreSettingsFrom({ ...env, MEDIA_STORE_URL: url, DOMAIN_NAME: undefined });
    if (!settings) throw new UsageError('MEDIA_STORE_URL is not set (nor --dest)');
    if (settings.location.kind === 's3') {
      for (const [old, replacement] of MOVED_AWS_SETTINGS) {
        if (env[old]?.trim() && !env[replacement]?.trim())
          throw new UsageError(`${old} is no longer read: set ${replacement} instead (docs/recordings.md)`);
      }
    }
    return openMediaStore(settings.location);
  } catch (err) {
    if (err instanceof SettingsError && dest && err.variable === 'MEDIA_STORE_URL')
      throw new UsageError(err.message.replace(/^MEDIA_STORE_URL/, '--dest'));
    throw err;
  }
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
  let store: ObjectStore;
  let source: RecordingSource;
  let format: 'wav' | 'mp3';
  const log = (record: LogRecord) => {
    if (record.level === 'warn' || record.level === 'error' || args?.verbose) io.err(jsonLine(record));
  };
  try {
    args = parseArgs(argv);
    store = openStore(args.dest, io.env, io.cwd);
    format = recordingsSettingsFrom(io.env).format;
    source = io.source ?? twilioRecordingSource(io.env);
  } catch (err) {
    io.err(`recordings: ${(err as Error).message}${err instanceof UsageError ? `\n${USAGE}` : ''}`);
    return 2;
  }
  try {
    if (args.command === 'audit') {
      const recordings = await source.list(args.range);
      const records = new Map<string, RecordingRecord>();
      for (const r of recordings) {
        const record = await recordOf(store, source.accountSid, r.sid, AbortSignal.timeout(args.timeoutMs));
        if (record && record.recordingSid === r.sid) records.set(r.sid, record);
      }
      const rows = auditRows(recordings, records);
      io.out(
        args.json
          ? JSON.stringify({ store: store.description, recordings: rows }, null, 2)
          : formatAuditTable(rows, store.description),
      );
      return 0;
    }
    if (args.command === 'archive') {
      const result = await archiveRecordings({
        source,
        store,
        range: args.range,
        log,
        format,
        timeoutMs: args.timeoutMs,
      });
      if (args.json) io.out(JSON.stringify({ store: store.description, ...result }, null, 2));
      else {
        io.out(
          `Media store ${store.description}: ${result.archived.length} kept now, ${result.alreadyArchived.length} already kept, ${result.skipped.length} skipped, ${result.failed.length} failed`,
        );
        for (const s of result.skipped) io.out(`  skipped ${s.sid}: ${s.reason}`);
        for (const f of result.failed) io.out(`  FAILED  ${f.sid}: ${f.reason} (run archive again to retry)`);
      }
      return result.failed.length ? 1 : 0;
    }
    const result = await purgeRecordings({
      source,
      store,
      range: args.range,
      yes: args.yes,
      log,
      timeoutMs: args.timeoutMs,
    });
    if (args.json) io.out(JSON.stringify({ store: store.description, ...result }, null, 2));
    else {
      if (result.dryRun) {
        io.out(
          `Dry run: ${result.wouldDelete.length} recording${result.wouldDelete.length === 1 ? '' : 's'} would be deleted from Twilio (their kept copies verify). Run again with --yes to delete.`,
        );
        for (const sid of result.wouldDelete) io.out(`  would delete ${sid}`);
      } else {
        io.out(
          `Deleted ${result.deleted.length} recording${result.deleted.length === 1 ? '' : 's'} from Twilio; each record in ${store.description} says when, and when Twilio purges its metadata`,
        );
        for (const sid of result.deleted) io.out(`  deleted ${sid}`);
        for (const sid of result.noted)
          io.out(`  noted   ${sid}: found already deleted (an earlier run was interrupted)`);
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
    store.close?.();
  }
}

if (require.main === module) runFromProcess(main);
