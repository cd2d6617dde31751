import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseCommandArgs, parseDateFlag, UsageError } from '../../src/commands/args';

const options = { dir: { type: 'string' }, json: { type: 'boolean' } } as const;
const refusal = (args: string[], command?: string) => {
  try {
    parseCommandArgs({ args, options }, command);
  } catch (error) {
    return error;
  }
  throw new Error(`accepted ${JSON.stringify(args)}`);
};

describe('parseCommandArgs: node:util parseArgs, strict, with usage errors naming the flag', () => {
  it('returns typed values and positionals', () => {
    const parsed = parseCommandArgs({
      args: ['--dir', 'a', 'x.log', '--json', '--dir=b'],
      options,
      allowPositionals: true,
    });
    expect(parsed.values).toEqual({ dir: 'b', json: true });
    expect(parsed.positionals).toEqual(['x.log']);
  });

  it.each([
    [['--nope'], 'unknown option "--nope"', undefined],
    [['--yes'], 'unknown option "--yes" for archive', 'archive'],
    [['-x'], 'unknown option "-x"', undefined],
    [['--dir'], '--dir needs a value', undefined],
    [['--dir', '--json'], '--dir needs a value', undefined],
    [['--json=1'], '--json takes no value', undefined],
    [['stray'], 'unexpected argument "stray"', undefined],
  ])('%j refused: %s', (args, message, command) => {
    const error = refusal(args, command);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(message);
  });

  it('takes a value that starts with a dash when it is written inline', () => {
    expect(parseCommandArgs({ args: ['--dir=-odd'], options }).values.dir).toBe('-odd');
  });
});

/**
 * Runs the commands' own argument parsers in a child process with TZ set (Node reads TZ at start; jest's sandboxed
 * process.env does not reach it): each value's outcome as an ISO instant or the refusal's message.
 */
function parseInZone(tz: string, runs: [string, string[]][]): string[] {
  const script = `
    const parsers = {
      sync: (a) => require('./src/commands/media-sync').parseArgs(a).since,
      report: (a) => require('./src/commands/media-report').parseReportArgs(a).service.since,
      recordings: (a) => require('./src/commands/recordings').parseArgs(a).range.since,
      local: () => new Date(2026, 10, 1, 9),
    };
    const out = ${JSON.stringify(runs)}.map(([parser, argv]) => {
      try { return parsers[parser](argv).toISOString(); } catch (error) { return error.message; }
    });
    process.stdout.write(JSON.stringify(out));`;
  const child = spawnSync(path.join('node_modules', '.bin', 'tsx'), ['-e', script], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, TZ: tz },
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`tsx exited ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout) as string[];
}

describe('parseDateFlag: one date rule for --since/--until, whatever the machine time zone', () => {
  it('refuses a date-time without an offset in media:sync, media:report and recordings, in a non-UTC zone', () => {
    const since = '2026-11-01T09:00:00';
    const noOffset = `--since: "${since}" has no time zone offset: write ${since}Z for UTC, or the offset it means (e.g. ${since}+01:00)`;
    // Asia/Kolkata (+05:30): a date-time read as local time lands at 03:30Z
    expect(
      parseInZone('Asia/Kolkata', [
        ['local', []],
        ['sync', ['--since', since]],
        ['report', ['--service', '--since', since]],
        ['recordings', ['audit', '--since', since]],
        ['sync', ['--since', `${since}Z`, '--until', '2026-11-02']],
        ['report', ['--service', '--since', `${since}+01:00`]],
        ['recordings', ['audit', '--since', '2026-11-01']],
      ]),
    ).toEqual([
      '2026-11-01T03:30:00.000Z',
      noOffset,
      noOffset,
      noOffset,
      '2026-11-01T09:00:00.000Z',
      '2026-11-01T08:00:00.000Z',
      '2026-11-01T00:00:00.000Z',
    ]);
  });

  it('reads a bare day as a UTC day and a date-time by its own offset', () => {
    expect(parseDateFlag('--since', '2026-11-01', false).toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseDateFlag('--until', '2026-11-01', true).toISOString()).toBe('2026-11-01T23:59:59.999Z');
    expect(parseDateFlag('--since', '2026-11-01T09:00:00Z', false).toISOString()).toBe('2026-11-01T09:00:00.000Z');
    expect(parseDateFlag('--since', '2026-11-01T09:00+01:00', false).toISOString()).toBe('2026-11-01T08:00:00.000Z');
    expect(parseDateFlag('--until', '2026-11-01T09:00:00.250-05:00', true).toISOString()).toBe(
      '2026-11-01T14:00:00.250Z',
    );
  });

  it.each(['2026-11-01T09:00', '2026-11-01T09:00:00.5'])(
    'refuses the date-time %s, which has no offset, naming the flag and how to write it',
    (value) => {
      expect(() => parseDateFlag('--since', value, false)).toThrow(
        new UsageError(
          `--since: "${value}" has no time zone offset: write ${value}Z for UTC, or the offset it means (e.g. ${value}+01:00)`,
        ),
      );
    },
  );

  it.each(['2026-02-30', '2026-02-30T09:00:00Z', '2026-11-01T25:00:00Z', '2026-11-01 09:00:00Z', 'yesterday', ''])(
    'refuses %j as not a date',
    (value) => {
      expect(() => parseDateFlag('--until', value, true)).toThrow(
        /^--until: ".*" is not a date \(YYYY-MM-DD, a UTC day\)/,
      );
    },
  );
});
