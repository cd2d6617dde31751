// `npm run assets:check [-- --dir DIR] [--functions DIR] [--json]`: checks the asset tree against Twilio's limits without
// building anything. Exit 0 within limits, 1 with every violation listed, 2 for bad arguments or config.
import * as path from 'node:path';
import { checkAssets, formatUsage, resolveLimits } from '../pipeline/asset-limits';
import { scanAssets } from '../pipeline/asset-scan';
import { listFunctions } from '../pipeline/functions';
import { loadMediaConfig } from '../pipeline/media-config';
import { PROJECT_ROOT } from '../pipeline/project';
import { parseCommandArgs, UsageError } from './args';

const USAGE = 'usage: assets:check [--dir DIR] [--functions DIR] [--json]';

interface Args {
  dir: string;
  json: boolean;
  functionsDir: string;
}

function parseArgs(argv: string[]): Args {
  const { values } = parseCommandArgs({
    args: argv,
    options: { dir: { type: 'string' }, functions: { type: 'string' }, json: { type: 'boolean' } },
  });
  return {
    dir: path.resolve(values.dir ?? path.join(PROJECT_ROOT, 'assets')),
    json: values.json ?? false,
    functionsDir: path.resolve(values.functions ?? path.join(PROJECT_ROOT, 'src', 'functions')),
  };
}

export function main(argv: string[]): number {
  let args: Args;
  try {
    args = parseArgs(argv);
    const config = loadMediaConfig(PROJECT_ROOT);
    const check = checkAssets(
      scanAssets(args.dir, { within: [PROJECT_ROOT] }),
      resolveLimits(config.limits),
      listFunctions([args.functionsDir]).length,
      config.notMedia,
    );
    if (args.json) {
      console.log(JSON.stringify({ ok: check.violations.length === 0, dir: args.dir, ...check }, null, 2));
    } else {
      console.log(`Assets in ${path.relative(process.cwd(), args.dir) || '.'}:\n${formatUsage(check)}`);
      for (const skipped of check.skipped) console.log(`note: ${skipped.rel} skipped: ${skipped.reason}`);
      if (check.violations.length === 0) console.log('Within every limit.');
      else {
        console.error(`\n${check.violations.length} violation${check.violations.length === 1 ? '' : 's'}:`);
        for (const v of check.violations) console.error(`  [${v.rule}] ${v.message}`);
      }
    }
    return check.violations.length === 0 ? 0 : 1;
  } catch (err) {
    console.error(`assets:check: ${(err as Error).message}${err instanceof UsageError ? `\n${USAGE}` : ''}`);
    return 2;
  }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
