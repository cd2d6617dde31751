import type { AwsClient } from 'aws4fetch';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { SpooledBody } from '../fetch/media-fetcher';
import { SettingsError } from '../settings';
import {
  assertSafeKey,
  ConditionalTextStore,
  inspectStream,
  ObjectStore,
  PutOptions,
  PutResult,
  sha256Of,
  StoredObject,
  StoreError,
  VersionedText,
} from './store';

/** Settings of an S3-compatible bucket: `s3://bucket[/prefix]` and the variables (or flags) beside it. */
export interface S3Settings {
  bucket: string;
  /** key prefix, '' or ending in '/' */
  prefix: string;
  /** an S3-compatible endpoint (MinIO, R2, ...); unset for AWS S3 */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** unset: requests go unsigned (a public or local test bucket) */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** The values an S3 store is configured from, and the name of the variable or flag each came from. */
export interface S3Source {
  url: string;
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  names: {
    url: string;
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
  };
}

/** The one reading of an S3 store's settings; every error names the variable or flag at fault (never a secret). */
export function s3SettingsFrom(source: S3Source): S3Settings {
  const { names } = source;
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(source.url);
  // bucket naming rules of S3: 3-63 lowercase letters, digits, dots and hyphens
  if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(match[1])) {
    throw new SettingsError(
      names.url,
      `${names.url}: "${source.url.slice(0, 200)}" is not s3://BUCKET[/PREFIX] with a valid bucket name`,
    );
  }
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix) {
    try {
      assertSafeKey(prefix);
    } catch {
      throw new SettingsError(
        names.url,
        `${names.url}: the prefix "${prefix.slice(0, 200)}" may only have letters, digits, . _ - and / between segments`,
      );
    }
  }
  const endpoint = source.endpoint?.trim() || undefined;
  if (endpoint) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password)
      throw new SettingsError(
        names.endpoint,
        `${names.endpoint}: "${endpoint.slice(0, 200)}" is not an http(s) URL without credentials`,
      );
  }
  const region = source.region?.trim() || 'us-east-1';
  if (!/^[a-z0-9-]{2,40}$/.test(region))
    throw new SettingsError(names.region, `${names.region}: "${region.slice(0, 40)}" is not a region name`);
  const accessKeyId = source.accessKeyId?.trim();
  const secretAccessKey = source.secretAccessKey?.trim();
  if (accessKeyId && !secretAccessKey)
    throw new SettingsError(
      names.secretAccessKey,
      `${names.secretAccessKey} is not set, but ${names.accessKeyId} is: set both`,
    );
  if (secretAccessKey && !accessKeyId)
    throw new SettingsError(
      names.accessKeyId,
      `${names.accessKeyId} is not set, but ${names.secretAccessKey} is: set both`,
    );
  // AWS's certificate for virtual-hosted names is *.s3.REGION.amazonaws.com: a bucket with dots in its name
  // (my.bucket.s3...) fails TLS there, so AWS (and its SDKs) address such a bucket path-style
  // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html, "SSL wildcard certificate")
  const dotted = match[1].includes('.');
  return {
    bucket: match[1],
    prefix: prefix ? `${prefix}/` : '',
    ...(endpoint ? { endpoint } : {}),
    region,
    // S3-compatible servers mostly want path-style URLs; AWS wants virtual-hosted ones, but for a dotted name
    forcePathStyle: Boolean(endpoint) || dotted,
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
  };
}

const META = 'x-amz-meta-';

/** a PUT body's sha256, hex in the signature and base64 as S3's checksum: S3 refuses a body altered on the way */
function checksumHeaders(sha256: string): Record<string, string> {
  return {
    'x-amz-content-sha256': sha256,
    'x-amz-checksum-sha256': Buffer.from(sha256, 'hex').toString('base64'),
  };
}

/** The headers of a PUT: the body's sha256 twice (hex, signed; base64, checked by S3), metadata, If-None-Match. */
function putHeaders(sha256: string, options: PutOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/octet-stream',
    ...checksumHeaders(sha256),
  };
  for (const [name, value] of Object.entries(options.metadata ?? {})) headers[`${META}${name.toLowerCase()}`] = value;
  if (options.ifAbsent) headers['if-none-match'] = '*';
  return headers;
}

/**
 * A PUT's answer: S3 answers 412 when the key exists (409 when a concurrent write holds it), and older MinIO 304
 * (minio#19442): nothing is replaced, and the caller reads the object to judge it.
 */
function putResult(status: number, text: string, options: PutOptions): PutResult {
  if (options.ifAbsent && [304, 409, 412].includes(status)) return 'exists';
  if (status < 200 || status > 299) throw new StoreError(s3Problem(status, text), status);
  return 'written';
}

/** Sends a file as a PUT's body with node:http(s), cut by signal; the answer's status and (short) text. */
function streamPut(
  url: string,
  headers: Record<string, string>,
  file: string,
  key: string,
  signal?: AbortSignal,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const failed = (err: Error) =>
      reject(
        signal?.aborted
          ? new StoreError(`no answer from the store in time (PUT ${key})`)
          : new StoreError(
              `the store could not be reached (PUT ${key}): ${(err as NodeJS.ErrnoException).code ?? err.message}`,
            ),
      );
    const req = client.request(target, { method: 'PUT', headers, signal, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        if (length < 64 * 1024) chunks.push(chunk);
        length += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', failed);
    });
    req.on('error', failed);
    const body = fs.createReadStream(file);
    body.on('error', (err) => req.destroy(err));
    body.pipe(req);
  });
}

/** `<Code>` and `<Message>` of an S3 error document, for the log; the body never holds a credential. */
function s3Problem(status: number, text: string): string {
  const code = /<Code>([^<]{1,80})<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]{1,200})<\/Message>/.exec(text)?.[1];
  return `the store answered ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
}

/**
 * An S3-compatible bucket, spoken to with Node's fetch and signed by aws4fetch. Chosen over @aws-sdk/client-s3
 * because the inbound MMS webhook carries this module: the SDK alone takes about 60 ms to load, aws4fetch (one
 * small file on Web Crypto) a few ms, and the few calls needed here (PUT, GET) are plain HTTP. Even those few ms
 * are paid only by a webhook that has an S3 store: aws4fetch is required when the first S3Store is made, not at
 * the webhook's cold load. aws4fetch's own fetch retries 5xx up to 10 times with no total deadline, so requests
 * are only signed by it and sent here, once each, cut by the caller's signal: retrying is the sync command's job.
 *
 * A PUT is atomic in S3 (a reader sees nothing or the whole object) and carries the body's sha256 twice, as
 * x-amz-content-sha256 (hex, part of the signature) and x-amz-checksum-sha256 (base64), so S3 itself refuses a
 * body altered on the way. inspect reads the object back and hashes it here, so a copy is only "verified" by its
 * own bytes, not by what the server says about them.
 */
export class S3Store implements ObjectStore, ConditionalTextStore {
  readonly description: string;
  readonly prefix: string;
  private readonly signer?: AwsClient;

  constructor(private readonly settings: S3Settings) {
    this.description = `s3://${settings.bucket}/${settings.prefix}`;
    this.prefix = settings.prefix;
    if (settings.credentials) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { AwsClient: Signer } = require('aws4fetch') as typeof import('aws4fetch');
      this.signer = new Signer({
        ...settings.credentials,
        service: 's3',
        region: settings.region,
        retries: 0,
      });
    }
  }

  private url(name: string): string {
    assertSafeKey(name);
    const key = `${this.settings.prefix}${name}`;
    const { bucket, endpoint, region, forcePathStyle } = this.settings;
    const base = new URL(endpoint ?? `https://s3.${region}.amazonaws.com`);
    const root = base.pathname.replace(/\/+$/, '');
    if (forcePathStyle) return `${base.origin}${root}/${bucket}/${key}`;
    return `${base.protocol}//${bucket}.${base.host}${root}/${key}`;
  }

  private async send(
    method: string,
    name: string,
    headers: Record<string, string>,
    body?: Buffer,
    signal?: AbortSignal,
  ) {
    const url = this.url(name);
    try {
      const init = { method, headers, ...(body ? { body } : {}) };
      const request = this.signer ? await this.signer.sign(url, init) : new Request(url, init);
      return await fetch(request, { signal });
    } catch (err) {
      if (signal?.aborted) throw new StoreError(`no answer from the store in time (${method} ${name})`);
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new StoreError(`the store could not be reached (${method} ${name}): ${cause ?? (err as Error).message}`);
    }
  }

  /**
   * A presigned GET of the object (SigV4 query signing with the store's own key), valid `seconds`: what the
   * recordings' url_provider hands the Flex Insights Player. Signing is local (no request); an unsigned store has
   * no key to sign with and gets a StoreError naming the variables.
   */
  async signedGetUrl(name: string, seconds: number): Promise<string> {
    if (!this.signer)
      throw new StoreError(
        'the store has no access key to sign a playback link with: set MEDIA_STORE_ACCESS_KEY_ID and MEDIA_STORE_SECRET_ACCESS_KEY',
      );
    const url = new URL(this.url(name));
    url.searchParams.set('X-Amz-Expires', String(seconds));
    const signed = await this.signer.sign(url.toString(), { method: 'GET', aws: { signQuery: true } });
    return signed.url;
  }

  async put(key: string, body: Buffer, options: PutOptions = {}): Promise<PutResult> {
    const res = await this.send('PUT', key, putHeaders(sha256Of(body), options), body, options.signal);
    return putResult(res.status, await res.text().catch(() => ''), options);
  }

  /**
   * A PUT whose body is read from a file as it is sent (a recording of any length, spooled by the fetch): one
   * atomic PUT, so the key holds the whole object or nothing, with the sha256 the spool computed in the signed
   * x-amz-content-sha256 and in x-amz-checksum-sha256, so the store refuses a body that differs. Sent with node:http
   * rather than fetch, which cannot stream a request body with a known Content-Length.
   */
  async putFile(key: string, spooled: SpooledBody, options: PutOptions = {}): Promise<PutResult> {
    const url = this.url(key);
    const headers = putHeaders(spooled.sha256, options);
    const signed = this.signer ? await this.signer.sign(url, { method: 'PUT', headers }) : undefined;
    const sent: Record<string, string> = signed ? Object.fromEntries(signed.headers) : headers;
    sent['content-length'] = String(spooled.bytes);
    const { status, text } = await streamPut(signed?.url ?? url, sent, spooled.file, key, options.signal);
    return putResult(status, text, options);
  }

  private async get(key: string, signal?: AbortSignal): Promise<Response | undefined> {
    const res = await this.send('GET', key, {}, undefined, signal);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) throw new StoreError(s3Problem(res.status, await res.text().catch(() => '')), res.status);
    return res;
  }

  async inspect(key: string, options: { signal?: AbortSignal } = {}): Promise<StoredObject | undefined> {
    const res = await this.get(key, options.signal);
    if (!res) return undefined;
    const metadata: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      if (name.startsWith(META)) metadata[name.slice(META.length)] = value;
    });
    const contentType = res.headers.get('content-type') ?? undefined;
    try {
      return await inspectStream(key, res.body ?? [], { metadata, ...(contentType ? { contentType } : {}) });
    } catch (err) {
      if (options.signal?.aborted) throw new StoreError(`no answer from the store in time (GET ${key})`);
      throw new StoreError(`reading ${key} back failed: ${(err as Error).message}`);
    }
  }

  async readText(name: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const res = await this.get(name, options.signal);
    return res ? this.textOf(res, name, options.signal) : '';
  }

  /** a body read cut by the signal (or the connection) is a StoreError naming the document, as a request is */
  private async textOf(res: Response, name: string, signal?: AbortSignal): Promise<string> {
    try {
      return await res.text();
    } catch (err) {
      if (signal?.aborted) throw new StoreError(`no answer from the store in time (GET ${name})`);
      throw new StoreError(`reading ${name} failed: ${(err as Error).message}`);
    }
  }

  /** PUT, then read back: a store that acknowledged the write but holds other bytes (or none) is a StoreError. */
  async writeText(name: string, text: string, options: PutOptions = {}): Promise<void> {
    const body = Buffer.from(text, 'utf8');
    await this.put(name, body, {
      contentType: name.endsWith('.json') ? 'application/json' : 'application/x-ndjson',
      ...options,
    });
    const stored = await this.inspect(name, options);
    if (!stored) throw new StoreError(`${name} is missing when read back after the store acknowledged its write`);
    if (stored.sha256 !== sha256Of(body))
      throw new StoreError(
        `${name} read back as ${stored.bytes} bytes with sha256 ${stored.sha256}, not the ${body.length} bytes written`,
      );
  }

  async readVersioned(name: string, options: { signal?: AbortSignal } = {}): Promise<VersionedText> {
    const res = await this.get(name, options.signal);
    if (!res) return { text: '' };
    const etag = res.headers.get('etag') ?? undefined;
    const text = await this.textOf(res, name, options.signal);
    if (!etag) throw new StoreError(`the store sent no ETag with ${name}: it cannot be written conditionally`);
    return { text, version: etag };
  }

  /**
   * A conditional PUT: `If-Match` on the ETag read, or `If-None-Match: *` when it was absent (S3's conditional
   * writes, https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html). S3 answers 412 when the
   * object changed (or, for If-Match, no longer exists) and 409 ConditionalRequestConflict when a concurrent write
   * holds it: both mean "read again"; older MinIO answers 304 to If-None-Match on a taken key (minio#19442).
   */
  async writeTextIf(
    name: string,
    text: string,
    version: string | undefined,
    options: PutOptions = {},
  ): Promise<'written' | 'changed'> {
    const body = Buffer.from(text, 'utf8');
    const headers: Record<string, string> = {
      'content-type': name.endsWith('.json') ? 'application/json' : 'text/plain',
      ...checksumHeaders(sha256Of(body)),
      ...(version === undefined ? { 'if-none-match': '*' } : { 'if-match': version }),
    };
    const res = await this.send('PUT', name, headers, body, options.signal);
    const answer = await res.text().catch(() => '');
    if ([304, 404, 409, 412].includes(res.status)) return 'changed';
    if (!res.ok) throw new StoreError(s3Problem(res.status, answer), res.status);
    return 'written';
  }
}
