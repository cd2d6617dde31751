import * as path from 'node:path';

/** The project's folder (package.json, src, assets, dist). Its own module, so a command can name it without
 * loading the build pipeline. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
