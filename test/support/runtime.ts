import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import twilio from 'twilio';
import { freePort, spawnTwilioRun } from '../../src/local-runtime/twilio-run';

export { freePort };
import { RawResponse, request } from './http';
import { PROJECT_ROOT, sharedBuildDir } from './paths';

export const TEST_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const TEST_AUTH_TOKEN = 'test-auth-token-0123456789abcdef';

export interface RunningRuntime {
  port: number;
  baseUrl: string;
  /** everything twilio-run printed so far (stdout and stderr) */
  output(): string;
  /**
   * Resolves once nothing new has been printed for a moment: a Function's log lines can reach this process after
   * its answer, since the pipe and the socket are read independently.
   */
  quiet(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

// Last resort when a test file dies without reaching its afterAll: no orphaned twilio-run.
process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

export function writeEnvFile(env: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-env-'));
  const file = path.join(dir, '.env');
  fs.writeFileSync(
    file,
    Object.entries(env)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n') + '\n',
  );
  return file;
}

/**
 * Resolves once baseUrl/health answers 200; throws with the output when the child exits first or time runs out.
 * Without a child (a runtime another process started), only the time bounds the wait.
 */
export async function waitUntilAnswering(
  baseUrl: string,
  child: ChildProcess | undefined,
  output: () => string,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`twilio-run exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`twilio-run did not answer on ${baseUrl}/health within ${timeoutMs} ms:\n${output()}`);
}

export interface StartOptions {
  /** build to serve; default the shared build of this jest run */
  buildDir?: string;
  /** variables for the Functions' context, written to a generated env file */
  env?: Record<string, string>;
  /** port to listen on (e.g. to restart on the same URL); default a free one */
  port?: number;
  /** twilio-run's default live mode (require cache cleared per request) instead of `npm start`'s */
  live?: boolean;
  /** also append everything twilio-run prints to this file, for other processes to read (the shared runtime) */
  logFile?: string;
}

/** Starts the real `twilio-run start` on a free loopback port and waits until /health answers. */
export async function startRuntime(options: StartOptions = {}): Promise<RunningRuntime> {
  const buildDir = options.buildDir ?? sharedBuildDir();
  const port = options.port ?? (await freePort());
  const envFile = writeEnvFile({
    ACCOUNT_SID: TEST_ACCOUNT_SID,
    AUTH_TOKEN: TEST_AUTH_TOKEN,
    // the local runtime's default media store is a folder in the project: a test that stores media names its own
    MEDIA_STORE_URL: 'none',
    ...options.env,
  });
  const child = spawnTwilioRun({
    projectRoot: PROJECT_ROOT,
    port,
    functionsDir: path.join(buildDir, 'functions'),
    assetsDir: path.join(buildDir, 'assets'),
    envFile,
    detached: true,
    live: options.live,
  });
  running.add(child);
  let log = '';
  const printed = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (options.logFile) fs.appendFileSync(options.logFile, chunk);
  };
  child.stdout?.on('data', printed);
  child.stderr?.on('data', printed);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    running.delete(child);
    fs.rmSync(path.dirname(envFile), { recursive: true, force: true });
  };
  try {
    await waitUntilAnswering(baseUrl, child, () => log, 45000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, baseUrl, output: () => log, quiet: () => quietOutput(() => log), stop };
}

/** Resolves once nothing new has been printed for 60 ms, or after 2 s. */
async function quietOutput(output: () => string): Promise<void> {
  const until = Date.now() + 2000;
  let seen = -1;
  while (seen !== output().length && Date.now() < until) {
    seen = output().length;
    await new Promise((r) => setTimeout(r, 60));
  }
}

/** Where the global setup tells the test processes about the shared runtime (a SharedRuntimeInfo as JSON). */
const SHARED_RUNTIME_VARIABLE = 'TMA_SHARED_RUNTIME';

interface SharedRuntimeInfo {
  port: number;
  logFile: string;
}

/** The shared runtime starting or started, kept where the global teardown finds it (jest runs both in one process). */
const SHARED_RUNTIME = Symbol.for('twilio-media-assets.test.shared-runtime');
const holder = globalThis as { [SHARED_RUNTIME]?: Promise<RunningRuntime> };

/**
 * For the jest global setup: starts the runtime every suite can share (the shared build, default options) and
 * tells the test processes where it is, without waiting for it to answer: suites that use it wait in
 * sharedRuntime(), and a run with no such suite does not wait at all.
 */
export async function startSharedRuntime(logFile: string): Promise<void> {
  const port = await freePort();
  fs.writeFileSync(logFile, '');
  process.env[SHARED_RUNTIME_VARIABLE] = JSON.stringify({ port, logFile } satisfies SharedRuntimeInfo);
  const started = startRuntime({ port, logFile });
  started.catch(() => undefined); // reported by the suites that wait for it, with its output
  holder[SHARED_RUNTIME] = started;
}

/** For the jest global teardown: stops the shared runtime once it has started (or failed to). */
export async function stopSharedRuntime(): Promise<void> {
  const started = holder[SHARED_RUNTIME];
  delete holder[SHARED_RUNTIME];
  await started?.then((runtime) => runtime.stop()).catch(() => undefined);
}

/**
 * The twilio-run the global setup started on the shared build with the default options, for a suite that needs
 * nothing else (no env, no other build, no restart). It serves every such suite, two at once when jest runs
 * two workers: a suite that needs its own env or log to itself starts its own with startRuntime(). Its output()
 * is what the runtime printed since this call; stop() leaves it running (the global teardown stops it).
 */
export async function sharedRuntime(): Promise<RunningRuntime> {
  const info = process.env[SHARED_RUNTIME_VARIABLE];
  if (!info) throw new Error(`${SHARED_RUNTIME_VARIABLE} is not set: the shared runtime needs the jest global setup`);
  const { port, logFile } = JSON.parse(info) as SharedRuntimeInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const whole = () => fs.readFileSync(logFile, 'utf8');
  await waitUntilAnswering(baseUrl, undefined, whole, 45000);
  const from = fs.statSync(logFile).size;
  const output = () => fs.readFileSync(logFile).subarray(from).toString('utf8');
  return { port, baseUrl, output, quiet: () => quietOutput(output), stop: async () => undefined };
}

/**
 * X-Twilio-Signature for a request to the local runtime, as Twilio makes it: over http://localhost:PORT plus the
 * path and query it called, and every posted form parameter, keyed with the Auth Token.
 */
export function twilioSignature(
  port: number,
  pathAndQuery: string,
  params: Record<string, string> = {},
  authToken = TEST_AUTH_TOKEN,
): string {
  return twilio.getExpectedTwilioSignature(authToken, `http://localhost:${port}${pathAndQuery}`, params);
}

/** A form POST to the local runtime signed as Twilio signs its webhooks (e.g. an inbound MMS to /mms/inbound). */
export function postSignedWebhook(
  runtime: RunningRuntime,
  pathname: string,
  params: Record<string, string>,
): Promise<RawResponse> {
  return request(`${runtime.baseUrl}${pathname}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': twilioSignature(runtime.port, pathname, params),
    },
    body: new URLSearchParams(params).toString(),
  });
}
