import * as fs from 'node:fs';
import * as path from 'node:path';

/** The project's one configuration of twilio-run and the Twilio CLI: the only one that runs the checks. */
export const PROJECT_CONFIG = '.twilioserverlessrc.js';

/**
 * The places twilio-run's cosmiconfig (module "twilioserverless"; versions 7 and 8 alike) looks at before
 * `.twilioserverlessrc.js`, in its order: a config found there is read instead, and neither the deploy preflight
 * nor the promote and env checks run. Checked by hand because a cosmiconfig search loads, and for JavaScript runs,
 * every file it finds.
 */
const SHADOWING_PLACES = [
  '.twilioserverlessrc',
  '.twilioserverlessrc.json',
  '.twilioserverlessrc.yaml',
  '.twilioserverlessrc.yml',
];

/** The files that would shadow .twilioserverlessrc.js, each with why; empty when none does. */
export function shadowingConfigs(projectRoot: string): string[] {
  const found: string[] = [];
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
    if (pkg.twilioserverless !== undefined) found.push('package.json (its "twilioserverless" key)');
  } catch {
    // a missing or broken package.json fails the build on its own, with its own message
  }
  for (const place of SHADOWING_PLACES) {
    if (fs.existsSync(path.join(projectRoot, place))) found.push(place);
  }
  return found;
}

/** Throws naming every shadowing config and what to do, for the build and npm start. */
export function refuseShadowingConfigs(projectRoot: string): void {
  const found = shadowingConfigs(projectRoot);
  if (found.length === 0) return;
  throw new Error(
    `${found.join(' and ')} would be read by twilio-run and the Twilio CLI instead of ${PROJECT_CONFIG}, and a deploy or promote would then skip the project's checks: move its settings into ${PROJECT_CONFIG} and remove it`,
  );
}
