import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { RUNTIME_BUNDLE } from '../pipeline/bundle';

export { ensureListenable, freePort, ListenError } from './listen';

export interface RuntimeOptions {
  projectRoot: string;
  port: number;
  functionsDir: string;
  assetsDir: string;
  /** env file loaded into each Function's context; default: <root>/.env when it exists */
  envFile?: string;
  /** interface to listen on (TWILIO_RUN_HOST); default 127.0.0.1 */
  host?: string;
  stdio?: 'inherit' | 'pipe';
  /** own process group, so a test can stop twilio-run and every child it started in one signal */
  detached?: boolean;
  /**
   * twilio-run's default live mode: the require cache is cleared on every request, so each one reloads the
   * Function and the `twilio` library, and memory grows until the process dies. Off unless asked for (the soak
   * bench measures it as its baseline); editing is served by `npm run watch` instead.
   */
  live?: boolean;
}

/**
 * Bundles the gateway preload (TypeScript, sharing src/lib with the Functions) into one CommonJS file for
 * `node -r`; npm packages stay external and resolve from the project. Written to a temporary name and renamed,
 * so runtimes started at once (jest workers) never load a half-written file.
 */
function bundleGatewayPreload(projectRoot: string): string {
  const outDir = path.join(projectRoot, '.build-cache', 'local-runtime');
  const outfile = path.join(outDir, 'platform-preload.cjs');
  const temp = `${outfile}.${process.pid}.${Date.now()}.tmp`;
  fs.mkdirSync(outDir, { recursive: true });
  esbuild.buildSync({
    entryPoints: [path.join(__dirname, 'platform-preload.ts')],
    ...RUNTIME_BUNDLE,
    outfile: temp,
  });
  fs.renameSync(temp, outfile);
  return outfile;
}

/**
 * Starts the real `twilio-run start` on the build output, with binary bodies working, behind the platform's
 * gateway (platform-gateway.ts: limits, protected routes, no stack traces), serving from loaded modules.
 */
export function spawnTwilioRun(options: RuntimeOptions): ChildProcess {
  const bin = require.resolve('twilio-run/bin/twilio-run.js', { paths: [options.projectRoot] });
  const args = [
    '-r',
    path.join(__dirname, 'loopback-listen.cjs'),
    '-r',
    bundleGatewayPreload(options.projectRoot),
    bin,
    'start',
    '--cwd',
    options.projectRoot,
    '--port',
    String(options.port),
    '--functions-folder',
    path.relative(options.projectRoot, options.functionsDir) || '.',
    '--assets-folder',
    path.relative(options.projectRoot, options.assetsDir) || '.',
    // A forked Function sends its reply over IPC, which turns a Buffer body into JSON.
    '--fork-process=false',
    // Serve from loaded modules: see RuntimeOptions.live.
    ...(options.live ? [] : ['--no-live']),
  ];
  const envFile = options.envFile ?? path.join(options.projectRoot, '.env');
  if (fs.existsSync(envFile)) args.push('--env', envFile);
  return spawn(process.execPath, args, {
    cwd: options.projectRoot,
    env: {
      ...process.env,
      TWILIO_RUN_HOST: options.host ?? process.env.TWILIO_RUN_HOST ?? '127.0.0.1',
      // Built Functions keep npm packages external, as Twilio installs them beside the deployed Functions.
      // A build outside the project (tests build into the temp folder) must still find the project's packages.
      NODE_PATH: [path.join(options.projectRoot, 'node_modules'), process.env.NODE_PATH]
        .filter(Boolean)
        .join(path.delimiter),
      FORCE_COLOR: '0',
    },
    stdio: options.stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
}
