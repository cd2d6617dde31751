/**
 * When a request arrived, as the local runtime's gateway stamps it (src/local-runtime/platform-gateway.ts), so a
 * Function's deadline counts from the arrival, as the platform's 10 s do, and not from when the Function got the
 * event: under load, body parsing and queueing come first. The deployed platform sends no such header; there the
 * Function's own start is the best estimate. A value from anywhere else is clamped to the last 10 s, so a forged
 * header can neither extend a deadline past the platform's limit nor put it in the future.
 */
export const ARRIVAL_HEADER = 'x-local-runtime-received-at';

/** The platform stops a Function this long after the request arrived. */
export const PLATFORM_RUN_LIMIT_MS = 10_000;

export function requestArrival(headers: Record<string, string | string[] | undefined>, now: number): number {
  const raw = headers[ARRIVAL_HEADER];
  const value = Number(Array.isArray(raw) ? raw[0] : raw);
  if (!Number.isFinite(value)) return now;
  return Math.min(now, Math.max(now - PLATFORM_RUN_LIMIT_MS, value));
}
