import { isFolderStoreUrl, mediaStoreSettingsFrom } from '../lib/storage/media-store';
import { VARIABLE_LIMITS } from './platform';

// twilio-run's own filter of what a deploy, promote or env import uploads of an env file, so every check sees
// exactly the variables twilio-run is about to send.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const twilioRunEnv = require('twilio-run/dist/config/utils/env') as {
  filterEnvVariablesForDeploy(env: Record<string, string>): Record<string, string>;
};

/** What twilio-run uploads of an env file's variables (no empty values, no ACCOUNT_SID or AUTH_TOKEN). */
export function uploadedVariables(envVariables: Record<string, string>): Record<string, string> {
  return twilioRunEnv.filterEnvVariablesForDeploy(envVariables);
}

/**
 * Where each environment variable of this project goes. `.env` holds what the Functions read: `twilio-run
 * start` loads it into their context and a deploy uploads it as the service's variables (all but ACCOUNT_SID
 * and AUTH_TOKEN). `.env.local` holds what only the commands run on your machine read; nothing uploads it.
 * A Function that reads a new variable must list it here, or a deploy refuses the variable (the environment
 * table in docs/environment.md says the same, row by row).
 */
export const FUNCTION_VARIABLES: readonly string[] = [
  'API_KEY',
  'API_SECRET',
  'WEBHOOK_BASE_URL',
  'MEDIA_ALLOWED_HOSTS',
  'MEDIA_FETCH_DEADLINE_MS',
  'MEDIA_ATTEMPT_TIMEOUT_MS',
  'MMS_REPLY',
  'SMS_REPLY',
  'MMS_FROM',
  'LOG_LEVEL',
  'FLEX_ALLOWED_ORIGINS',
  'FLEX_TOKEN_TIMEOUT_MS',
  'FLEX_ASSET_FETCH_TIMEOUT_MS',
  'PROTECTED_ASSET_BASE_URL',
  'FLEX_TOKEN_CACHE_SECONDS',
  'TWILIO_REGION',
  'MEDIA_STORE_URL',
  'MEDIA_STORE_ENDPOINT',
  'MEDIA_STORE_REGION',
  'MEDIA_STORE_ACCESS_KEY_ID',
  'MEDIA_STORE_SECRET_ACCESS_KEY',
  'MEDIA_STORE_MESSAGE_FIELDS',
  'MEDIA_DELETE_AFTER_STORE',
  'RECORDINGS_FORMAT',
  'RECORDINGS_DELETE_AFTER_STORE',
  'RECORDINGS_LINK_SECONDS',
];

/** In `.env` for the local runtime, never uploaded: the service's own credentials reach deployed Functions. */
export const CREDENTIALS: readonly string[] = ['ACCOUNT_SID', 'AUTH_TOKEN'];

/**
 * The deploying credentials of a CI job, in the Twilio CLI's names (src/lib/settings.ts, credentialsFrom): read from
 * the deploying machine's environment, never uploaded to the Functions.
 */
export const DEPLOY_CREDENTIALS: readonly string[] = [
  'TWILIO_ACCOUNT_SID',
  'TWILIO_API_KEY',
  'TWILIO_API_SECRET',
  'TWILIO_AUTH_TOKEN',
];

/** Set by the runtime itself, locally and deployed; a value in `.env` would shadow it. */
const RUNTIME_PROVIDED: readonly string[] = ['DOMAIN_NAME', 'PATH', 'SERVICE_SID', 'ENVIRONMENT_SID'];

/** Settings of the local commands (`npm start`, `npm run recordings`): `.env.local` or the environment. */
export const LOCAL_SETTINGS: readonly string[] = [
  'PORT',
  'TWILIO_RUN_HOST',
  'RECORDINGS_ARCHIVE',
  'S3_ENDPOINT',
  'S3_FORCE_PATH_STYLE',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'TWILIO_API_BASE_URL',
  'TWILIO_STUDIO_BASE_URL',
  'TWILIO_SERVERLESS_BASE_URL',
];

/**
 * Room left in the 3 KB context for what the platform adds beside the variables (account SID and token, domain
 * name, path, service and environment SIDs, with their keys and quotes: about 300 bytes). An estimate, since
 * Twilio does not publish the exact layout.
 */
const CONTEXT_METADATA_BYTES = 512;

/**
 * Problems Twilio would answer with a refusal (82006) or that would put a local secret into every Function's
 * environment, for the variables a deploy is about to upload. Empty when the upload is fine.
 */
export function deployVariableProblems(upload: Record<string, string>, envFile: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(upload)) {
    if (DEPLOY_CREDENTIALS.includes(key)) {
      problems.push(
        `${envFile}: ${key} is a deploying credential, and a deploy would upload it to every Function's environment: set it in the CI job's environment (or .env.local), never in an uploaded env file`,
      );
    } else if (LOCAL_SETTINGS.includes(key)) {
      problems.push(
        `${envFile}: ${key} is a setting of the local commands, and a deploy would upload it to every Function's environment: move it to .env.local`,
      );
    } else if (RUNTIME_PROVIDED.includes(key)) {
      problems.push(`${envFile}: ${key} is set by Twilio's runtime; remove it`);
    } else if (!FUNCTION_VARIABLES.includes(key)) {
      problems.push(
        `${envFile}: ${key} is not a variable the Functions read (FUNCTION_VARIABLES in src/deploy/variables.ts): move it to .env.local, or list it there if a Function of yours reads it`,
      );
    }
    if (key.length > VARIABLE_LIMITS.keyChars) {
      problems.push(
        `${envFile}: the name ${key.slice(0, 40)}... is ${key.length} characters; Twilio refuses more than ${VARIABLE_LIMITS.keyChars}`,
      );
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > VARIABLE_LIMITS.valueBytes) {
      problems.push(
        `${envFile}: the value of ${key} is ${bytes} bytes; Twilio refuses more than ${VARIABLE_LIMITS.valueBytes} (error 82006)`,
      );
    }
  }
  const contextBytes = Buffer.byteLength(JSON.stringify(upload), 'utf8') + CONTEXT_METADATA_BYTES;
  if (contextBytes > VARIABLE_LIMITS.contextBytes) {
    problems.push(
      `${envFile}: the variables take about ${contextBytes} bytes of the Functions' context (with ${CONTEXT_METADATA_BYTES} for what Twilio adds); above ${VARIABLE_LIMITS.contextBytes} invocations fail with 82006`,
    );
  }
  return problems;
}

/**
 * The inbound media store a deploy would configure, checked as the deployed webhook will read it: a folder store
 * is refused (a Function's disk is temporary and not shared between its instances, so media kept there is lost),
 * and so is any setting the webhook would refuse. Empty when the upload is fine.
 */
export function mediaStoreProblems(upload: Record<string, string>, envFile: string): string[] {
  if (isFolderStoreUrl(upload.MEDIA_STORE_URL)) {
    return [
      `${envFile}: MEDIA_STORE_URL is a folder store ("${upload.MEDIA_STORE_URL.slice(0, 100)}"): a deployed Function's disk is temporary and not shared between its instances, so media kept there would be lost. Set MEDIA_STORE_URL to s3://BUCKET[/PREFIX] (with MEDIA_STORE_ENDPOINT for an S3-compatible store), or remove it to keep no media`,
    ];
  }
  try {
    // DOMAIN_NAME left out: read as deployed, where no folder default applies
    mediaStoreSettingsFrom({ ...upload, DOMAIN_NAME: undefined });
    return [];
  } catch (err) {
    return [`${envFile}: ${(err as Error).message}`];
  }
}

/** Every problem of the variables a deploy, promote or env import would upload from envFile; empty when fine. */
export function uploadProblems(upload: Record<string, string>, envFile: string): string[] {
  return [...deployVariableProblems(upload, envFile), ...mediaStoreProblems(upload, envFile)];
}
