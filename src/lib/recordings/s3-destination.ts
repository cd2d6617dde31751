import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { ArchiveDestination, assertSafeKey, inspectStream, sha256Of, StoredCopy } from './destination';

/** Settings of an S3-compatible bucket destination, from `--dest s3://bucket/prefix` and the environment. */
export interface S3Settings {
  bucket: string;
  /** key prefix, '' or ending in '/' */
  prefix: string;
  /** an S3-compatible endpoint (MinIO, R2, ...); unset for AWS S3 */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface S3Env {
  S3_ENDPOINT?: string;
  S3_FORCE_PATH_STYLE?: string;
  AWS_REGION?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
}

/** Parses `s3://bucket[/prefix]`; the error names the flag and what is wrong. */
export function parseS3Destination(url: string, env: S3Env, flag = '--dest'): S3Settings {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  // bucket naming rules of S3: 3-63 lowercase letters, digits, dots and hyphens
  if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(match[1])) {
    throw new Error(`${flag}: "${url}" is not s3://BUCKET[/PREFIX] with a valid bucket name`);
  }
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix) assertSafeKey(prefix);
  if (env.S3_ENDPOINT) {
    try {
      new URL(env.S3_ENDPOINT);
    } catch {
      throw new Error(`S3_ENDPOINT: "${env.S3_ENDPOINT}" is not a URL`);
    }
  }
  if (Boolean(env.AWS_ACCESS_KEY_ID) !== Boolean(env.AWS_SECRET_ACCESS_KEY)) {
    throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  }
  return {
    bucket: match[1],
    prefix: prefix ? `${prefix}/` : '',
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
    region: env.AWS_REGION || 'us-east-1',
    // S3-compatible servers mostly want path-style URLs; AWS wants virtual-hosted ones
    forcePathStyle: env.S3_FORCE_PATH_STYLE ? env.S3_FORCE_PATH_STYLE === 'true' : Boolean(env.S3_ENDPOINT),
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } }
      : {}),
  };
}

/**
 * An S3-compatible bucket. A PUT is atomic in S3 (a reader sees the old object or the whole new one), and
 * inspect reads the object back and hashes it here, so a copy is only "verified" by its own bytes, not by
 * what the server says about them.
 */
export class S3Destination implements ArchiveDestination {
  readonly description: string;
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    this.description = `s3://${settings.bucket}/${settings.prefix}`;
    this.client = new S3Client({
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      // the SDK's default extra checksums (CRC32 trailers) are refused by several S3-compatible servers; our
      // own sha256 read-back is the verification that counts
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private key(name: string): string {
    assertSafeKey(name);
    return `${this.settings.prefix}${name}`;
  }

  async put(key: string, body: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    const sha256 = sha256Of(body);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.settings.bucket,
        Key: this.key(key),
        Body: body,
        ContentType: contentType,
        ContentLength: body.length,
        Metadata: { sha256 },
      }),
    );
  }

  private async get(key: string): Promise<Readable | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.key(key) }));
      return object.Body as Readable;
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404))
        return undefined;
      throw err;
    }
  }

  async inspect(key: string): Promise<StoredCopy | undefined> {
    const body = await this.get(key);
    return body ? inspectStream(key, body) : undefined;
  }

  async readText(name: string): Promise<string> {
    const body = await this.get(name);
    if (!body) return '';
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async writeText(name: string, text: string): Promise<void> {
    await this.put(name, Buffer.from(text, 'utf8'), 'application/x-ndjson');
  }

  close(): void {
    this.client.destroy();
  }
}
