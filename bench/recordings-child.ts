// Child process of recordings.bench.ts, so the peak memory is the keeping's own: `keep PARAMS_JSON` runs the status
// callback's handler (handleRecordingStatus, which streams the recording to a spool file and PUTs it from there)
// with the environment it is given; `buffer URL` fetches the same recording whole into memory through the same
// fetcher (the baseline: what keeping it without spooling would hold). Prints one JSON line: time, outcome, peak RSS.
import { fetchMedia } from '../src/lib/fetch/media-fetcher';
import { fetchSettingsFrom } from '../src/lib/fetch/settings';
import { handleRecordingStatus } from '../src/lib/recordings/status-callback';

async function run(): Promise<void> {
  const [mode, arg] = process.argv.slice(2);
  const rssBeforeMB = process.memoryUsage().rss / 1024 / 1024;
  const started = Date.now();
  let outcome: unknown;
  if (mode === 'keep') {
    const res = await handleRecordingStatus({
      params: JSON.parse(arg) as Record<string, string>,
      url: 'http://localhost/recordings/status',
      env: process.env,
      receivedAt: started,
      // what went wrong, if anything, on stderr for the parent to show
      log: (record) => {
        if (record.level === 'error' || record.level === 'warn') console.error(JSON.stringify(record));
      },
    });
    outcome = (res.body as { kept?: string }).kept;
  } else {
    const settings = fetchSettingsFrom(process.env);
    const fetched = await fetchMedia({
      url: arg,
      auth: settings.auth,
      allowedHosts: settings.allowedHosts,
      deadlineAt: started + 60_000,
      attemptTimeoutMs: 60_000,
    });
    outcome = fetched.ok ? `buffered ${fetched.body.length} bytes` : fetched.reason;
  }
  console.log(
    JSON.stringify({
      ms: Date.now() - started,
      outcome,
      rssBeforeMB,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

void run();
