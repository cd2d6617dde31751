/**
 * What to do with the answer of one attempt. Retry what is transient: a 404 on a fresh Twilio media URL (the
 * media is still propagating), 408, 425, 429, 5xx, network errors and timeouts. Never retry 401/403 (the
 * credentials will not get better) or any other 4xx.
 */
export type Verdict = 'done' | 'retry' | 'give-up';

const RETRY_STATUSES = new Set([404, 408, 425, 429]);

export function classifyStatus(status: number): Verdict {
  if (status >= 200 && status < 300) return 'done';
  if (RETRY_STATUSES.has(status) || (status >= 500 && status < 600)) return 'retry';
  return 'give-up';
}

/** Errors that end the fetch at once, whatever the schedule says. */
export class FatalFetchError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
