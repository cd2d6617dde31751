import { baseUrlFrom, ServiceEnv } from '../lib/settings';

/** Base URL of the service as Twilio and browsers reach it (WEBHOOK_BASE_URL behind a tunnel). */
export function baseUrlOf(context: ServiceEnv): string {
  return baseUrlFrom(context, 'WEBHOOK_BASE_URL');
}
