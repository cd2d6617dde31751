import * as path from 'node:path';
import { AssetLimitError, formatUsage } from '../pipeline/asset-limits';
import { buildProject, PROJECT_ROOT } from '../pipeline/project';
import { spawnTwilioRun } from '../local-runtime/twilio-run';
import { TypeCheckError } from '../pipeline/typecheck';
import { wholeNumber } from '../lib/settings';

function parsePort(raw: string | undefined): number {
  return wholeNumber('PORT', raw, { fallback: 3000, max: 65535 });
}

async function build(): Promise<ReturnType<typeof buildProject>> {
  return buildProject({ log: (line) => console.log(line) });
}

async function start(): Promise<void> {
  const port = parsePort(process.env.PORT);
  const result = await build();
  const host = process.env.TWILIO_RUN_HOST ?? '127.0.0.1';
  const child = spawnTwilioRun({
    projectRoot: PROJECT_ROOT,
    port,
    functionsDir: result.functionsDir,
    assetsDir: result.assetsDir,
    host,
    stdio: 'inherit',
  });
  const shown = host === '0.0.0.0' ? 'localhost' : host;
  console.log(`\nLocal runtime: http://${shown}:${port}/health  (functions from ${path.relative(PROJECT_ROOT, result.functionsDir)})`);
  const stop = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (code) => process.exit(code ?? 0));
}

const commands: Record<string, () => Promise<unknown>> = { build, start };

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  const command = commands[name];
  if (!command) {
    console.error(`Unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}`);
    process.exit(2);
  }
  await command();
}

main().catch((error: unknown) => {
  if (error instanceof TypeCheckError) console.error(`Build failed. ${error.message}`);
  else if (error instanceof AssetLimitError) console.error(`Build failed: ${error.message}\n\n${formatUsage(error.check)}\nNothing was written to dist/assets.`);
  else console.error(`Build failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
