import twilio from 'twilio';

/** What Twilio.Response records, as the runtime would send it. */
export class RecordingResponse {
  status = 200;
  headers: Record<string, string> = {};
  body: unknown;
  setStatusCode(code: number) {
    this.status = code;
  }
  setBody(body: unknown) {
    this.body = body;
  }
  appendHeader(name: string, value: string) {
    this.headers[name] = value;
  }
}

/**
 * The `Twilio` global a Function sees in the runtime, for a unit test: Response records what is sent, twiml is
 * the twilio package's own builders (as the runtime's). Call in beforeAll; the returned function removes it.
 */
export function installTwilioGlobal(): () => void {
  (globalThis as Record<string, unknown>).Twilio = { Response: RecordingResponse, twiml: twilio.twiml };
  return () => delete (globalThis as Record<string, unknown>).Twilio;
}

/** Calls a Function's handler as the runtime does and resolves with what it passed to the callback. */
export function callFunction(
  fn: (context: never, event: never, callback: never) => unknown,
  event: Record<string, unknown>,
  context: object,
) {
  return new Promise<RecordingResponse>((resolve, reject) => {
    const callback = (error: Error | null, response: RecordingResponse) => (error ? reject(error) : resolve(response));
    void fn({ ...context, getTwilioClient: () => undefined } as never, event as never, callback as never);
  });
}
