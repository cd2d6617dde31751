/**
 * What Twilio's Serverless platform accepts in a Build, as Twilio documents it. The deploy preflight checks the
 * project against it before any request, and the tests' fake Serverless API refuses what is not on it.
 * twilio-run checks none of this (it only requires the handler version to be exact semver).
 */

export const RUNTIME_HANDLER = '@twilio/runtime-handler';

/**
 * Runtime Handler versions a Build may name. Source: Twilio's "Runtime Handler" page, table "Versions"
 * (https://www.twilio.com/docs/serverless/functions-assets/handler, read 2026-11-26): 2.1.2 (Node.js 24),
 * 2.0.1 (the default), 2.0.0, 1.3.x, 1.2.x. The npm package is only the local development runtime and the two
 * lists differ: 2.0.2, 2.0.3 and 2.1.0 are on npm but not on the page, and a Build naming them is answered
 * 400 / 20001 "No matching version found" (serverless-toolkit issues #538 and #564, PR #558); 2.1.2 is on the
 * page but not on npm, so it cannot be installed for local development.
 */
export const ACCEPTED_RUNTIME_HANDLER_VERSIONS: readonly string[] = [
  '2.1.2',
  '2.0.1',
  '2.0.0',
  '1.3.1',
  '1.3.0',
  '1.2.5',
  '1.2.4',
  '1.2.3',
  '1.2.2',
  '1.2.1',
  '1.2.0',
];

/**
 * Build runtimes. Sources: Twilio's "Functions and Assets Node.js v22 Upgrade" page (node22 is the default of
 * new services; node18 Builds are refused after 2025-11-10 with 82007) and the changelog "Node.js v24 is now
 * available for Twilio Functions" (2026-07-08: node24, which upgrades a 1.2.0-2.1.2 handler to 2.1.2 itself).
 * A Build without a runtime reuses the service's last one, which can be one of these no longer.
 */
export const SUPPORTED_RUNTIMES: readonly string[] = ['node22', 'node24'];

/**
 * Environment variable limits. Sources: the Variable resource of the Serverless API (key at most 128
 * characters, value at most 450 bytes) and error 82006 "Environment Context too large" (the context, i.e. the
 * account metadata, domain name, path and variables as one JSON string, over 3 KB makes invocations fail).
 */
export const VARIABLE_LIMITS = { keyChars: 128, valueBytes: 450, contextBytes: 3 * 1024 } as const;

/** Why a package.json's handler pin would be refused by the platform, or null when it is accepted. */
export function runtimeHandlerProblem(dependencies: Record<string, string> | undefined): string | null {
  const pin = dependencies?.[RUNTIME_HANDLER];
  const accepted = ACCEPTED_RUNTIME_HANDLER_VERSIONS.join(', ');
  if (pin === undefined) {
    return `package.json: "${RUNTIME_HANDLER}" is missing from "dependencies"; without it Functions get no event.request (pin one of: ${accepted})`;
  }
  if (!/^\d+\.\d+\.\d+$/.test(pin)) {
    return `package.json: "${RUNTIME_HANDLER}": "${pin}" is not an exact version; Twilio answers such a Build with 20001 (pin one of: ${accepted})`;
  }
  if (!ACCEPTED_RUNTIME_HANDLER_VERSIONS.includes(pin)) {
    return `package.json: "${RUNTIME_HANDLER}": "${pin}" is not a version Twilio's platform accepts (error 20001 "No matching version found"); pin one of: ${accepted}`;
  }
  return null;
}

/** Why a Build's runtime would be refused (82007), or null. */
export function runtimeProblem(runtime: string | undefined, where: string): string | null {
  const supported = SUPPORTED_RUNTIMES.join(', ');
  if (runtime === undefined || runtime === '') {
    return `${where}: no "runtime"; a Build without one reuses the service's last runtime, which Twilio may refuse with 82007 (set one of: ${supported})`;
  }
  if (!SUPPORTED_RUNTIMES.includes(runtime)) {
    return `${where}: runtime "${runtime}" is not one Twilio supports (error 82007 "Unsupported Runtime"); use one of: ${supported}`;
  }
  return null;
}
