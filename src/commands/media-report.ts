// `npm run media:report -- [--threshold N] [--json | --csv] [FILE...]`: reads media_fetch log lines from the
// files (or stdin) and prints the per-day report with an escalation section for days over the threshold.
import * as fs from 'node:fs';
import { buildReport, formatCsv, formatMarkdown, parseLogLines } from '../lib/mms/report';

const USAGE = 'usage: media:report [--threshold N] [--json | --csv] [FILE...]  (reads stdin without FILE)';

export async function main(argv: string[], stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  let threshold = 24;
  let format: 'markdown' | 'json' | 'csv' = 'markdown';
  const files: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--json') format = 'json';
    else if (arg === '--csv') format = 'csv';
    else if (arg === '--threshold') {
      const value = argv[++i];
      if (!value || !/^\d+$/.test(value) || Number(value) < 1) {
        console.error(`media:report: --threshold needs a whole number of at least 1, got "${value ?? ''}"\n${USAGE}`);
        return 2;
      }
      threshold = Number(value);
    } else if (arg.startsWith('--')) {
      console.error(`media:report: unknown option "${arg}"\n${USAGE}`);
      return 2;
    } else files.push(arg);
  }
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
