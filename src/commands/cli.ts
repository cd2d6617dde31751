import * as path from 'node:path';
import { AssetLimitError, formatUsage } from '../pipeline/asset-limits';
import { buildProject, PROJECT_ROOT } from '../pipeline/project';
import { spawnTwilioRun } from '../local-runtime/twilio-run';
import { TypeCheckError } from '../pipeline/typecheck';
import { preflightDeploy } from '../deploy/preflight';
import { loadLocalSettings } from './settings';
import { wholeNumber } from '../lib/settings';

function parsePort(raw: string | undefined): number {
  return wholeNumber('PORT', raw, { fallback: 3000, max: 65535 });
}

async function build(): Promise<ReturnType<typeof buildProject>> {
  return buildProject({ log: (line) => console.log(line) });
}

async function start(): Promise<void> {
  loadLocalSettings(PROJECT_ROOT);
  const port = parsePort(process.env.PORT);
  const result = await build();
  const host = process.env.TWILIO_RUN_HOST ?? '127.0.0.1';
  const child = spawnTwilioRun({
    projectRoot: PROJECT_ROOT,
    port,
    functionsDir: result.functionsDir,
    assetsDir: result.assetsDir,
    host,
    stdio: 'inherit',
  });
  const shown = host === '0.0.0.0' ? 'localhost' : host;
  console.log(`\nLocal runtime: http://${shown}:${port}/health  (functions from ${path.relative(PROJECT_ROOT, result.functionsDir)})`);
  const stop = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (code) => process.exit(code ?? 0));
}

/** Value of `--name VALUE` or `--name=VALUE` in args. */
function option(args: string[], name: string): string | undefined {
  const at = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (at < 0) return undefined;
  return args[at] === name ? args[at + 1] : args[at].slice(name.length + 1);
}

/**
 * Run by .twilioserverlessrc.js before every deploy (`twilio serverless:deploy`, `twilio-run deploy`,
 * `npm run deploy`): refuses what Twilio would refuse and builds dist/ when it is missing or stale. Progress
 * goes to stdout; the reasons for a refusal go to stderr, which the config file shows as twilio-run's error.
 */
async function predeploy(): Promise<void> {
  // predeploy --config-runtime RUNTIME -- <the deploy command's own arguments>
  const args = process.argv.slice(3);
  const split = args.indexOf('--');
  const deployArgs = split < 0 ? [] : args.slice(split + 1);
  const flagRuntime = option(deployArgs, '--runtime');
  const problems = await preflightDeploy({
    projectRoot: PROJECT_ROOT,
    envFile: option(deployArgs, '--env'),
    loadSystemEnv: deployArgs.includes('--load-system-env'),
    runtime: flagRuntime ?? option(args.slice(0, split < 0 ? args.length : split), '--config-runtime'),
    runtimeSource: flagRuntime === undefined ? '.twilioserverlessrc.js' : 'the --runtime flag',
    rebuild: build,
    log: (line) => console.log(line),
  });
  if (problems.length > 0) {
    console.error(problems.map((p) => `- ${p}`).join('\n'));
    process.exit(1);
  }
}

const commands: Record<string, () => Promise<unknown>> = { build, start, predeploy };

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  const command = commands[name];
  if (!command) {
    console.error(`Unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}`);
    process.exit(2);
  }
  await command();
}

main().catch((error: unknown) => {
  if (error instanceof TypeCheckError) console.error(`Build failed. ${error.message}`);
  else if (error instanceof AssetLimitError) console.error(`Build failed: ${error.message}\n\n${formatUsage(error.check)}\nNothing was written to dist/assets.`);
  else console.error(`${process.argv[2] === 'predeploy' ? 'Deploy check' : 'Build'} failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
