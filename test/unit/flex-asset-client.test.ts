import { createHash } from 'node:crypto';
import {
  DEFAULT_PART_BYTES,
  FlexAssetChangedError,
  FlexAssetClient,
  FlexAssetHttpError,
  FlexAssetIntegrityError,
  FlexAssetNetworkError,
  sha256FromReprDigest,
} from '../../src/client/flex-asset-client';
import { MAX_RESPONSE_BODY_BYTES } from '../../src/lib/response-limit';
import { patternBytes } from '../support/large-build';

const digestOf = (bytes: Buffer) => `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`;

interface Version {
  bytes: Buffer;
  etag: string;
}

/**
 * A scripted /flex/asset in process: answers the client's form posts with 200/206/304/412 as the service does,
 * with knobs for what a real network does to a client (short parts, a redeploy mid-download, wrong bytes).
 */
function fakeService(
  versions: Version[],
  knobs: { shortBy?: number; changeAfter?: number; corrupt?: boolean; maxBody?: number } = {},
) {
  let current = 0;
  let served = 0;
  let inFlight = 0;
  const seen = { maxInFlight: 0, requests: 0, bodies: [] as URLSearchParams[] };
  const impl = (async (_url: string, init: RequestInit) => {
    seen.requests += 1;
    inFlight += 1;
    seen.maxInFlight = Math.max(seen.maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 2));
    try {
      const params = new URLSearchParams(init.body as string);
      seen.bodies.push(params);
      const { bytes, etag } = versions[current];
      if (knobs.changeAfter !== undefined && ++served === knobs.changeAfter && current < versions.length - 1)
        current += 1;
      const headers = new Headers({
        ETag: etag,
        'Repr-Digest': digestOf(knobs.corrupt ? Buffer.from('other') : bytes),
        'Content-Type': 'application/pdf',
      });
      if (params.get('Token') !== 'tok')
        return new Response(JSON.stringify({ error: 'the Flex token was refused: Invalid token', status: 403 }), {
          status: 403,
        });
      const inm = (init.headers as Record<string, string>)['If-None-Match'];
      if (inm === etag) return new Response(null, { status: 304, headers });
      const ifRange = params.get('If-Range');
      const range = /^bytes=(\d+)-(\d*)$/.exec(params.get('Range') ?? '');
      if (ifRange && ifRange !== etag)
        return new Response(JSON.stringify({ error: 'precondition in header "If-Range" ...', status: 412 }), {
          status: 412,
        });
      if (!range) return new Response(new Uint8Array(bytes), { status: 200, headers });
      const start = Number(range[1]);
      let end = Math.min(
        range[2] ? Number(range[2]) : bytes.length - 1,
        bytes.length - 1,
        start + (knobs.maxBody ?? MAX_RESPONSE_BODY_BYTES) - 1,
      );
      if (knobs.shortBy && end - start + 1 > knobs.shortBy) end -= knobs.shortBy;
      headers.set('Content-Range', `bytes ${start}-${end}/${bytes.length}`);
      return new Response(new Uint8Array(bytes.subarray(start, end + 1)), { status: 206, headers });
    } finally {
      inFlight -= 1;
    }
  }) as unknown as typeof fetch;
  return { impl, seen };
}

const v1: Version = { bytes: patternBytes(1_000_000, 1), etag: '"sha256-v1"' };
const v2: Version = { bytes: patternBytes(1_000_000, 2), etag: '"sha256-v2"' };
const client = (impl: typeof fetch, extra: Partial<ConstructorParameters<typeof FlexAssetClient>[0]> = {}) =>
  new FlexAssetClient({
    serviceUrl: 'https://svc.example/',
    token: () => 'tok',
    fetch: impl,
    partBytes: 100_000,
    ...extra,
  });

describe('plugin client (src/client/flex-asset-client.ts) against a scripted service', () => {
  it("asks for parts of the service's limit by default", () => {
    expect(DEFAULT_PART_BYTES).toBe(MAX_RESPONSE_BODY_BYTES);
  });

  it('a large asset in parallel parts, never more in flight than asked, checked against Repr-Digest', async () => {
    const service = fakeService([v1]);
    const asset = await client(service.impl, { parallel: 3 }).fetchAsset('docs/manual.pdf');
    expect(Buffer.from(await asset.blob.arrayBuffer()).equals(v1.bytes)).toBe(true);
    expect(asset.sha256).toBe(createHash('sha256').update(v1.bytes).digest('hex'));
    expect(asset.requests).toBe(10);
    expect(service.seen.maxInFlight).toBe(3);
    // every part after the first names the version it continues (If-Range), in the body
    expect(service.seen.bodies.slice(1).every((b) => b.get('If-Range') === v1.etag && b.get('Token') === 'tok')).toBe(
      true,
    );
  });

  it('a service sending less than asked (RFC 9110 15.3.7) gets asked for the rest', async () => {
    const service = fakeService([v1], { shortBy: 30_000 });
    const asset = await client(service.impl).fetchAsset('docs/manual.pdf');
    expect(Buffer.from(await asset.blob.arrayBuffer()).equals(v1.bytes)).toBe(true);
    expect(asset.requests).toBeGreaterThan(10);
  });

  it('a redeploy mid-download restarts once on the new version; never a splice', async () => {
    const service = fakeService([v1, v2], { changeAfter: 3 });
    const asset = await client(service.impl, { parallel: 1 }).fetchAsset('docs/manual.pdf');
    expect(Buffer.from(await asset.blob.arrayBuffer()).equals(v2.bytes)).toBe(true);
    expect(asset.etag).toBe(v2.etag);
  });

  it('a second change during the restart is a FlexAssetChangedError', async () => {
    const v3: Version = { bytes: patternBytes(1_000_000, 3), etag: '"sha256-v3"' };
    let calls = 0;
    const base = fakeService([v1, v2, v3], { changeAfter: 3 });
    const again = fakeService([v2, v3], { changeAfter: 3 });
    const impl = ((url: string, init: RequestInit) =>
      ++calls <= 3 ? base.impl(url, init) : again.impl(url, init)) as unknown as typeof fetch;
    await expect(client(impl, { parallel: 1 }).fetchAsset('docs/manual.pdf')).rejects.toBeInstanceOf(
      FlexAssetChangedError,
    );
  });

  it('bytes that do not hash to Repr-Digest are a FlexAssetIntegrityError', async () => {
    const err = await client(fakeService([v1], { corrupt: true }).impl)
      .fetchAsset('docs/manual.pdf')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlexAssetIntegrityError);
    expect((err as Error).message).toMatch(/is not the asset's/);
  });

  it("an error answer is a FlexAssetHttpError carrying the service's message and status", async () => {
    const err = await client(fakeService([v1]).impl, { token: () => 'bad' })
      .fetchAsset('docs/manual.pdf')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlexAssetHttpError);
    expect(err).toMatchObject({
      status: 403,
      serverMessage: 'the Flex token was refused: Invalid token',
      asset: 'docs/manual.pdf',
    });
  });

  it('a fetch that throws (offline, CORS refusal) is a FlexAssetNetworkError', async () => {
    const impl = (async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    await expect(client(impl).fetchAsset('x.pdf')).rejects.toBeInstanceOf(FlexAssetNetworkError);
  });

  it('the kept copy is revalidated with If-None-Match: 304, one request, same blob', async () => {
    const service = fakeService([v1]);
    const c = client(service.impl);
    const first = await c.fetchAsset('docs/manual.pdf');
    const second = await c.fetchAsset('docs/manual.pdf');
    expect(second).toMatchObject({ revalidated: true, requests: 1, etag: v1.etag });
    expect(second.blob).toBe(first.blob);
  });

  it('options are checked up front, naming the option', () => {
    const impl = fakeService([v1]).impl;
    expect(() => client(impl, { parallel: 0 })).toThrow(/parallel must be a whole number from 1 to 6/);
    expect(() => client(impl, { partBytes: DEFAULT_PART_BYTES + 1 })).toThrow(/partBytes must be/);
    expect(() => client(impl, { serviceUrl: 'not a url' })).toThrow(/serviceUrl "not a url"/);
  });

  it('reads the sha-256 of a Repr-Digest among other algorithms', () => {
    const hex = createHash('sha256').update('x').digest('hex');
    expect(sha256FromReprDigest(`sha-512=:AAAA:, sha-256=:${Buffer.from(hex, 'hex').toString('base64')}:`)).toBe(hex);
    expect(sha256FromReprDigest(null)).toBeUndefined();
  });
});
