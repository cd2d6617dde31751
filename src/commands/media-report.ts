// `npm run media:report -- [--threshold N] [--json | --csv] [FILE...]`: reads media_fetch log lines from the
// files (or stdin) and prints the per-day report with an escalation section for days over the threshold.
import * as fs from 'node:fs';
import { buildReport, formatCsv, formatMarkdown, parseLogLines } from '../lib/mms/report';
import { parseCommandArgs, UsageError } from './args';

const USAGE = 'usage: media:report [--threshold N] [--json | --csv] [FILE...]  (reads stdin without FILE)';

function parseReportArgs(argv: string[]): { threshold: number; format: 'markdown' | 'json' | 'csv'; files: string[] } {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    options: { threshold: { type: 'string' }, json: { type: 'boolean' }, csv: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (values.json && values.csv) throw new UsageError('--json and --csv exclude each other');
  const threshold = values.threshold ?? '24';
  if (!/^\d+$/.test(threshold) || Number(threshold) < 1) {
    throw new UsageError(`--threshold needs a whole number of at least 1, got "${threshold}"`);
  }
  return {
    threshold: Number(threshold),
    format: values.json ? 'json' : values.csv ? 'csv' : 'markdown',
    files: positionals,
  };
}

export async function main(argv: string[], stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  let args: ReturnType<typeof parseReportArgs>;
  try {
    args = parseReportArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`media:report: ${err.message}\n${USAGE}`);
    return 2;
  }
  const { threshold, format, files } = args;
  let text = '';
  if (files.length === 0) {
    for await (const chunk of stdin) text += chunk.toString();
  } else {
    for (const file of files) {
      try {
        text += fs.readFileSync(file, 'utf8') + '\n';
      } catch (err) {
        console.error(
          `media:report: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
        return 2;
      }
    }
  }
  const { records, skipped, recordingFetches } = parseLogLines(text.split(/\r?\n/));
  const report = buildReport(records, threshold, skipped, recordingFetches);
  if (format === 'json') process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else if (format === 'csv') process.stdout.write(formatCsv(report));
  else process.stdout.write(formatMarkdown(report));
  return 0;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
