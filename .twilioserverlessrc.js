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

/**
 * twilio-run reads `commands.deploy` only when it deploys, before its first request: this getter runs the
 * project's preflight there (src/commands/cli.ts predeploy), which refuses what Twilio would refuse and builds
 * dist/ when it is missing or stale. A throw here ends the deploy with this message and nothing uploaded.
 */
function deploy() {
  if (deploySettings) return deploySettings;
  let tsx;
  try {
    tsx = require.resolve('tsx/cli', { paths: [__dirname] });
  } catch {
    throw new Error(
      "Deploy refused, nothing was uploaded: the project's tools are not installed. Run `npm install`, then deploy again.",
    );
  }
  // The deploy's own arguments follow `--`: the preflight checks the --runtime and --env they may override.
  const args = [
    tsx,
    path.join(__dirname, 'src', 'commands', 'cli.ts'),
    'predeploy',
    '--config-runtime',
    runtime,
    '--',
    ...process.argv.slice(2),
  ];
  // The build's progress goes to stderr, so `--output-format json` keeps a clean stdout.
  const result = spawnSync(process.execPath, args, { cwd: __dirname, stdio: ['ignore', 2, 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) {
    const why = (result.stderr || String(result.error || `exit ${result.status}`)).trim();
    throw new Error(
      `Deploy refused, nothing was uploaded:\n${why}\nFix the above, then deploy again (\`npm run build\` runs the build on its own).`,
    );
  }
  deploySettings = { ...folders, runtime };
  return deploySettings;
}

module.exports = {
  ...folders,
  runtime,
  commands: {
    // Binary Function bodies only survive without the per-request fork (see README).
    start: { forkProcess: false },
    get deploy() {
      return deploy();
    },
  },
};
