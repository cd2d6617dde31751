/**
 * A response as plain data, so src/lib can decide status, headers and body without Twilio globals;
 * a Function copies it onto a Twilio.Response with applyResponse.
 */
export interface PlainResponse {
  status: number;
  headers: Record<string, string>;
  body?: string | Buffer | object;
}

/** The subset of Twilio.Response that applyResponse needs (keeps src/lib free of the global). */
export interface ResponseLike {
  setStatusCode(code: number): unknown;
  setBody(body: string | object): unknown;
  appendHeader(key: string, value: string): unknown;
}

export function applyResponse<T extends ResponseLike>(target: T, plain: PlainResponse): T {
  target.setStatusCode(plain.status);
  for (const [name, value] of Object.entries(plain.headers)) target.appendHeader(name, value);
  if (plain.body !== undefined) target.setBody(plain.body);
  return target;
}

export function jsonResponse(status: number, body: object, headers: Record<string, string> = {}): PlainResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
    body,
  };
}

/** Error bodies name the parameter or header at fault; never a stack trace. */
export function errorResponse(status: number, message: string, headers: Record<string, string> = {}): PlainResponse {
  return jsonResponse(status, { error: message, status }, headers);
}
