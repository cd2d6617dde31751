import * as net from 'node:net';

/** A port free on loopback now: twilio-run asks interactively when its port is taken, so pick one first. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Why the local runtime cannot listen on host:port; the message names the setting to change. */
export class ListenError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/**
 * The one line to show when the local runtime cannot listen: npm start's check before the build, and the gateway
 * preload when the port is taken between that check and twilio-run's own listen.
 */
export function listenProblem(code: string, host: string, port: number, suggestion: number | undefined): string {
  const other = suggestion === undefined ? 'another port' : `another port, e.g. PORT=${suggestion} npm start`;
  switch (code) {
    case 'EADDRINUSE':
      return `Port ${port} on ${host} is already in use by another program: stop that program, or start on ${other}.`;
    case 'EACCES':
      return `Port ${port} on ${host} needs privileges this user lacks: start on ${other} (PORT, from 1025 to 65535).`;
    case 'EADDRNOTAVAIL':
      return `TWILIO_RUN_HOST=${host} is not an address of this machine: unset it (127.0.0.1), or name one of its interfaces.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `TWILIO_RUN_HOST=${host} does not resolve to an address: unset it (127.0.0.1), or name one of this machine's interfaces.`;
    default:
      return `Cannot listen on ${host}:${port} (${code}): check PORT and TWILIO_RUN_HOST.`;
  }
}

/**
 * Resolves when host:port is free to listen on, before anything is built or started: twilio-run, finding its port
 * taken, asks for another one through an interactive prompt, which waits forever without a terminal.
 */
export async function ensureListenable(host: string, port: number): Promise<void> {
  const code = await new Promise<string | undefined>((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'EUNKNOWN'));
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
  if (code === undefined) return;
  const suggestion = code === 'EADDRINUSE' || code === 'EACCES' ? await freePort().catch(() => undefined) : undefined;
  throw new ListenError(code, listenProblem(code, host, port, suggestion));
}
