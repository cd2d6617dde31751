import { handleRecordingStatus, RecordingStatusEnv } from '../../lib/recordings/status-callback';
import { signedWebhook } from '../../runtime/signed-webhook';

/** Recording status callback: signature checked, a completed recording kept in the media store, every outcome logged. */
export const handler = signedWebhook<RecordingStatusEnv>('/recordings/status', handleRecordingStatus);
