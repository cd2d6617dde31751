import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { PROJECT_ROOT } from './paths';

export interface PluginPage {
  origin: string;
  close(): Promise<void>;
}

/** The plugin client bundled as a browser ES module, as a plugin's bundler would ship it. */
export async function bundleClient(): Promise<string> {
  const bundled = await esbuild.build({
    entryPoints: [path.join(PROJECT_ROOT, 'src', 'client', 'flex-asset-client.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  return bundled.outputFiles[0].text;
}

/** A Flex plugin's page: an origin of its own on loopback serving an empty page and the client at /client.js. */
export async function startPluginPage(clientJs: string): Promise<PluginPage> {
  const server = http.createServer((req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(clientJs);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><meta charset="utf-8"><title>plugin</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
