import { parseCommandArgs, UsageError } from '../../src/commands/args';

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
