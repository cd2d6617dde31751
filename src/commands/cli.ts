import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssetLimitError, formatUsage } from '../pipeline/asset-limits';
import type { BuildResult } from '../pipeline/project';
import { PROJECT_ROOT } from '../pipeline/root';
import { ensureListenable, ListenError, spawnTwilioRun } from '../local-runtime/twilio-run';
import { loadLocalSettings } from './settings';
import { SettingsError, wholeNumber } from '../lib/settings';
import { parseCommandArgs, UsageError } from './args';

function parsePort(raw: string | undefined): number {
  return wholeNumber('PORT', raw, { fallback: 3000, max: 65535 });
}

// The build pipeline loads esbuild and the TypeScript compiler, most of a second: loaded when a command builds,
// so `npm start` with its port taken answers before that.
const pipeline = () => import('../pipeline/project');

async function describeBuildError(error: unknown): Promise<string> {
  const { TypeCheckError } = await import('../pipeline/typecheck');
  if (error instanceof TypeCheckError) return `Build failed. ${error.message}`;
  if (error instanceof AssetLimitError)
    return `Build failed: ${error.message}\n\n${formatUsage(error.check)}\nNothing was written to dist/assets.`;
  return `${process.argv[2] === 'predeploy' ? 'Deploy check' : 'Build'} failed: ${error instanceof Error ? error.message : String(error)}`;
}

async function build(): Promise<BuildResult> {
  const { refuseShadowingConfigs } = await import('../deploy/config-files');
  refuseShadowingConfigs(PROJECT_ROOT);
  const { buildProject } = await pipeline();
  return buildProject({ log: (line) => console.log(line) });
}

function runtimeHost(): string {
  return process.env.TWILIO_RUN_HOST || '127.0.0.1';
}

/** The local runtime on the build: twilio-run behind the platform's gateway, serving from loaded modules. */
function launch(result: BuildResult, port: number): ChildProcess {
  const host = runtimeHost();
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

/** The port from PORT, once checked free on TWILIO_RUN_HOST: before the build, so a taken port fails at once. */
async function checkedPort(): Promise<number> {
  let port: number;
  try {
    port = parsePort(process.env.PORT);
  } catch (error) {
    // said as it is, not as a failed build: nothing was built
    if (error instanceof SettingsError) throw new ListenError('EINVAL', error.message);
    throw error;
  }
  await ensureListenable(runtimeHost(), port);
  return port;
}

/** The command names `twilio serverless:start` (and its aliases) and `twilio-run start` are run by. */
const START_COMMANDS = ['serverless:start', 'serverless:dev', 'serverless:run', 'start'];

/**
 * `npm start` takes no arguments. .twilioserverlessrc.js runs it for `twilio serverless:start` and `twilio-run
 * start` as `start --via COMMAND -- ARGS`, ARGS being that command's own: their --port is PORT's, a project folder
 * other than this one is refused, and so is any other of twilio-run's flags, by name, rather than ignored.
 */
function startArguments(): void {
  const args = process.argv.slice(3);
  const split = args.includes('--') ? args.indexOf('--') : args.length;
  const via = parseCommandArgs({ args: args.slice(0, split), options: { via: { type: 'string' } } }).values.via;
  if (via === undefined) return;
  const theirs = args.slice(split + 1);
  if (START_COMMANDS.includes(theirs[0] ?? '')) theirs.shift();
  const hint = `${via} runs \`npm start\` in this project (docs/local-runtime.md): set PORT and TWILIO_RUN_HOST instead`;
  let parsed;
  try {
    parsed = parseCommandArgs(
      {
        args: theirs,
        options: { port: { type: 'string', short: 'p' }, cwd: { type: 'string' } },
        allowPositionals: true,
      },
      via,
    );
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${error.message}. ${hint}`);
    throw error;
  }
  for (const dir of [parsed.values.cwd, ...parsed.positionals]) {
    if (dir !== undefined && path.resolve(dir) !== PROJECT_ROOT)
      throw new UsageError(`${via} serves this project only, not "${dir}". ${hint}`);
  }
  if (parsed.values.port !== undefined) process.env.PORT = parsed.values.port;
  console.log(`${via}: running \`npm start\`, which builds what changed and serves it behind the platform's gateway.`);
  // The command that ran this one waits for it, blocked: if a signal stops it, stop too (no orphaned runtime).
  const parent = Number(process.env.TMA_STARTED_BY_PID);
  if (Number.isInteger(parent) && parent > 0) {
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        process.kill(process.pid, 'SIGTERM');
      }
    }, 500).unref();
  }
}

async function start(): Promise<void> {
  startArguments();
  loadLocalSettings(PROJECT_ROOT);
  const port = await checkedPort();
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
  const port = await checkedPort();
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
      if (stopping) return;
      // another program may have taken the port while the old runtime stopped: say so, as at the start
      await ensureListenable(runtimeHost(), port).catch((error: unknown) => {
        console.error(error instanceof Error ? error.message : String(error));
        process.exit(1);
      });
      child = launch(result, port);
    } catch (error) {
      console.error(
        `${await describeBuildError(error)}\nStill serving the last good build; waiting for the next change.`,
      );
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
  const { preflightDeploy, readDeployFlags } = await import('../deploy/preflight');
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

/**
 * `npm run deploy` and `npm run promote`: twilio-run's own command, with its arguments, once they are known to go
 * through .twilioserverlessrc.js. `-c/--config FILE` makes twilio-run read FILE instead, so no check of the project
 * would run (a local-only secret in .env would be uploaded): refused, naming what to use instead.
 */
async function twilioRunCommand(command: 'deploy' | 'promote'): Promise<void> {
  const args = process.argv.slice(3);
  const { readTwilioRunFlags, textFlag } = await import('../deploy/twilio-run-flags');
  const { PROJECT_CONFIG } = await import('../deploy/config-files');
  const config = textFlag(readTwilioRunFlags([command, ...args], command), 'config');
  if (config !== undefined && path.resolve(config) !== path.join(PROJECT_ROOT, PROJECT_CONFIG)) {
    throw new UsageError(
      `-c/--config ${config}: twilio-run would read that file instead of ${PROJECT_CONFIG} and skip the project's checks, uploading whatever the env file holds. Give each environment its env file instead (--environment stage reads .env.stage, production .env.prod: docs/deploy.md), and keep twilio-run's settings in ${PROJECT_CONFIG}`,
    );
  }
  const { spawnSync } = await import('node:child_process');
  const bin = require.resolve('twilio-run/bin/twilio-run.js', { paths: [PROJECT_ROOT] });
  const result = spawnSync(process.execPath, [bin, command, ...args], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

const commands: Record<string, () => Promise<unknown>> = {
  build,
  start,
  watch,
  predeploy,
  deploy: () => twilioRunCommand('deploy'),
  promote: () => twilioRunCommand('promote'),
};

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  const command = commands[name];
  if (!command) {
    console.error(`Unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}`);
    process.exit(2);
  }
  await command();
}

main().catch(async (error: unknown) => {
  if (error instanceof ListenError) {
    console.error(error.message);
    process.exit(1);
  }
  if (error instanceof UsageError) {
    console.error(`${process.argv[2]}: ${error.message}`);
    process.exit(2);
  }
  console.error(await describeBuildError(error));
  process.exit(1);
});
