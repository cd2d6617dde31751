import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssetLimitError, formatUsage } from '../pipeline/asset-limits';
import { buildProject, BuildResult, PROJECT_ROOT } from '../pipeline/project';
import { spawnTwilioRun } from '../local-runtime/twilio-run';
import { TypeCheckError } from '../pipeline/typecheck';
import { preflightDeploy, readDeployFlags } from '../deploy/preflight';
import { loadLocalSettings } from './settings';
import { wholeNumber } from '../lib/settings';
import { parseCommandArgs, UsageError } from './args';

function parsePort(raw: string | undefined): number {
  return wholeNumber('PORT', raw, { fallback: 3000, max: 65535 });
}

function describeBuildError(error: unknown): string {
  if (error instanceof TypeCheckError) return `Build failed. ${error.message}`;
  if (error instanceof AssetLimitError)
    return `Build failed: ${error.message}\n\n${formatUsage(error.check)}\nNothing was written to dist/assets.`;
  return `${process.argv[2] === 'predeploy' ? 'Deploy check' : 'Build'} failed: ${error instanceof Error ? error.message : String(error)}`;
}

async function build(): Promise<BuildResult> {
  return buildProject({ log: (line) => console.log(line) });
}

/** The local runtime on the build: twilio-run behind the platform's gateway, serving from loaded modules. */
function launch(result: BuildResult, port: number): ChildProcess {
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
  console.log(
    `\nLocal runtime: http://${shown}:${port}/health  (functions from ${path.relative(PROJECT_ROOT, result.functionsDir)})`,
  );
  return child;
}

async function start(): Promise<void> {
  loadLocalSettings(PROJECT_ROOT);
  const port = parsePort(process.env.PORT);
  const child = launch(await build(), port);
  const stop = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (code) => process.exit(code ?? 0));
}

/** What a change under these paths can alter in the build. */
const WATCHED = ['src', 'assets', 'media.config.json', '.env', '.env.local', 'package.json'];
const REBUILD_DEBOUNCE_MS = 300;

/**
 * `npm run watch`: `npm start` that rebuilds on every change of the sources, assets or configuration and then
 * restarts the runtime on the same port. A failed build is printed and the last good build keeps serving.
 * Restarting (rather than twilio-run's live mode) keeps each run as flat in memory as `npm start`.
 */
async function watch(): Promise<void> {
  loadLocalSettings(PROJECT_ROOT);
  const port = parsePort(process.env.PORT);
  let child: ChildProcess | undefined = launch(await build(), port);
  let stopping = false;
  const stopChild = () =>
    new Promise<void>((resolve) => {
      const current = child;
      child = undefined;
      if (!current || current.exitCode !== null || current.signalCode !== null) return resolve();
      current.once('exit', () => resolve());
      current.kill('SIGTERM');
    });
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let pending = false;
  const rebuild = async () => {
    if (running) {
      pending = true;
      return;
    }
    running = true;
    try {
      console.log('\nChange detected: rebuilding...');
      const result = await build();
      await stopChild();
      if (!stopping) child = launch(result, port);
    } catch (error) {
      console.error(`${describeBuildError(error)}\nStill serving the last good build; waiting for the next change.`);
    } finally {
      running = false;
      if (pending) {
        pending = false;
        void rebuild();
      }
    }
  };
  for (const rel of WATCHED) {
    const target = path.join(PROJECT_ROOT, rel);
    if (!fs.existsSync(target)) continue;
    fs.watch(target, { recursive: fs.statSync(target).isDirectory() }, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void rebuild(), REBUILD_DEBOUNCE_MS);
    });
  }
  console.log(`Watching ${WATCHED.join(', ')} for changes.`);
  const stop = () => {
    stopping = true;
    void stopChild().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/**
 * Run by .twilioserverlessrc.js before every deploy (`twilio serverless:deploy`, `twilio-run deploy`,
 * `npm run deploy`): refuses what Twilio would refuse and builds dist/ when it is missing or stale. Progress
 * goes to stdout; the reasons for a refusal go to stderr, which the config file shows as twilio-run's error.
 */
async function predeploy(): Promise<void> {
  // predeploy --config-runtime RUNTIME -- <the deploy command's own arguments>
  const args = process.argv.slice(3);
  const split = args.includes('--') ? args.indexOf('--') : args.length;
  const { values } = parseCommandArgs({
    args: args.slice(0, split),
    options: { 'config-runtime': { type: 'string' } },
  });
  const deploy = readDeployFlags(args.slice(split + 1));
  const problems = await preflightDeploy({
    projectRoot: PROJECT_ROOT,
    envFile: deploy.env,
    loadSystemEnv: deploy.loadSystemEnv,
    runtime: deploy.runtime ?? values['config-runtime'],
    runtimeSource: deploy.runtime === undefined ? '.twilioserverlessrc.js' : 'the --runtime flag',
    rebuild: build,
    log: (line) => console.log(line),
  });
  if (problems.length > 0) {
    console.error(problems.map((p) => `- ${p}`).join('\n'));
    process.exit(1);
  }
}

const commands: Record<string, () => Promise<unknown>> = { build, start, watch, predeploy };

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
  if (error instanceof UsageError) {
    console.error(`${process.argv[2]}: ${error.message}`);
    process.exit(2);
  }
  console.error(describeBuildError(error));
  process.exit(1);
});
