/**
 * Preloaded (node -r, bundled by twilio-run.ts) into the twilio-run process: puts platform-gateway.ts in front of
 * twilio-run's Express app. Everything is read from twilio-run's own command line (--cwd, --port, --env,
 * --functions-folder, --assets-folder), so the gateway sees exactly the service twilio-run serves, and the
 * routes come from the same serverless-api scan twilio-run makes.
 */
import * as fs from 'node:fs';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseEnv } from 'node:util';
import { baseUrlFrom } from '../lib/settings';
import { listenProblem } from './listen';
import { BodyParsers, GatewayOptions, platformGateway, Route } from './platform-gateway';

// The module object itself (not an import namespace copy), so createServer can be replaced on it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const http = require('node:http') as typeof import('node:http');

function flag(name: string): string | undefined {
  const argv = process.argv;
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i].startsWith(`${name}=`)) return argv[i].slice(name.length + 1);
  }
  return undefined;
}

// Read by .twilioserverlessrc.js: a twilio-run with the gateway in front serves; any other defers to `npm start`.
(globalThis as Record<symbol, unknown>)[Symbol.for('twilio-media-assets.platform-gateway')] = true;

const log = (line: string) => process.stderr.write(`[local runtime] ${line}\n`);
const cwd = path.resolve(flag('--cwd') ?? process.cwd());
const port = flag('--port') ?? '3000';
// read before twilio-run replaces process.env with the env file's contents (as loopback-listen.cjs does)
const host = process.env.TWILIO_RUN_HOST || '127.0.0.1';
const functionsFolder = flag('--functions-folder') ?? 'functions';
const assetsFolder = flag('--assets-folder') ?? 'assets';
const envFile = flag('--env');
const env: NodeJS.Dict<string> = envFile && fs.existsSync(envFile) ? parseEnv(fs.readFileSync(envFile, 'utf8')) : {};

// twilio-run's route scan from its own folder, and the body parser of the runtime handler it loads (its /dev entry).
const fromTwilioRun = createRequire(process.argv[1] ?? path.join(cwd, 'package.json'));
const fromHandler = createRequire(createRequire(path.join(cwd, 'package.json')).resolve('@twilio/runtime-handler/dev'));
const bodyParser = fromHandler('body-parser') as BodyParsers;
// The parseurl of the Express that serves the routes (req.path is its pathname): the gateway routes on its parse.
const parseUrl = createRequire(fromHandler.resolve('express'))('parseurl') as GatewayOptions['parseUrl'];

interface ScannedRoute {
  path: string;
  access: Route['access'];
}
const routes = new Map<string, Route>();
const scanned = (
  fromTwilioRun('@twilio-labs/serverless-api') as {
    fsHelpers: {
      getListOfFunctionsAndAssets(
        cwd: string,
        config: object,
      ): Promise<{ functions: ScannedRoute[]; assets: ScannedRoute[] }>;
    };
  }
).fsHelpers
  .getListOfFunctionsAndAssets(cwd, { functionsFolderNames: [functionsFolder], assetsFolderNames: [assetsFolder] })
  .then(({ functions, assets }) => {
    for (const fn of functions) routes.set(fn.path, { type: 'function', access: fn.access });
    for (const asset of assets) routes.set(asset.path, { type: 'asset', access: asset.access });
  })
  .catch((err: unknown) => log(`could not list the Functions and Assets: ${(err as Error).message}`));

const localBase = `http://localhost:${port}`;
const signatureBaseUrls = [
  ...new Set([
    env.WEBHOOK_BASE_URL ? baseUrlFrom(env, 'WEBHOOK_BASE_URL') : localBase,
    localBase,
    `http://127.0.0.1:${port}`,
  ]),
];

const original = http.createServer;
http.createServer = function createServer(this: unknown, ...args: unknown[]) {
  const index = args.findIndex((a) => typeof a === 'function');
  const app = args[index] as (RequestListener & { handle?: unknown }) | undefined;
  if (app && typeof app.handle === 'function') {
    const gateway = platformGateway(app, {
      route: (pathname) => routes.get(pathname),
      parseUrl,
      authToken: env.AUTH_TOKEN,
      signatureBaseUrls,
      privatePaths: [
        cwd,
        path.resolve(cwd, functionsFolder),
        path.resolve(cwd, assetsFolder),
        `${os.tmpdir()}${path.sep}`,
        `${os.homedir()}${path.sep}`,
      ],
      bodyParser,
      log,
    });
    // Routes are listed before twilio-run listens; waiting here only matters for a request in the first instant.
    args[index] = (req: IncomingMessage, res: ServerResponse) => void scanned.then(() => gateway(req, res));
  }
  const server = (original as (...a: unknown[]) => Server).apply(this, args);
  // With a checkContinue listener Node no longer answers "100 Continue" by itself before the request is seen:
  // the gateway does, after its header checks, so an oversized upload gets its 413 before any body is sent.
  if (app && typeof app.handle === 'function') server.on('checkContinue', args[index] as RequestListener);
  // Registered before twilio-run's own handler, which would ask for another port through a prompt that waits
  // forever without a terminal: a port taken after npm start's check ends the runtime with npm start's message.
  if (app && typeof app.handle === 'function') {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (!['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'].includes(error.code ?? '')) return;
      process.stderr.write(`${listenProblem(error.code!, host, Number(port), undefined)}\n`);
      process.exit(1);
    });
  }
  return server;
};

// Deployed, a Function's stray rejection fails that one invocation (which then times out); it must not stop
// the whole local runtime and every request in flight with it.
process.on('unhandledRejection', (reason) =>
  log(`a Function left a promise rejection unhandled: ${reason instanceof Error ? reason.message : String(reason)}`),
);
