// `npm run bench [-- [--quick] NAME...]`: runs each bench/*.bench.ts in its own process (so peak memory figures
// are each benchmark's own), one after another so they do not compete for the CPU. `--quick` (or BENCH_QUICK=1)
// runs each with small sizes (bench/quick.ts): what CI does after the tests, so a benchmark cannot rot.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const unknown = args.find((a) => a.startsWith('-') && a !== '--quick');
if (unknown) {
  console.error(`bench: unknown option "${unknown}"\nusage: npm run bench -- [--quick] [NAME...]`);
  process.exit(2);
}
const wanted = args.filter((a) => a !== '--quick');
const available = fs.readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts'));
const files = available.filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w))).sort();
if (files.length === 0) {
  console.error(`No benchmark matches ${wanted.join(', ') || '(none present)'}; available: ${available.join(', ')}`);
  process.exit(2);
}
const failed: string[] = [];
const tsx = require.resolve('tsx/cli');
for (const file of files) {
  console.log(`\n=== ${file}${quick ? ' (quick)' : ''} ===`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [tsx, path.join(__dirname, file)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_QUICK: quick ? '1' : '0' },
  });
  if (result.status !== 0)
    failed.push(`${file} (${result.signal ? `signal ${result.signal}` : `exit ${result.status}`})`);
  console.log(
    `--- ${file}: ${result.status === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}
if (failed.length) console.error(`\nbench: ${failed.length} of ${files.length} failed: ${failed.join(', ')}`);
process.exit(failed.length === 0 ? 0 : 1);
