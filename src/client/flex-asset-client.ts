/**
 * Flex plugin side of POST /flex/asset: fetch an asset of this service by logical name with the agent's Flex
 * token, in one request when it fits one Function answer and in parallel byte ranges (a bounded number at a
 * time) when it does not; check the assembled bytes against the asset's sha256 (Repr-Digest); keep the last
 * copy and revalidate it with If-None-Match. A typed ES module with no Node APIs and no dependencies: import it
 * into a plugin, or copy the file. See docs/flex.md "Plugin client".
 *
 * Range and If-Range travel as body parameters of the same syntax: the preflight answer of twilio-run (what a
 * plugin under development talks to) does not allow those request headers, and the service honours both forms.
 */

/** The service's largest answer body (src/lib/response-limit.ts: 4,000,000 bytes less a 100,000-byte header margin). */
export const DEFAULT_PART_BYTES = 3_900_000;
export const DEFAULT_PARALLEL = 4;
/** More parallel requests than this only queue in the browser (six connections per host over HTTP/1.1). */
export const MAX_PARALLEL = 6;

export interface FlexAssetClientOptions {
  /** base URL of the service, e.g. https://my-media-1234-dev.twil.io */
  serviceUrl: string;
  /** the agent's current Flex token, e.g. () => manager.user.token */
  token: () => string | Promise<string>;
  /** bytes asked per request; at most the service's limit (the service cuts longer ranges anyway) */
  partBytes?: number;
  /** requests in flight at once for a large asset, 1..MAX_PARALLEL */
  parallel?: number;
  /** fetch to use; default the global one */
  fetch?: typeof fetch;
}

export interface FlexAsset {
  name: string;
  blob: Blob;
  etag: string;
  /** hex sha256 of the bytes, checked */
  sha256: string;
  contentType: string;
  bytes: number;
  /** true when the kept copy was confirmed current (304) instead of downloaded */
  revalidated: boolean;
  /** HTTP requests this call made */
  requests: number;
}

/** Base of every error this module throws: `asset` names the asset, `status` the HTTP status when there was one. */
export class FlexAssetError extends Error {
  constructor(
    message: string,
    readonly asset: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FlexAssetError';
  }
}

/** The service answered an error; `serverMessage` is its JSON `error`, which names the parameter or setting at fault. */
export class FlexAssetHttpError extends FlexAssetError {
  constructor(
    asset: string,
    status: number,
    readonly serverMessage: string,
  ) {
    super(`asset ${asset}: ${status} ${serverMessage}`, asset, status);
    this.name = 'FlexAssetHttpError';
  }
}

/** No readable answer: offline, or a page origin the service does not grant (CORS keeps the answer from the page). */
export class FlexAssetNetworkError extends FlexAssetError {
  constructor(
    asset: string,
    readonly causeError: unknown,
  ) {
    super(
      `asset ${asset}: no answer from the service (network failure, or this page's origin is not in FLEX_ALLOWED_ORIGINS)`,
      asset,
    );
    this.name = 'FlexAssetNetworkError';
  }
}

/** The bytes received do not hash to the asset's sha256, or a part does not fit where it claims to. */
export class FlexAssetIntegrityError extends FlexAssetError {
  constructor(asset: string, detail: string) {
    super(`asset ${asset}: ${detail}`, asset);
    this.name = 'FlexAssetIntegrityError';
  }
}

/** The asset was redeployed during the download, again after one restart. */
export class FlexAssetChangedError extends FlexAssetError {
  constructor(asset: string) {
    super(`asset ${asset} changed while it was downloaded, twice; try again`, asset);
    this.name = 'FlexAssetChangedError';
  }
}

/** Thrown inside one download when If-Range shows a new version: the download restarts once. */
class ChangedDuringDownload extends Error {}

interface Part {
  start: number;
  end: number;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** sha-256 of an RFC 9530 Repr-Digest header as hex, or undefined. */
export function sha256FromReprDigest(header: string | null): string | undefined {
  const match = header ? /(?:^|,)\s*sha-256=:([A-Za-z0-9+/]+=*):/.exec(header) : null;
  if (!match) return undefined;
  const binary = atob(match[1]);
  return Array.from(binary, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}

export class FlexAssetClient {
  private readonly kept = new Map<string, FlexAsset>();
  private readonly serviceUrl: string;
  private readonly partBytes: number;
  private readonly parallel: number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: FlexAssetClientOptions) {
    let url: URL;
    try {
      url = new URL(options.serviceUrl);
    } catch {
      throw new TypeError(`serviceUrl "${options.serviceUrl}" is not an absolute URL`);
    }
    this.serviceUrl = url.href.replace(/\/+$/, '');
    const partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
    if (!Number.isSafeInteger(partBytes) || partBytes < 1 || partBytes > DEFAULT_PART_BYTES) {
      throw new RangeError(`partBytes must be a whole number from 1 to ${DEFAULT_PART_BYTES}, got ${partBytes}`);
    }
    const parallel = options.parallel ?? DEFAULT_PARALLEL;
    if (!Number.isSafeInteger(parallel) || parallel < 1 || parallel > MAX_PARALLEL) {
      throw new RangeError(`parallel must be a whole number from 1 to ${MAX_PARALLEL}, got ${parallel}`);
    }
    this.partBytes = partBytes;
    this.parallel = parallel;
    // bound to globalThis: a browser's fetch called as a method of another object throws "Illegal invocation"
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** The asset named `name` (a logical name, e.g. "docs/agent-guide.pdf"), checked against its sha256. */
  async fetchAsset(name: string, init: { signal?: AbortSignal } = {}): Promise<FlexAsset> {
    try {
      return await this.download(name, init.signal);
    } catch (err) {
      if (!(err instanceof ChangedDuringDownload)) throw err;
    }
    // Redeployed mid-download: start again from the new version, once.
    this.kept.delete(name);
    try {
      return await this.download(name, init.signal);
    } catch (err) {
      if (err instanceof ChangedDuringDownload) throw new FlexAssetChangedError(name);
      throw err;
    }
  }

  /** Forget the kept copies (e.g. when the agent logs out). */
  clear(): void {
    this.kept.clear();
  }

  private async post(
    name: string,
    token: string,
    params: Record<string, string>,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.serviceUrl}/flex/asset`, {
        // POST: browsers keep no copy of the answer in their HTTP cache; this module keeps and revalidates it.
        method: 'POST',
        headers,
        body: new URLSearchParams({ Token: token, name, ...params }),
        signal,
      });
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw new FlexAssetNetworkError(name, err);
    }
    if (res.status === 200 || res.status === 206 || res.status === 304) return res;
    if (res.status === 412 && params['If-Range']) throw new ChangedDuringDownload();
    let message = res.statusText || 'error';
    try {
      const body = (await res.json()) as { error?: unknown };
      if (typeof body.error === 'string') message = body.error;
    } catch {
      // not JSON: keep the status text
    }
    throw new FlexAssetHttpError(name, res.status, message);
  }

  private async download(name: string, signal?: AbortSignal): Promise<FlexAsset> {
    const token = await this.options.token();
    const previous = this.kept.get(name);
    let requests = 1;
    const first = await this.post(
      name,
      token,
      { Range: `bytes=0-${this.partBytes - 1}` },
      previous ? { 'If-None-Match': previous.etag } : {},
      signal,
    );
    if (first.status === 304 && previous) return { ...previous, revalidated: true, requests };
    if (first.status === 304) throw new FlexAssetHttpError(name, 304, 'not modified, but no copy is kept');
    const etag = first.headers.get('ETag');
    const expected = sha256FromReprDigest(first.headers.get('Repr-Digest'));
    if (!etag || !expected)
      throw new FlexAssetIntegrityError(
        name,
        'the answer carries no ETag or Repr-Digest (is ETag, Repr-Digest exposed to this origin?)',
      );
    const contentType = first.headers.get('Content-Type') ?? 'application/octet-stream';

    let bytes: Uint8Array<ArrayBuffer>;
    if (first.status === 200) {
      bytes = new Uint8Array(await first.arrayBuffer());
    } else {
      const range = CONTENT_RANGE.exec(first.headers.get('Content-Range') ?? '');
      if (!range || Number(range[1]) !== 0)
        throw new FlexAssetIntegrityError(
          name,
          `unexpected Content-Range "${first.headers.get('Content-Range')}" for the first part`,
        );
      const total = Number(range[3]);
      bytes = new Uint8Array(total);
      const head = new Uint8Array(await first.arrayBuffer());
      if (head.length !== Number(range[2]) + 1 || head.length > total)
        throw new FlexAssetIntegrityError(name, 'the first part is not as long as its Content-Range says');
      bytes.set(head, 0);
      const todo: Part[] = [];
      for (let start = head.length; start < total; start += this.partBytes)
        todo.push({ start, end: Math.min(start + this.partBytes, total) - 1 });
      const fetchPart = async (part: Part): Promise<void> => {
        requests += 1;
        // If-Range: a part of another version would splice two; the service answers 412 (or the whole, 200) instead.
        const res = await this.post(
          name,
          token,
          { Range: `bytes=${part.start}-${part.end}`, 'If-Range': etag },
          {},
          signal,
        );
        if (res.status !== 206) {
          await res.body?.cancel();
          throw new ChangedDuringDownload();
        }
        const got = CONTENT_RANGE.exec(res.headers.get('Content-Range') ?? '');
        const body = new Uint8Array(await res.arrayBuffer());
        if (
          !got ||
          Number(got[1]) !== part.start ||
          Number(got[3]) !== total ||
          Number(got[2]) > part.end ||
          body.length !== Number(got[2]) - part.start + 1
        ) {
          throw new FlexAssetIntegrityError(
            name,
            `part ${part.start}-${part.end} came back as "${res.headers.get('Content-Range')}" with ${body.length} bytes`,
          );
        }
        bytes.set(body, part.start);
        // A service may send less than asked (RFC 9110 15.3.7): ask for the rest.
        if (Number(got[2]) < part.end) todo.push({ start: Number(got[2]) + 1, end: part.end });
      };
      const worker = async (): Promise<void> => {
        for (let part = todo.shift(); part; part = todo.shift()) await fetchPart(part);
      };
      await Promise.all(Array.from({ length: Math.min(this.parallel, todo.length) }, worker));
    }
    const actual = hex(await crypto.subtle.digest('SHA-256', bytes));
    if (actual !== expected)
      throw new FlexAssetIntegrityError(
        name,
        `sha256 ${actual} of the ${bytes.length} bytes received is not the asset's ${expected}`,
      );
    const asset: FlexAsset = {
      name,
      blob: new Blob([bytes], { type: contentType }),
      etag,
      sha256: actual,
      contentType,
      bytes: bytes.length,
      revalidated: false,
      requests,
    };
    this.kept.set(name, asset);
    return asset;
  }
}
