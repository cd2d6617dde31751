/**
 * The largest answer a Function may give. Twilio's "Function Request Flow" page: a response is at most 4 MB.
 * We read "4 MB" as 4,000,000 bytes, the smaller reading, and keep a margin for the status line and headers
 * (Twilio's headers page caps request and response headers at 15 kB; the rest of the margin is room for the
 * platform's own framing), so a body of at most MAX_RESPONSE_BODY_BYTES always fits.
 */
export const FUNCTION_RESPONSE_LIMIT_BYTES = 4_000_000;
/** A request, headers and cookies included, is at most 1 MB (same page), read the same way: 1,000,000 bytes. */
export const FUNCTION_REQUEST_LIMIT_BYTES = 1_000_000;
export const RESPONSE_HEADER_MARGIN_BYTES = 100_000;
export const MAX_RESPONSE_BODY_BYTES = FUNCTION_RESPONSE_LIMIT_BYTES - RESPONSE_HEADER_MARGIN_BYTES;
