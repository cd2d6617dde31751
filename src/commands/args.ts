import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad arguments or configuration given to a command: the command prints it (with its usage) and exits 2. */
export class UsageError extends Error {}

/** A parseArgs configuration that stays strict: unknown flags and missing values are errors. */
export type CommandArgsConfig = Omit<ParseArgsConfig, 'strict' | 'tokens'> & { args: readonly string[] };

/**
 * `node:util` parseArgs in strict mode, its TypeError turned into a UsageError naming the flag in our words
 * (`--until needs a value`, `unknown option "--yes" for archive`). `command`, when given, ends the message
 * of an unknown option, for commands whose options differ by subcommand.
 */
export function parseCommandArgs<const T extends CommandArgsConfig>(
  config: T,
  command?: string,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    // by its code, not `instanceof TypeError`: under jest the error comes from another realm's TypeError
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) throw error;
    throw new UsageError(describe(config, command) ?? (error as Error).message);
  }
}

/**
 * Finds the argument the strict parse refused by parsing again without strictness and reading the tokens:
 * Node's own messages differ between versions and do not say which rule was broken in a form worth showing.
 */
function describe(config: CommandArgsConfig, command: string | undefined): string | undefined {
  const { tokens } = parseArgs({ ...config, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional' && !config.allowPositionals) return `unexpected argument "${token.value}"`;
    if (token.kind !== 'option') continue;
    const type = config.options?.[token.name]?.type;
    if (!type) return `unknown option "${token.rawName}"${command ? ` for ${command}` : ''}`;
    if (type === 'boolean' && token.value !== undefined) return `${token.rawName} takes no value`;
    // strict mode takes `--until --json` as a missing value, not as the value "--json"
    const optionLike = !token.inlineValue && token.value !== undefined && /^-./.test(token.value);
    if (type === 'string' && (token.value === undefined || optionLike)) return `${token.rawName} needs a value`;
  }
  return undefined;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** a date-time with seconds and fractions optional, and an offset required (Z or ±HH:MM) */
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
const DATE_TIME_WITHOUT_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/;

/** whether YYYY-MM-DD names a day of the calendar (Date would roll 2026-02-30 over to March 2) */
const isCalendarDay = (day: string) => {
  const at = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(at.getTime()) && at.toISOString().slice(0, 10) === day;
};

/**
 * The one date rule of the commands' --since/--until: YYYY-MM-DD (a UTC day: its first millisecond, or its last
 * with `endOfDay`) or an ISO 8601 date-time with its offset (`Z` or `+01:00`). A date-time without one is refused:
 * JavaScript reads it in the machine's time zone, so the same command would mean another instant on a laptop in
 * Paris than in a CI runner in UTC, while a bare day is UTC; the refusal says how to write it.
 */
export function parseDateFlag(flag: string, value: string, endOfDay: boolean): Date {
  if (DATE_TIME_WITHOUT_OFFSET.test(value)) {
    throw new UsageError(
      `${flag}: "${value}" has no time zone offset: write ${value}Z for UTC, or the offset it means (e.g. ${value}+01:00)`,
    );
  }
  const calendarDay = DAY.test(value) ? value : DATE_TIME.exec(value)?.[1];
  const date =
    calendarDay === value ? new Date(`${value}T${endOfDay ? '23:59:59.999' : '00:00:00.000'}Z`) : new Date(value);
  if (calendarDay === undefined || Number.isNaN(date.getTime()) || !isCalendarDay(calendarDay)) {
    throw new UsageError(
      `${flag}: "${value}" is not a date (YYYY-MM-DD, a UTC day) or an ISO 8601 date-time with its offset (2026-11-01T09:00:00Z, 2026-11-01T09:00:00+01:00)`,
    );
  }
  return date;
}
