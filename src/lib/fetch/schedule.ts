/**
 * The delay before retry number `retry` (0 for the first retry): exponential growth from `baseMs` by `factor`,
 * capped at `capMs`, then jittered. `jitter` is the fraction of the delay that is randomised: 1 is "full jitter"
 * (anywhere in [0, delay]), 0 is none. Our default (0.2: anywhere in [0.8, 1] x delay) still spreads many
 * Functions apart but keeps the gaps between polls even; the bench (npm run bench -- retry) shows that full
 * jitter with a cap small enough for a short lag costs about one more request per media.
 */
export interface RetrySchedule {
  baseMs: number;
  factor: number;
  capMs: number;
  jitter: number;
}

/**
 * Tuned with `npm run bench -- retry` (media available 0-7 s after the webhook): a cap near one second bounds
 * the lag between availability and success; a gentle factor keeps early polls from piling up.
 */
export const DEFAULT_SCHEDULE: RetrySchedule = { baseMs: 800, factor: 1.5, capMs: 1100, jitter: 0.2 };

export function validateSchedule(schedule: RetrySchedule): RetrySchedule {
  const positive = (name: keyof RetrySchedule) => {
    if (!Number.isFinite(schedule[name]) || schedule[name] <= 0)
      throw new TypeError(`retry schedule: "${name}" must be a positive number, got ${schedule[name]}`);
  };
  positive('baseMs');
  positive('capMs');
  if (!Number.isFinite(schedule.factor) || schedule.factor < 1)
    throw new TypeError(`retry schedule: "factor" must be at least 1, got ${schedule.factor}`);
  if (!(schedule.jitter >= 0 && schedule.jitter <= 1))
    throw new TypeError(`retry schedule: "jitter" must be between 0 and 1, got ${schedule.jitter}`);
  if (schedule.baseMs > schedule.capMs)
    throw new TypeError(`retry schedule: "baseMs" (${schedule.baseMs}) is above "capMs" (${schedule.capMs})`);
  return schedule;
}

export function retryDelay(retry: number, schedule: RetrySchedule, random: () => number = Math.random): number {
  const ceiling = Math.min(schedule.capMs, schedule.baseMs * schedule.factor ** retry);
  return ceiling * (1 - schedule.jitter * random());
}

/** Retry-After as milliseconds (delta-seconds or an HTTP-date), or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
