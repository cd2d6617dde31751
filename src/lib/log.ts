/**
 * One JSON object per line: what `twilio serverless:logs` and the local runtime print, and what
 * `npm run media:report` reads back. Never put a credential in a record: URLs go through redactUrl.
 */
export type LogRecord = Record<string, unknown>;

export function jsonLine(record: LogRecord): string {
  return JSON.stringify({ at: isoWithOffset(Date.now()), ...record });
}

/** ISO 8601 with an explicit numeric offset (e.g. 2026-11-24T23:10:00.123+00:00), in the process's time zone. */
export function isoWithOffset(epochMs: number): string {
  const date = new Date(epochMs);
  const offsetMinutes = -date.getTimezoneOffset();
  const local = new Date(epochMs + offsetMinutes * 60000).toISOString().slice(0, -1);
  const sign = offsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/**
 * An untrusted value fit to echo in a log line or an answer: at most `max` characters, and when cut, how long
 * it really was, so a caller cannot make a record or a response as large as its request.
 */
export function clip(value: string, max = 64): string {
  return value.length <= max ? value : `${value.slice(0, max)}... (${value.length} characters)`;
}

/** A URL safe to log: no userinfo, and no query string (signed redirect URLs carry signatures there). */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString();
  } catch {
    return '(invalid URL)';
  }
}
