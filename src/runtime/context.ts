import { serviceBaseUrl } from '../lib/media/urls';

/** Environment a Function of this project may read; all optional, documented in the README. */
export interface ServiceEnv {
  DOMAIN_NAME?: string;
  ACCOUNT_SID?: string;
  AUTH_TOKEN?: string;
  /** public base URL of the service when Twilio reaches it through a tunnel, e.g. https://abc.ngrok.app */
  WEBHOOK_BASE_URL?: string;
  [key: string]: string | undefined;
}

export function baseUrlOf(context: ServiceEnv): string {
  return serviceBaseUrl(context.DOMAIN_NAME, context.WEBHOOK_BASE_URL);
}

/** Request headers as twilio-run and the deployed runtime give them (lower-case names), or none. */
export function requestHeadersOf(event: unknown): Record<string, string | string[] | undefined> {
  const request = (event as { request?: { headers?: Record<string, string | string[] | undefined> } }).request;
  return request?.headers ?? {};
}

/** Event of a Function: its parameters plus the request the runtime describes. */
export type EventOf<T> = T & { request: { cookies: Record<string, string>; headers: Record<string, string | string[] | undefined> } };
