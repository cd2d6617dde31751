import * as path from 'node:path';
import { PROJECT_ROOT } from '../support/paths';

// twilio-run's own loader: cosmiconfig module "twilioserverless" with its JSON5 loaders.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readSpecializedConfig } = require('twilio-run/dist/config/global') as {
  readSpecializedConfig: (baseDir: string, file: string | undefined, command: string) => Record<string, unknown>;
};

describe('.twilioserverlessrc', () => {
  it('points deploy at the build output, not the sources', () => {
    const config = readSpecializedConfig(PROJECT_ROOT, undefined, 'deploy');
    expect(config.functionsFolder).toBe('dist/functions');
    expect(config.assetsFolder).toBe('dist/assets');
  });

  it('points start at the build output with binary bodies working', () => {
    const config = readSpecializedConfig(PROJECT_ROOT, path.join(PROJECT_ROOT, '.twilioserverlessrc'), 'start');
    expect(config).toMatchObject({ functionsFolder: 'dist/functions', assetsFolder: 'dist/assets', forkProcess: false });
  });
});
