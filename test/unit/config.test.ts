import * as fs from 'node:fs';
import * as path from 'node:path';
import { SUPPORTED_RUNTIMES } from '../../src/deploy/platform';
import { PROJECT_ROOT } from '../support/paths';

// twilio-run's own loader: cosmiconfig module "twilioserverless" with its JSON5 loaders.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readSpecializedConfig } = require('twilio-run/dist/config/global') as {
  readSpecializedConfig: (baseDir: string, file: string | undefined, command: string) => Record<string, unknown>;
};
// the cosmiconfig twilio-run itself resolves, searching as its config loader does
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { cosmiconfigSync } = require(
  require.resolve('cosmiconfig', { paths: [path.dirname(require.resolve('twilio-run/package.json'))] }),
) as {
  cosmiconfigSync: (module: string) => { search: (from: string) => { filepath: string } | null };
};

// Reading `commands.deploy` runs the deploy preflight (a build), and `commands.start` outside npm start's twilio-run
// runs npm start: these tests read start only as npm start's own twilio-run does. The deploy path is
// tested end to end in test/integration/deploy.test.ts.
describe('.twilioserverlessrc.js', () => {
  it('is the file twilio-run and the Twilio CLI find: no JSON5 .twilioserverlessrc shadows it', () => {
    const found = cosmiconfigSync('twilioserverless').search(PROJECT_ROOT);
    expect(found?.filepath).toBe(path.join(PROJECT_ROOT, '.twilioserverlessrc.js'));
    expect(fs.existsSync(path.join(PROJECT_ROOT, '.twilioserverlessrc'))).toBe(false);
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
    expect(pkg.twilioserverless).toBeUndefined();
  });

  it('in the twilio-run that npm start runs, points start at the build output with binary bodies working', () => {
    // the mark of the gateway preload (src/local-runtime/platform-preload.ts); without it, reading `commands.start`
    // runs npm start in its place (tested end to end in test/integration/serverless-start.test.ts)
    const gateway = Symbol.for('twilio-media-assets.platform-gateway');
    const global = globalThis as Record<symbol, unknown>;
    global[gateway] = true;
    try {
      const config = readSpecializedConfig(PROJECT_ROOT, undefined, 'start');
      expect(config).toMatchObject({
        functionsFolder: 'dist/functions',
        assetsFolder: 'dist/assets',
        forkProcess: false,
      });
    } finally {
      delete global[gateway];
    }
  });

  it('sends a runtime Twilio supports, and runs code only when a command reads its own settings', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const config = require(path.join(PROJECT_ROOT, '.twilioserverlessrc.js'));
    expect(SUPPORTED_RUNTIMES).toContain(config.runtime);
    expect(config.runtime).toBe('node22');
    const deploy = Object.getOwnPropertyDescriptor(config.commands, 'deploy');
    expect(deploy).toHaveProperty('get', expect.any(Function));
    // start: npm start in place of any twilio-run but the one npm start runs
    expect(Object.getOwnPropertyDescriptor(config.commands, 'start')).toHaveProperty('get', expect.any(Function));
  });
});
