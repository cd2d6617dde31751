import { handleInboundMms, InboundEnv } from '../../lib/mms/inbound';
import { signedWebhook } from '../../runtime/signed-webhook';

/**
 * Inbound MMS webhook: signature checked, media fetched through transient 404s and kept in the media store
 * (MEDIA_STORE_URL), TwiML 200 in time.
 */
export const handler = signedWebhook<InboundEnv>('/mms/inbound', handleInboundMms);
