import { requestArrival } from '../lib/http/arrival';
import type {
  Context,
  ServerlessEventObject,
  ServerlessFunctionSignature,
} from '@twilio-labs/serverless-runtime-types/types';
import { jsonLine, LogRecord } from '../lib/log';
import { applyResponse, errorResponse, PlainResponse } from '../lib/respond';
import type { ServiceEnv } from '../lib/settings';

/** Request headers as the runtime gives them: lower-case names. */
export type RequestHeaders = Record<string, string | string[] | undefined>;

/** The event of a Function of this project: its parameters plus the request the runtime describes. */
export type EventOf<Params> = ServerlessEventObject<Params, RequestHeaders, Record<string, string>>;

/** What a Function's handler gets from the edge. */
export interface FunctionRequest<Params, Env = ServiceEnv> {
  /** query and body parameters as the runtime merged them, without `request` */
  params: Partial<Params>;
  /** request headers; empty when @twilio/runtime-handler is not pinned (see docs/local-runtime.md) */
  headers: RequestHeaders;
  /** the Function's context: environment variables, getTwilioClient, DOMAIN_NAME */
  context: Context<ServiceEnv & Env>;
  /** epoch ms when the Function started */
  receivedAt: number;
  /** one JSON line, with its time and the Function's name */
  log: (record: LogRecord) => void;
}

export interface FunctionOptions<Params, Env = ServiceEnv> {
  /** headers an unexpected failure's 500 still carries (e.g. the CORS grant, so a browser can read why) */
  errorHeaders?: (request: FunctionRequest<Params, Env>) => Record<string, string>;
}

/** The one log line shape of every Function: jsonLine's time first, then the Function's name. */
function functionLogger(fn: string): (record: LogRecord) => void {
  return (record) => {
    const line = jsonLine({ fn, ...record });
    if (record.level === 'error') console.error(line);
    else if (record.level === 'warn') console.warn(line);
    else console.log(line);
  };
}

/**
 * The one edge of every Function (the idea of function-templates' functionValidator): reads the parameters
 * and headers, hands them to a handler that returns a plain response, and sends it. A handler that throws
 * gives a JSON 500 naming no internals: the message goes to the log only, never a stack trace to the caller.
 */
export function twilioFunction<Params = Record<string, unknown>, Env = ServiceEnv>(
  fn: string,
  handle: (request: FunctionRequest<Params, Env>) => PlainResponse | Promise<PlainResponse>,
  options: FunctionOptions<Params, Env> = {},
): ServerlessFunctionSignature<ServiceEnv & Env, EventOf<Partial<Params>>> {
  const log = functionLogger(fn);
  return async (context, event, callback) => {
    const { request, ...params } = event;
    // Without @twilio/runtime-handler pinned there is no event.request: treat as no headers.
    const headers = request?.headers ?? {};
    const functionRequest: FunctionRequest<Params, Env> = {
      params: params as Partial<Params>,
      headers,
      context,
      receivedAt: requestArrival(headers, Date.now()),
      log,
    };
    let response: PlainResponse;
    try {
      response = await handle(functionRequest);
    } catch (err) {
      log({ level: 'error', event: 'function_failed', problem: err instanceof Error ? err.message : String(err) });
      let headers: Record<string, string> = {};
      try {
        headers = options.errorHeaders?.(functionRequest) ?? {};
      } catch {
        // the failure is already logged; answer without the extra headers
      }
      response = errorResponse(500, `${fn} failed; see the service logs`, headers);
    }
    callback(null, applyResponse(new Twilio.Response(), response));
  };
}
