import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawnTwilioRun } from '../../src/local-runtime/twilio-run';
import { PROJECT_ROOT, sharedBuildDir } from '../support/paths';

// `npm start` and `npm run watch` as a user runs them, without a terminal (stdin is /dev/null, as in an editor's
// task runner or CI): with their port taken they must say so in one line and exit 1, never wait at twilio-run's
// "Choose a new port number" prompt, never print a URL that is another program's.
jest.setTimeout(120_000);

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, spawnIt?: () => ChildProcess): Promise<Exit> {
  const started = Date.now();
  const child =
    spawnIt?.() ??
    spawn(command, args, {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve) => {
    // A hang is the failure this guards against: end it (the whole group, twilio-run included) and report it.
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Lines a command printed on stderr, without npm's own notices. */
const ownLines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('npm '));

function hold(host: string): Promise<net.Server & { port: number }> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nother'));
    server.once('error', reject);
    server.listen(0, host, () => resolve(Object.assign(server, { port: (server.address() as net.AddressInfo).port })));
  });
}

describe('npm start and npm run watch check their port and host before anything else', () => {
  let held: net.Server & { port: number };
  beforeAll(async () => {
    held = await hold('127.0.0.1');
  });
  afterAll(() => new Promise<void>((resolve) => held.close(() => resolve())));

  it.each(['start', 'watch'])(
    'npm run %s with PORT taken: one line naming the port, exit 1, no prompt',
    async (script) => {
      const exit = await run('npm', ['run', script], { PORT: String(held.port) });
      expect(exit.code).toBe(1);
      expect(ownLines(exit.stderr)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^Port ${held.port} on 127\\.0\\.0\\.1 is already in use by another program: stop that program, or start on another port, e.g\\. PORT=\\d+ npm start\\.$`,
          ),
        ),
      ]);
      const all = exit.stdout + exit.stderr;
      expect(all).not.toMatch(/Choose a new port/);
      expect(all).not.toMatch(/Local runtime: http/);
      // refused before the build: nothing was built or staged
      expect(exit.stdout).not.toMatch(/Build|Functions|bundled/i);
      // npm and tsx take most of this; the check itself is a listen on the port
      expect(exit.ms).toBeLessThan(15_000);
      process.stdout.write(`npm run ${script} with its port taken exited in ${exit.ms} ms\n`);
    },
  );

  it('is refused the same when the other program listens on every interface', async () => {
    const everywhere = await hold('0.0.0.0');
    try {
      const exit = await run('npm', ['start'], { PORT: String(everywhere.port) });
      expect(exit.code).toBe(1);
      expect(ownLines(exit.stderr)).toEqual([
        expect.stringContaining(`Port ${everywhere.port} on 127.0.0.1 is already in use`),
      ]);
    } finally {
      await new Promise((resolve) => everywhere.close(resolve));
    }
  });

  it('names TWILIO_RUN_HOST when it is not an address of this machine', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of a real interface
    const exit = await run('npm', ['start'], { TWILIO_RUN_HOST: '192.0.2.1', PORT: String(held.port) });
    expect(exit.code).toBe(1);
    expect(ownLines(exit.stderr)).toEqual([
      'TWILIO_RUN_HOST=192.0.2.1 is not an address of this machine: unset it (127.0.0.1), or name one of its interfaces.',
    ]);
  });

  it('names PORT when it is not a port number', async () => {
    const exit = await run('npm', ['start'], { PORT: '80a' });
    expect(exit.code).toBe(1);
    expect(ownLines(exit.stderr)).toEqual(['PORT must be a whole number from 1 to 65535, got "80a"']);
  });

  it('a port taken after the check (between npm start and twilio-run) ends twilio-run with the same line, not its prompt', async () => {
    const build = sharedBuildDir();
    const exit = await run('', [], {}, () =>
      spawnTwilioRun({
        projectRoot: PROJECT_ROOT,
        port: held.port,
        functionsDir: path.join(build, 'functions'),
        assetsDir: path.join(build, 'assets'),
        detached: true,
      }),
    );
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain(`Port ${held.port} on 127.0.0.1 is already in use by another program`);
    expect(exit.stdout + exit.stderr).not.toMatch(/Choose a new port/);
  });
});
