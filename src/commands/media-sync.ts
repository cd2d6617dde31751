// `npm run media:sync -- --since DATE [--until DATE] [--to NUMBER] [--delete] [--dry-run]`: stores every inbound
// MMS media item of the range that the store does not hold yet (what a webhook could not keep), verified as the
// webhook does, and with --delete deletes Twilio's copy once the stored one verifies. Safe to interrupt and re-run.
// Exit 0 all kept, 1 something failed (each named), 2 bad arguments or configuration.
import { fetchSettingsFrom } from '../lib/fetch/settings';
import { hostAllowed } from '../lib/fetch/allowlist';
import { jsonLine, LogRecord } from '../lib/log';
import { REQUEST_TIMEOUT_MS, syncMedia, SyncCounts, SyncResult } from '../lib/sync/media';
import { MAX_PAGE_SIZE, restApi, TwilioApiError } from '../lib/sync/twilio-messages';
import { TWILIO_API_BASE } from '../lib/recordings/model';
import { baseUrlFrom, requireCredentials, SettingsError } from '../lib/settings';
import { MediaStore, mediaStoreSettingsFrom, openMediaStore } from '../lib/storage/media-store';
import { formatTable } from '../lib/text-table';
import { parseCommandArgs, parseDateFlag, UsageError } from './args';
import { runFromProcess } from './settings';

export const USAGE = `usage: npm run media:sync -- --since DATE [options]
  Stores every media item of the inbound messages sent in the range that the media store does not hold yet
  (MEDIA_STORE_URL, as the webhook), verified by sha256; what is stored already is skipped.
options:
  --since DATE        messages sent on or after DATE (YYYY-MM-DD, UTC, or an ISO 8601 date-time with Z or +HH:MM); required
  --until DATE        messages sent on or before DATE (a whole day when DATE has no time; default now)
  --to NUMBER         only messages sent to this number (E.164, e.g. +15005550006, a short code, or whatsapp:+...)
  --delete            delete each item from Twilio once its stored copy verifies
  --dry-run           list what would be stored and deleted; change nothing
  --concurrency N     messages worked on at once, 1 to 16 (default 4)
  --timeout SECONDS   the longest one request to Twilio or the store may take, 1 to 600 (default 30; a
                      download, retries included, 60); a stuck item fails by name and the run goes on
  --json              the summary as JSON
  --verbose           every fetch and store line (JSON) on stderr; warnings and errors are always shown`;

export interface SyncArgs {
  since: Date;
  until: Date;
  to?: string;
  delete: boolean;
  dryRun: boolean;
  concurrency: number;
  /** the bound on each request other than a download (--timeout) */
  timeoutMs: number;
  json: boolean;
  verbose: boolean;
}

const OPTIONS = {
  since: { type: 'string' },
  until: { type: 'string' },
  to: { type: 'string' },
  delete: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
} as const;

const ADDRESS = /^(whatsapp:)?\+[1-9]\d{1,14}$|^\d{3,8}$/;

export function parseArgs(argv: string[], now: () => Date = () => new Date()): SyncArgs {
  const { values } = parseCommandArgs({ args: argv, options: OPTIONS });
  if (values.since === undefined)
    throw new UsageError('--since is needed: the first day to catch up (e.g. --since 2026-11-01)');
  const since = parseDateFlag('--since', values.since, false);
  const until = values.until === undefined ? now() : parseDateFlag('--until', values.until, true);
  if (since > until) throw new UsageError(`--since (${since.toISOString()}) is after --until (${until.toISOString()})`);
  if (values.to !== undefined && !ADDRESS.test(values.to))
    throw new UsageError(
      `--to: "${values.to.slice(0, 40)}" is not a number in E.164 form (+15005550006), a short code, or whatsapp:+...`,
    );
  let concurrency = 4;
  if (values.concurrency !== undefined) {
    if (!/^\d+$/.test(values.concurrency) || Number(values.concurrency) < 1 || Number(values.concurrency) > 16)
      throw new UsageError(`--concurrency: "${values.concurrency.slice(0, 20)}" is not a whole number from 1 to 16`);
    concurrency = Number(values.concurrency);
  }
  let timeoutMs = REQUEST_TIMEOUT_MS;
  if (values.timeout !== undefined) {
    if (!/^\d+$/.test(values.timeout) || Number(values.timeout) < 1 || Number(values.timeout) > 600)
      throw new UsageError(
        `--timeout: "${values.timeout.slice(0, 20)}" is not a whole number of seconds from 1 to 600`,
      );
    timeoutMs = Number(values.timeout) * 1000;
  }
  return {
    since,
    until,
    ...(values.to !== undefined ? { to: values.to } : {}),
    delete: values.delete ?? false,
    dryRun: values['dry-run'] ?? false,
    concurrency,
    timeoutMs,
    json: values.json ?? false,
    verbose: values.verbose ?? false,
  };
}

export interface SyncIo {
  env: NodeJS.ProcessEnv;
  out(text: string): void;
  err(text: string): void;
  /** how often progress goes to stderr while a run lasts (default 2000 ms; the first line after that long) */
  progressEveryMs?: number;
}

function counts(c: SyncCounts): string {
  return `${c.messages} messages, ${c.media} media: ${c.stored} stored, ${c.alreadyStored} already there, ${c.deleted} deleted, ${c.failed} failed`;
}

export function formatSummary(result: SyncResult, store: string, args: SyncArgs): string {
  const lines = [
    `media:sync${result.dryRun ? ' (dry run: nothing changed)' : ''}: messages sent ${args.since.toISOString()} to ${args.until.toISOString()}${args.to ? ` to ${args.to}` : ''}, store ${store}`,
  ];
  const header = ['messages', 'media', 'stored', 'already there', 'deleted', 'failed'];
  const row = [result.messages, result.media, result.stored, result.alreadyStored, result.deleted, result.failed];
  if (result.dryRun) {
    header.push('would store', 'would delete');
    row.push(result.wouldStore, result.wouldDelete);
  }
  lines.push(formatTable([header, row.map(String)]));
  for (const p of result.planned) {
    const what = p.actions.map((a) => a.replace('_', ' ')).join(', ');
    lines.push(`  ${what}: ${p.messageSid}/${p.mediaSid ?? '?'}${p.key ? ` -> ${p.key}` : ''}`);
  }
  for (const f of result.failures)
    lines.push(
      `  FAILED ${f.messageSid}${f.mediaSid ? `/${f.mediaSid}` : ''}: ${f.problem ?? 'failed'} (run media:sync again to retry)`,
    );
  return lines.join('\n');
}

export async function main(argv: string[], io: SyncIo): Promise<number> {
  let args: SyncArgs | undefined;
  let store: MediaStore;
  let setup: Omit<Parameters<typeof syncMedia>[0], 'log' | 'onProgress'>;
  const log = (record: LogRecord) => {
    if (record.level === 'warn' || record.level === 'error' || args?.verbose) io.err(jsonLine(record));
  };
  try {
    args = parseArgs(argv);
    const env = io.env;
    const { accountSid, username, password } = requireCredentials(env);
    const apiBase = env.TWILIO_API_BASE_URL?.trim() ? baseUrlFrom(env, 'TWILIO_API_BASE_URL') : TWILIO_API_BASE;
    const fetchSettings = fetchSettingsFrom(env);
    if (!hostAllowed(new URL(apiBase), fetchSettings.allowedHosts))
      throw new SettingsError(
        'MEDIA_ALLOWED_HOSTS',
        `MEDIA_ALLOWED_HOSTS does not allow ${new URL(apiBase).host}, the host of TWILIO_API_BASE_URL: media could not be fetched from it`,
      );
    // The command runs on this machine, as `npm start` does: with MEDIA_STORE_URL unset it uses the local runtime's
    // folder, where the local webhook keeps media; any other value is read by the webhook's own rule.
    const storeSettings = mediaStoreSettingsFrom({ ...env, DOMAIN_NAME: 'localhost' });
    if (!storeSettings)
      throw new SettingsError(
        'MEDIA_STORE_URL',
        'MEDIA_STORE_URL is none: media:sync has nowhere to keep media (set s3://BUCKET[/PREFIX], or folder:PATH)',
      );
    store = openMediaStore(storeSettings.location);
    setup = {
      accountSid,
      apiBase,
      get: restApi({ base: apiBase, auth: { username, password }, timeoutMs: args.timeoutMs }),
      store,
      range: { since: args.since, until: args.until },
      ...(args.to ? { to: args.to } : {}),
      dryRun: args.dryRun,
      delete: args.delete,
      concurrency: args.concurrency,
      auth: { username, password },
      allowedHosts: fetchSettings.allowedHosts,
      redirectAllowedHosts: fetchSettings.redirectAllowedHosts,
      messageFields: storeSettings.messageFields,
      requestTimeoutMs: args.timeoutMs,
      pageSize: MAX_PAGE_SIZE,
    };
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof SettingsError)) throw err;
    io.err(`media:sync: ${err.message}${err instanceof UsageError ? `\n${USAGE}` : ''}`);
    return 2;
  }
  const started = Date.now();
  let latest: SyncCounts | undefined;
  const every = io.progressEveryMs ?? 2000;
  const ticker = setInterval(() => {
    if (latest) io.err(`media:sync: ${counts(latest)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }, every);
  ticker.unref();
  try {
    const result = await syncMedia({ ...setup, log, onProgress: (c) => (latest = c) });
    io.out(
      args.json
        ? JSON.stringify({ store: store.description, ...result }, null, 2)
        : formatSummary(result, store.description, args),
    );
    return result.failed === 0 ? 0 : 1;
  } catch (err) {
    // the message listing failed (or something unforeseen): Twilio refusing the credentials is configuration
    const status = err instanceof TwilioApiError ? err.status : undefined;
    const credentials = status === 401 || status === 403;
    io.err(
      `media:sync stopped: ${(err as Error).message}${credentials ? ' (check ACCOUNT_SID and AUTH_TOKEN, or API_KEY and API_SECRET)' : ''}; what was stored is kept, run again to go on`,
    );
    return credentials ? 2 : 1;
  } finally {
    clearInterval(ticker);
    store.close?.();
  }
}

if (require.main === module) runFromProcess(main);
