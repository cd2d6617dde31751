import { serveKeptAudio } from '../../lib/recordings/playback';
import { twilioFunction } from '../../runtime/function';

/** GET /recordings/audio?recording=&expires=&signature=: a kept recording from the local folder store, by signed link. */
export const handler = twilioFunction<{ recording: unknown; expires: unknown; signature: unknown }>(
  'recordings/audio',
  ({ params, headers, context, log }) =>
    serveKeptAudio(
      {
        env: context,
        params: { recording: params.recording, expires: params.expires, signature: params.signature },
        headers,
      },
      { log },
    ),
);
