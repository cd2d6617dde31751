// Configuration of twilio-run and the Twilio CLI's serverless plugin (cosmiconfig module "twilioserverless").
// JavaScript rather than a JSON5 `.twilioserverlessrc`: a bare `twilio serverless:deploy` or `twilio-run deploy`
// runs no project code but this file, and a deploy must not upload a missing or stale dist/. Keep no
// `.twilioserverlessrc` beside it: cosmiconfig would find that one first and this file would never run.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const folders = { functionsFolder: 'dist/functions', assetsFolder: 'dist/assets' };

// Sent with every Build: without it the platform reuses the service's last runtime, which it may no longer
// accept (82007). src/deploy/platform.ts lists the runtimes Twilio supports.
const runtime = 'node22';

let deploySettings;

/** node's arguments to run one of the project's commands (src/commands/cli.ts NAME), or a throw saying `refused`. */
function projectCommand(name, refused) {
  let tsx;
  try {
    tsx = require.resolve('tsx/cli', { paths: [__dirname] });
  } catch {
    throw new Error(`${refused}: the project's tools are not installed. Run \`npm install\`, then try again.`);
  }
  return [tsx, path.join(__dirname, 'src', 'commands', 'cli.ts'), name];
}

let hooks;
/**
 * src/deploy/twilio-run-hook.ts, loaded into this twilio-run through tsx: the env-file convention, the credential
 * rule (TWILIO_* in CI, no Auth Token needed with an API key) and the checks that must see what twilio-run has read.
 */
function projectHooks(refused) {
  if (hooks) return hooks;
  let tsxApi;
  try {
    tsxApi = require(require.resolve('tsx/cjs/api', { paths: [__dirname] }));
  } catch {
    throw new Error(`${refused}: the project's tools are not installed. Run \`npm install\`, then try again.`);
  }
  hooks = tsxApi.require('./src/deploy/twilio-run-hook.ts', __filename);
  return hooks;
}

/**
 * twilio-run reads `commands.deploy` only when it deploys, before its first request: this getter settles the env
 * file by the project's convention (`--environment stage` reads .env.stage), hooks the credential rule into
 * twilio-run, and runs the project's preflight (src/commands/cli.ts predeploy), which refuses what Twilio would
 * refuse and builds dist/ when it is missing or stale. A throw here ends the deploy with this message and nothing
 * uploaded.
 */
function deploy() {
  if (deploySettings) return deploySettings;
  const refused = 'Deploy refused, nothing was uploaded';
  const argv = process.argv.slice(2);
  const chosen = projectHooks(refused).prepare('deploy', __dirname, argv);
  // The deploy's own arguments follow `--`: the preflight checks the --runtime and --env they may override.
  const args = [
    ...projectCommand('predeploy', refused),
    '--config-runtime',
    runtime,
    '--',
    ...argv,
    ...(chosen.env ? ['--env', chosen.env] : []),
  ];
  // The build's progress goes to stderr, so `--output-format json` keeps a clean stdout.
  const result = spawnSync(process.execPath, args, { cwd: __dirname, stdio: ['ignore', 2, 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) {
    const why = (result.stderr || String(result.error || `exit ${result.status}`)).trim();
    throw new Error(
      `${refused}:\n${why}\nFix the above, then deploy again (\`npm run build\` runs the build on its own).`,
    );
  }
  deploySettings = { ...folders, runtime, ...chosen };
  return deploySettings;
}

let promoteSettings;
/**
 * `twilio-run promote` (alias activate) and `twilio serverless:promote` read `commands.promote` (both twilio-run 5
 * and the plugin's 3.x pass 'promote' to readSpecializedConfig). Nothing is built or uploaded: the hook checks the
 * target's env file like a deploy's, finds the Service and the source environment's Build, refuses a Build Twilio
 * has deleted, and hands twilio-run exactly that Build SID.
 */
function promote() {
  if (!promoteSettings)
    promoteSettings = projectHooks('Promote refused').prepare('promote', __dirname, process.argv.slice(2));
  return promoteSettings;
}

let envSettings;
/** `twilio-run env import|set|...` and `twilio serverless:env:*` read `commands.env`: import and set are checked. */
function env() {
  if (!envSettings) envSettings = projectHooks('Refused').prepare('env', __dirname, process.argv.slice(2));
  return envSettings;
}

// Set by the gateway preload (src/local-runtime/platform-preload.ts) in the twilio-run that `npm start` runs.
const GATEWAY = Symbol.for('twilio-media-assets.platform-gateway');

/**
 * twilio-run reads `commands.start` when it starts, before it serves anything. In the twilio-run that `npm start`
 * runs (the gateway is loaded in front of it), these are its settings. Anywhere else (`twilio serverless:start`,
 * whose plugin bundles twilio-run 3.x, or `twilio-run start` by hand) that twilio-run would serve whatever dist/
 * holds, without the gateway: instead, `npm start` itself runs here, with that command's --port, and this process
 * ends with it (docs/local-runtime.md says why).
 */
function start() {
  // Binary Function bodies only survive without the per-request fork (docs/local-runtime.md).
  if (globalThis[GATEWAY]) return { forkProcess: false };
  const via = /twilio-run/.test(path.basename(process.argv[1] || '')) ? 'twilio-run start' : 'twilio serverless:start';
  const args = [
    ...projectCommand('start', `${via} refused, nothing is served`),
    '--via',
    via,
    '--',
    ...process.argv.slice(2),
  ];
  // npm start watches this pid: a signal that stops this process (blocked below) stops the runtime too.
  const env = { ...process.env, TMA_STARTED_BY_PID: String(process.pid) };
  const result = spawnSync(process.execPath, args, { cwd: __dirname, stdio: 'inherit', env });
  process.exit(result.status ?? 1);
}

module.exports = {
  ...folders,
  runtime,
  commands: {
    get start() {
      return start();
    },
    get deploy() {
      return deploy();
    },
    get promote() {
      return promote();
    },
    get env() {
      return env();
    },
  },
};
