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

/** What a response said about its body's length, and what arrived: plain data, so any reader can ask. */
export interface BodyReceipt {
  /** the Content-Length header, if any */
  contentLength?: string | null;
  /** the body came in chunked transfer encoding, which marks its own end */
  chunked: boolean;
  /** bytes that arrived */
  receivedBytes: number;
  /** the parser saw the body's end as framed (node:http's `res.complete`), not a connection cut */
  complete: boolean;
}

/**
 * Is this a whole body? undefined when it is, else why not: a failed attempt to retry like a 404, never a body to
 * keep (an empty or cut body stored as "verified" would let Twilio's copy be deleted). Whole means: the parser saw
 * the framed end, the length was framed at all (a body without Content-Length that is not chunked ends when the
 * connection closes, so a cut cannot be told from its end: node:http and undici both report it complete), at
 * least one byte came, and exactly as many bytes as Content-Length said. A cut chunked or Content-Length body is
 * an error in node:http ('aborted', ECONNRESET) and undici (UND_ERR_SOCKET) before this is ever asked.
 */
export function bodyProblem(receipt: BodyReceipt): string | undefined {
  const declared =
    receipt.contentLength == null || receipt.contentLength === '' ? undefined : Number(receipt.contentLength);
  if (!receipt.complete) return `the connection closed after ${receipt.receivedBytes} bytes, before the body's end`;
  if (declared === undefined && !receipt.chunked)
    return 'the response has no Content-Length and is not chunked: a connection closed early cannot be told from the end of the body';
  if (declared !== undefined && !(Number.isSafeInteger(declared) && declared >= 0))
    return `the Content-Length "${String(receipt.contentLength).slice(0, 40)}" is not a byte count`;
  if (declared !== undefined && receipt.receivedBytes !== declared)
    return `the body ended after ${receipt.receivedBytes} of ${declared} bytes`;
  if (receipt.receivedBytes === 0) return 'the body is empty (0 bytes)';
  return undefined;
}
