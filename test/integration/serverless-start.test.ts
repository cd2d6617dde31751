import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../src/local-runtime/twilio-run';
import { request } from '../support/http';
import { waitUntilAnswering } from '../support/runtime';
import { clone as cloneProject, CREDENTIALS } from '../support/deploy-run';
import { PROJECT_ROOT } from '../support/paths';
import { twilioCliCommand, twilioCliEnv } from '../support/twilio-cli';

// `twilio serverless:start` as Twilio's docs tell users to run it: the real Twilio CLI with
// @twilio-labs/plugin-serverless (its own bundled twilio-run 3.x), and the project's twilio-run run by hand. Both
// must serve what `npm start` serves (the current build, behind the platform's gateway), from a fresh copy with no
// dist/ and after an edit; what npm start cannot honour is refused by name.
jest.setTimeout(420_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-start-'));
const TWILIO_RUN = require.resolve('twilio-run/bin/twilio-run.js', { paths: [PROJECT_ROOT] });

/** The project as a fresh clone has it (test/support/deploy-run.ts), with credentials for the local runtime. */
function clone(name: string): string {
  const dir = cloneProject(work, name);
  fs.writeFileSync(path.join(dir, '.env'), CREDENTIALS);
  return dir;
}

interface Started {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

function launch(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv): Started {
  // own process group: stop() ends the CLI, npm start's process and twilio-run together
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  child.stdout.on('data', (c: Buffer) => (log += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (log += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const group = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // gone
    }
  };
  return {
    child,
    output: () => log,
    exited,
    stop: async () => {
      group('SIGTERM');
      const timer = setTimeout(() => group('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const serverlessStart = (cwd: string, args: string[]) => {
  const { command, args: cli } = twilioCliCommand(['serverless:start', ...args]);
  return launch(cwd, command, cli, twilioCliEnv());
};
const twilioRunStart = (cwd: string, args: string[]) =>
  launch(cwd, process.execPath, [TWILIO_RUN, 'start', ...args], { ...process.env, FORCE_COLOR: '0', CI: 'true' });

/** Starts a command on a free port, waits until it serves /health, runs `check`, and stops it whatever happens. */
async function whileServing(
  start: (port: number) => Started,
  check: (port: number, started: Started) => Promise<void>,
): Promise<void> {
  const port = await freePort();
  const started = start(port);
  try {
    await waitUntilAnswering(`http://127.0.0.1:${port}`, started.child, () => started.output(), 300_000);
    await check(port, started);
  } finally {
    await started.stop();
  }
}

/** What only the gateway in front of twilio-run answers: twilio-run alone has no such rule. */
async function expectGateway(port: number): Promise<void> {
  const put = await request(`http://127.0.0.1:${port}/health`, { method: 'PUT' });
  expect(put.status).toBe(405);
  expect(JSON.parse(put.body.toString()).error).toContain('method PUT is not supported');
  const big = await request(`http://127.0.0.1:${port}/health`, {
    method: 'POST',
    body: 'a='.padEnd(1_100_000, 'x'),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  expect(big.status).toBe(413);
}

const added = (text: string) =>
  `import type { ServerlessFunctionSignature } from '@twilio-labs/serverless-runtime-types/types';\n\nexport const handler: ServerlessFunctionSignature = (_context, _event, callback) => callback(null, '${text}');\n`;

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('`twilio serverless:start` (the real Twilio CLI and its plugin) runs npm start', () => {
  const root = clone('cli');

  it('from a fresh copy without dist/: builds, then serves the build behind the gateway on --port', async () => {
    expect(fs.existsSync(path.join(root, 'dist'))).toBe(false);
    await whileServing(
      (port) => serverlessStart(root, ['--port', String(port)]),
      async (port, started) => {
        expect(started.output()).toContain('twilio serverless:start: running `npm start`');
        expect(started.output()).toContain(`Local runtime: http://127.0.0.1:${port}/health`);
        expect(fs.existsSync(path.join(root, 'dist', 'build-stamp.json'))).toBe(true);
        await expectGateway(port);
      },
    );
  });

  it('after an edit: serves the edited sources, not the previous build', async () => {
    fs.writeFileSync(path.join(root, 'src', 'functions', 'added.ts'), added('first edit'));
    await whileServing(
      (port) => serverlessStart(root, ['-p', String(port)]),
      async (port) => {
        const res = await fetch(`http://127.0.0.1:${port}/added`);
        expect([res.status, await res.text()]).toEqual([200, 'first edit']);
      },
    );
  });

  it('stops the runtime when the CLI alone is stopped', async () => {
    await whileServing(
      (port) => serverlessStart(root, ['--port', String(port)]),
      async (port, started) => {
        process.kill(started.child.pid!, 'SIGTERM'); // the CLI's process only, not its group
        await started.exited;
        const deadline = Date.now() + 15_000;
        let free = false;
        while (!free && Date.now() < deadline) {
          free = await new Promise<boolean>((resolve) => {
            const probe = net.createServer();
            probe.once('error', () => resolve(false));
            probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
          });
          if (!free) await new Promise((r) => setTimeout(r, 250));
        }
        expect(free).toBe(true);
      },
    );
  });

  it('refuses a flag npm start cannot honour, by name, at once and serving nothing', async () => {
    const started = serverlessStart(root, ['--live']);
    expect(await started.exited).toBe(2);
    expect(started.output()).toMatch(
      /unknown option "--live" for twilio serverless:start\. twilio serverless:start runs `npm start` in this project/,
    );
    expect(started.output()).not.toContain('Local runtime:');
  });

  it("with its port taken: npm start's one line, exit 1, no prompt", async () => {
    const held = net.createServer();
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', () => r()));
    const { port } = held.address() as net.AddressInfo;
    try {
      const started = serverlessStart(root, ['--port', String(port)]);
      expect(await started.exited).toBe(1);
      expect(started.output()).toContain(`Port ${port} on 127.0.0.1 is already in use by another program`);
      expect(started.output()).not.toMatch(/Choose a new port/);
    } finally {
      held.close();
    }
  });
});

describe('`twilio-run start` run by hand runs npm start too', () => {
  const root = clone('by-hand');

  it('from a fresh copy, then after an edit, serves the current build behind the gateway', async () => {
    fs.writeFileSync(path.join(root, 'src', 'functions', 'added.ts'), added('before'));
    await whileServing(
      (port) => twilioRunStart(root, ['--port', String(port)]),
      async (port, started) => {
        expect(started.output()).toContain('twilio-run start: running `npm start`');
        await expectGateway(port);
        expect(await (await fetch(`http://127.0.0.1:${port}/added`)).text()).toBe('before');
      },
    );
    fs.writeFileSync(path.join(root, 'src', 'functions', 'added.ts'), added('after'));
    await whileServing(
      (port) => twilioRunStart(root, ['--port', String(port)]),
      async (port) => expect(await (await fetch(`http://127.0.0.1:${port}/added`)).text()).toBe('after'),
    );
  });

  it('refuses another project folder by name', async () => {
    const started = twilioRunStart(root, [os.tmpdir()]);
    expect(await started.exited).toBe(2);
    expect(started.output()).toContain(`twilio-run start serves this project only, not "${os.tmpdir()}"`);
  });
});
