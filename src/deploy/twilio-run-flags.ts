// twilio-run's commands read their flags with yargs and their own options (each command's cliInfo); reading them
// with the same parser and the same options gives the project's checks twilio-run's own values for every spelling
// yargs accepts (`--loadSystemEnv`, `--load-system-env=true`, `--no-load-system-env`, `--env=FILE`, `--to prod`).
// The Twilio CLI's plugin builds its flags from the same cliInfo, so its arguments read the same way.
interface YargsParser {
  options(options: object): YargsParser;
  help(enable: boolean): YargsParser;
  version(enable: boolean): YargsParser;
  parseSync(): Record<string, unknown>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const twilioRunYargs = require(require.resolve('yargs', { paths: [require.resolve('twilio-run')] })) as (
  args: string[],
) => YargsParser;

const CLI_INFO = {
  deploy: 'twilio-run/dist/commands/deploy',
  promote: 'twilio-run/dist/commands/promote',
  'env import': 'twilio-run/dist/commands/env/env-import',
  'env set': 'twilio-run/dist/commands/env/env-set',
} as const;
export type TwilioRunCommand = keyof typeof CLI_INFO;

/** A command's arguments as twilio-run's yargs reads them (camelCase and dashed keys both present). */
export function readTwilioRunFlags(argv: readonly string[], command: TwilioRunCommand): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { cliInfo } = require(CLI_INFO[command]) as { cliInfo: { options: Record<string, object> } };
  return twilioRunYargs([...argv])
    .options(cliInfo.options)
    .help(false)
    .version(false)
    .parseSync();
}

/** A text flag, refused by name when given twice (yargs makes a list) or without a value. */
export function textFlag(flags: Record<string, unknown>, name: string): string | undefined {
  const value = flags[name];
  if (value === undefined || typeof value === 'string') return value;
  throw new Error(`--${name} is given ${Array.isArray(value) ? 'more than once' : 'without a value'}: give it once`);
}

/** The target environment's domain suffix as twilio-run computes it: --production is the blank one. */
export function targetEnvironment(flags: Record<string, unknown>): string {
  if (flags.production === true) return '';
  return textFlag(flags, 'environment') ?? 'dev';
}
