// Child process of media-store.bench.ts, so the peak memory is the command's own: `sync ARGS...` runs
// `npm run media:sync`'s main with the environment it is given; `put-loop N CONCURRENCY` PUTs N objects of the
// same sizes to the same store, plainly (the baseline). Prints one JSON line last: time, exit code, peak RSS.
import { main } from '../src/commands/media-sync';
import { mediaStoreSettingsFrom, openMediaStore } from '../src/lib/storage/media-store';

async function putLoop(count: number, concurrency: number, bytes: number): Promise<number> {
  const settings = mediaStoreSettingsFrom(process.env)!;
  const store = openMediaStore(settings.location);
  const body = Buffer.alloc(bytes, 7);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      await store.put(`baseline/object-${n}.jpg`, body, { contentType: 'image/jpeg' });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  store.close?.();
  return 0;
}

async function run(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  const started = process.hrtime.bigint();
  let errors = '';
  const code =
    mode === 'put-loop'
      ? await putLoop(Number(rest[0]), Number(rest[1]), Number(rest[2]))
      : await main(rest, {
          env: process.env,
          out: () => {},
          err: (t) => (errors += `${t}\n`),
          progressEveryMs: 3_600_000,
        });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(
    JSON.stringify({ ms, code, errors: errors.slice(0, 2000), maxRssMB: process.resourceUsage().maxRSS / 1024 }),
  );
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
