import { playTwiml } from '../../lib/media/twiml';
import { loadManifest } from '../../runtime/assets';
import { baseUrlOf } from '../../runtime/context';
import { twilioFunction } from '../../runtime/function';

/** Voice webhook example: <Play> of audio/greeting.wav from its content-addressed, immutable URL. */
export const handler = twilioFunction('voice/greeting', ({ context }) => ({
  status: 200,
  headers: { 'Content-Type': 'text/xml; charset=utf-8', 'Cache-Control': 'no-store' },
  body: playTwiml(loadManifest(), 'audio/greeting.wav', baseUrlOf(context)),
}));
