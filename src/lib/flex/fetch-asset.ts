import { createHash } from 'node:crypto';
// the webhooks module alone: the whole twilio library costs a cold start about 220 ms
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import type { ManifestEntry } from '../manifest';

/**
 * Fetches a public or protected asset from the service's own domain. Protected assets answer only requests
 * carrying a valid X-Twilio-Signature, which is HMAC-SHA1 of the full URL (no POST parameters for a GET)
 * keyed with the Auth Token: the same signature Twilio puts on its own webhook requests, computed with the
 * twilio library. The asset never becomes public; the signature is valid for this one URL only.
 *
 * Why not read the file instead: the runtime's asset map (Runtime.getAssets) holds private assets only, so a
 * protected asset exists for a Function only at its URL.
 */
export type FetchOutcome =
  { ok: true; body: Buffer; ms: number } | { ok: false; status: 500 | 502 | 504; message: string; ms: number };

export interface FetchAssetOptions {
  baseUrl: string;
  authToken?: string;
  timeoutMs: number;
  fetchImpl?: typeof fetch;
  now?: () => number;
  /** bytes start..end (inclusive) only; the whole asset when absent */
  range?: { start: number; end: number };
}

export function signedAssetRequest(
  entry: ManifestEntry,
  baseUrl: string,
  authToken: string | undefined,
): { url: string; headers: Record<string, string> } {
  const url = `${baseUrl}${entry.path}`;
  const headers: Record<string, string> = {};
  if (authToken) headers['X-Twilio-Signature'] = getExpectedTwilioSignature(authToken, url, {});
  return { url, headers };
}

export async function fetchServiceAsset(entry: ManifestEntry, options: FetchAssetOptions): Promise<FetchOutcome> {
  const now = options.now ?? Date.now;
  const started = now();
  const ms = () => now() - started;
  if (entry.visibility === 'protected' && !options.authToken) {
    return {
      ok: false,
      status: 500,
      message: 'AUTH_TOKEN is not set: protected assets can only be fetched with a request signed by it',
      ms: 0,
    };
  }
  const { url, headers } = signedAssetRequest(entry, options.baseUrl, options.authToken);
  const doFetch = options.fetchImpl ?? fetch;
  const range = options.range;
  const whole = !range || (range.start === 0 && range.end === entry.bytes - 1);
  if (!whole) headers['Range'] = `bytes=${range.start}-${range.end}`;
  try {
    // One signal bounds connect, headers and body alike. Redirects are refused: the asset lives at this URL.
    const res = await doFetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
    if (res.status === 206 && !whole) {
      // The versioned path holds one version only, so a part of it cannot splice two; the whole is checked
      // against the manifest's sha256 by the client that assembles the parts (Repr-Digest).
      const expected = `bytes ${range.start}-${range.end}/${entry.bytes}`;
      const got = res.headers.get('content-range');
      const body = Buffer.from(await res.arrayBuffer());
      if (got !== expected || body.length !== range.end - range.start + 1) {
        return {
          ok: false,
          status: 502,
          message: `the asset host answered ${got ?? 'no Content-Range'} for ${entry.name}, not ${expected}`,
          ms: ms(),
        };
      }
      return { ok: true, body, ms: ms() };
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      return { ok: false, status: 502, message: `the asset host answered ${res.status} for ${entry.name}`, ms: ms() };
    }
    const body = Buffer.from(await res.arrayBuffer());
    // The ETag we send is the build's content hash: bytes that do not match it (a deploy older or newer than
    // this Function's manifest) must not go out under it. A host that ignored the Range sent the whole: the
    // same check, then the part asked for.
    const sha256 = createHash('sha256').update(body).digest('hex');
    if (sha256 !== entry.sha256) {
      return {
        ok: false,
        status: 502,
        message: `the deployed bytes of ${entry.name} do not match this build's manifest; redeploy`,
        ms: ms(),
      };
    }
    return { ok: true, body: whole ? body : body.subarray(range.start, range.end + 1), ms: ms() };
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return {
        ok: false,
        status: 504,
        message: `the asset host did not deliver ${entry.name} within ${options.timeoutMs} ms`,
        ms: ms(),
      };
    }
    return { ok: false, status: 502, message: `the asset host could not be reached for ${entry.name}`, ms: ms() };
  }
}
