// Quick mode of every benchmark (`npm run bench -- --quick`, or BENCH_QUICK=1): small sizes so that CI can run
// every benchmark once and fail when one breaks. Figures are still printed, but are not comparable with a full
// run; no benchmark asserts a timing in either mode, only that its work succeeded.
export const QUICK = process.env.BENCH_QUICK === '1';

/** `full` in a real run, `quick` in quick mode. */
export function sized<T>(full: T, quick: T): T {
  return QUICK ? quick : full;
}

/** The header line a benchmark prints before its figures in quick mode, so nobody quotes them. */
export function quickNote(): void {
  if (QUICK) console.log('(quick mode: small sizes, figures only show the benchmark runs)');
}
