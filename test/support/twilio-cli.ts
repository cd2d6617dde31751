import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from './paths';

// The real Twilio CLI and @twilio-labs/plugin-serverless (its own bundled twilio-run 3.x), as users run
// `twilio serverless:deploy` and `twilio serverless:start`. Both are devDependencies; `twilio plugins:link`
// records the plugin in the CLI's data folder, which lives under HOME: each test process gets its own HOME, so
// no test depends on (or changes) the machine's own CLI set-up.
const TWILIO_BIN = path.join(PROJECT_ROOT, 'node_modules', 'twilio-cli', 'bin', 'run');
const PLUGIN_DIR = path.join(PROJECT_ROOT, 'node_modules', '@twilio-labs', 'plugin-serverless');

let home: string | undefined;

/** Environment for the CLI: a private HOME with the plugin linked, no update checks, no colours, no prompts. */
export function twilioCliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  if (!home) {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-twilio-cli-'));
    execFileSync(process.execPath, [TWILIO_BIN, 'plugins:link', PLUGIN_DIR], {
      env: baseEnv(home),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
  return { ...baseEnv(home), ...extra };
}

function baseEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: dir,
    XDG_DATA_HOME: path.join(dir, '.local', 'share'),
    XDG_CONFIG_HOME: path.join(dir, '.config'),
    XDG_CACHE_HOME: path.join(dir, '.cache'),
    TWILIO_ACCOUNT_SID: process.env.TWILIO_ACCOUNT_SID ?? 'AC00000000000000000000000000000000',
    TWILIO_AUTH_TOKEN: process.env.TWILIO_AUTH_TOKEN ?? 'test-token',
    TWILIO_CLI_NO_AUTOUPDATE: '1',
    FORCE_COLOR: '0',
    CI: 'true',
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `twilio ARGS...` in cwd to its end (stdin closed: a prompt would fail, never hang). */
export function twilioCli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TWILIO_BIN, ...args], {
      cwd: options.cwd,
      env: twilioCliEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The spawn arguments of `twilio ARGS...`, for a test that must watch a long-running command (serverless:start). */
export function twilioCliCommand(args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: [TWILIO_BIN, ...args] };
}
