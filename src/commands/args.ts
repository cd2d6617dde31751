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

/**
 * A date flag: `YYYY-MM-DD` (a UTC day: its start, or with `endOfDay` its last millisecond) or an ISO 8601
 * date-time (`2026-11-24T18:00:00+01:00`). Anything else, or a day that does not exist, names the flag.
 */
export function parseDateFlag(flag: string, value: string, endOfDay: boolean): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const date = new Date(dateOnly ? `${value}T${endOfDay ? '23:59:59.999' : '00:00:00.000'}Z` : value);
  if (
    !(dateOnly || /^\d{4}-\d{2}-\d{2}T/.test(value)) ||
    Number.isNaN(date.getTime()) ||
    (dateOnly && date.toISOString().slice(0, 10) !== value)
  ) {
    throw new UsageError(`${flag}: "${value}" is not a date (YYYY-MM-DD) or an ISO 8601 date-time`);
  }
  return date;
}
