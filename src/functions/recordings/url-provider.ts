import { flexCors } from '../../lib/flex/cors';
import { provideRecordingUrl } from '../../lib/recordings/playback';
import { baseUrlOf } from '../../runtime/context';
import { twilioFunction } from '../../runtime/function';

/** GET /recordings/url-provider?recording=RE...: Flex Insights' url_provider for a kept recording (docs/recordings.md). */
export const handler = twilioFunction<{ recording: unknown }>(
  'recordings/url-provider',
  ({ params, headers, context, log }) =>
    provideRecordingUrl(
      { env: context, params: { recording: params.recording }, headers, baseUrl: baseUrlOf(context) },
      { log },
    ),
  { errorHeaders: ({ context, headers }) => flexCors(context, headers) },
);
