import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { AwsClient, AwsV4Signer } from 'aws4fetch';

// s3rver (an S3-compatible server from the package registry) has no type declarations
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: object) => {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  store: { getResourcePath(bucket: string, key: string, resource: 'object'): string };
};

/** s3rver's built-in account: what a store in front of it signs with. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * What the front does with the requests it is scripted for: pass them on (checking the body's hashes as S3
 * does), refuse (403 AccessDenied), fail (500 InternalError), hang (never answer), corrupt (flip one byte of a
 * PUT's body on the way in, as a faulty proxy would, before the checks), or swallow (answer 200 to a PUT and keep
 * nothing, as a broken gateway might).
 */
export type FrontMode = 'pass' | 'forbidden' | 'fail' | 'hang' | 'corrupt' | 'swallow';

export interface FrontRequest {
  method: string;
  /** path and query, e.g. /bucket/prefix/AC.../MM.../ME....png */
  url: string;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  status?: number;
  /** epoch ms when the front had the whole request */
  at: number;
  /** epoch ms when it answered (headers) */
  answeredAt?: number;
}

export interface S3Front {
  /** the store's endpoint, for MEDIA_STORE_ENDPOINT */
  endpoint: string;
  /** s3rver itself, behind the front: for inspecting the bucket without the script */
  backendEndpoint: string;
  requests: FrontRequest[];
  /**
   * applies mode to the next requests with one of these methods (all methods when not given) whose path contains
   * `pathIncludes` (any path when not given), e.g. only the message records: script('fail', ['PUT'], 'message.json')
   */
  script(mode: FrontMode, methods?: string[], pathIncludes?: string): void;
  /** every key in the bucket (ListObjectsV2 on s3rver) */
  listKeys(bucket: string): Promise<string[]>;
  /** an object as s3rver holds it: bytes and headers (x-amz-meta-*), or undefined */
  getObject(bucket: string, key: string): Promise<{ body: Buffer; headers: Headers } | undefined>;
  close(): Promise<void>;
}

function s3Error(res: http.ServerResponse, status: number, code: string, message: string): void {
  res
    .writeHead(status, { 'Content-Type': 'application/xml' })
    .end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

/**
 * The verdict S3 gives a presigned (query-signed) request, which s3rver does not check: the signature recomputed
 * over the URL without it (SigV4, with the request's own X-Amz-Date) must match, and X-Amz-Date + X-Amz-Expires
 * must not have passed. Undefined when the request is fine.
 */
async function presignedProblem(
  method: string,
  url: URL,
): Promise<{ status: number; code: string; message: string } | undefined> {
  const given = url.searchParams.get('X-Amz-Signature');
  const date = url.searchParams.get('X-Amz-Date') ?? '';
  const expires = Number(url.searchParams.get('X-Amz-Expires'));
  const region = (url.searchParams.get('X-Amz-Credential') ?? '').split('/')[2] ?? '';
  const unsigned = new URL(url);
  for (const name of [...unsigned.searchParams.keys()])
    if (name.startsWith('X-Amz-') && name !== 'X-Amz-Expires') unsigned.searchParams.delete(name);
  const signed = await new AwsV4Signer({
    method,
    url: unsigned.toString(),
    ...S3RVER_CREDENTIALS,
    service: 's3',
    region,
    datetime: date,
    signQuery: true,
  }).sign();
  if (signed.url.searchParams.get('X-Amz-Signature') !== given)
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided.',
    };
  const at = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  const signedAt = at ? Date.UTC(+at[1], +at[2] - 1, +at[3], +at[4], +at[5], +at[6]) : NaN;
  if (!(expires >= 1 && expires <= 604800) || !(signedAt + expires * 1000 > Date.now()))
    return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
  return undefined;
}

/**
 * s3rver on loopback behind a small front that checks what S3 checks and s3rver does not: a PUT's body against
 * its `x-amz-content-sha256` (hex) and `x-amz-checksum-sha256` (base64) (400 XAmzContentSHA256Mismatch /
 * BadDigest), and the conditional PUT: `If-None-Match: *` (412 when the key exists) and `If-Match: ETAG` (412 when
 * the key is absent or holds another ETag), each checked and written as one step per key, as S3 does. It can be scripted to refuse, fail,
 * hang or corrupt, and records every request.
 */
export async function startS3Front(buckets: string[]): Promise<S3Front> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-s3front-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port: backendPort } = await server.run();
  const backendEndpoint = `http://127.0.0.1:${backendPort}`;
  const signer = new AwsClient({ ...S3RVER_CREDENTIALS, service: 's3', region: 'us-east-1', retries: 0 });

  let mode: FrontMode = 'pass';
  let modeMethods: string[] | undefined;
  let modePath: string | undefined;
  const requests: FrontRequest[] = [];
  const sockets = new Set<Socket>();

  /** the object's ETag as s3rver answers it, undefined when absent */
  const etagOf = async (url: string): Promise<string | undefined> => {
    const res = await fetch(await signer.sign(`${backendEndpoint}${url.split('?')[0]}`, { method: 'HEAD' }));
    return res.status === 200 ? (res.headers.get('etag') ?? '') : undefined;
  };
  // S3 answers a PUT once the whole object is stored, and a read after it gets the whole object (strong
  // read-after-write consistency, Amazon S3 User Guide, "Amazon S3 data consistency model"). s3rver answers once
  // the body has gone into its file's write stream, not once the file holds it: under disk load a read-back right
  // after the answer saw a short file, and a verified copy looked corrupt (reproduced: the archive's read-back failed
  // in one CI run). So the front holds a successful PUT's answer until s3rver's file has every byte.
  const writtenThrough = async (method: string, status: number, url: string, bytes: number): Promise<void> => {
    const [pathname, query = ''] = url.split('?');
    if (method !== 'PUT' || status < 200 || status > 299 || /(^|&)uploadId=/.test(query)) return;
    const [bucket, ...key] = pathname.slice(1).split('/');
    if (!bucket || key.length === 0) return;
    const file = server.store.getResourcePath(
      decodeURIComponent(bucket),
      key.map(decodeURIComponent).join('/'),
      'object',
    );
    for (const giveUpAt = Date.now() + 10_000; Date.now() < giveUpAt;) {
      const size = await fs.promises.stat(file).then(
        (s) => s.size,
        () => -1,
      );
      if (size === bytes) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  // A conditional PUT is atomic in S3: the check and the write of one key happen as one step. s3rver checks
  // neither If-Match nor If-None-Match, so the front does, one PUT per key at a time.
  const keyLocks = new Map<string, Promise<void>>();
  const oneAtATime = (key: string, step: () => Promise<void>): Promise<void> => {
    const previous = keyLocks.get(key) ?? Promise.resolve();
    const next = previous.then(step, step);
    keyLocks.set(key, next);
    return next.finally(() => {
      if (keyLocks.get(key) === next) keyLocks.delete(key);
    });
  };

  const front = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? '';
      let body = Buffer.concat(chunks);
      const record: FrontRequest = {
        method,
        url: req.url ?? '/',
        headers: req.headers,
        bytes: body.length,
        at: Date.now(),
      };
      requests.push(record);
      const answer = (status: number, code: string, message: string) => {
        record.status = status;
        record.answeredAt = Date.now();
        s3Error(res, status, code, message);
      };
      const applies = (!modeMethods || modeMethods.includes(method)) && (!modePath || record.url.includes(modePath));
      const current = applies ? mode : 'pass';
      if (current === 'forbidden') return answer(403, 'AccessDenied', 'Access Denied');
      if (current === 'fail')
        return answer(500, 'InternalError', 'We encountered an internal error. Please try again.');
      if (current === 'hang') return; // the socket stays open until the client gives up or the front closes
      if (current === 'swallow' && method === 'PUT') {
        record.status = 200;
        record.answeredAt = Date.now();
        return res.writeHead(200, { ETag: '"00000000000000000000000000000000"' }).end();
      }
      if (current === 'corrupt' && method === 'PUT' && body.length > 0) {
        body = Buffer.from(body);
        body[body.length >> 1] ^= 0x01;
      }
      const forward = () =>
        new Promise<void>((done) => {
          const headers = { ...req.headers, 'content-length': String(body.length) };
          delete headers['transfer-encoding'];
          delete headers['if-match'];
          delete headers['if-none-match'];
          const upstream = http.request(
            { host: '127.0.0.1', port: backendPort, method, path: req.url, headers },
            (up) => {
              void writtenThrough(method, up.statusCode ?? 0, record.url, body.length).then(() => {
                record.status = up.statusCode;
                record.answeredAt = Date.now();
                res.writeHead(up.statusCode ?? 502, up.headers);
                up.pipe(res);
                up.on('end', done);
                up.on('error', done);
                // a client that goes away mid-body ends the request too (else the key's lock would be held)
                res.on('close', done);
              });
            },
          );
          upstream.on('error', () => {
            answer(502, 'BadGateway', 'the store behind the front did not answer');
            done();
          });
          upstream.end(body);
        });
      void (async () => {
        if (method === 'PUT') {
          const hex = req.headers['x-amz-content-sha256'];
          if (typeof hex === 'string' && /^[0-9a-f]{64}$/.test(hex)) {
            if (createHash('sha256').update(body).digest('hex') !== hex)
              return answer(
                400,
                'XAmzContentSHA256Mismatch',
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
              );
          }
          const b64 = req.headers['x-amz-checksum-sha256'];
          if (typeof b64 === 'string' && createHash('sha256').update(body).digest('base64') !== b64)
            return answer(400, 'BadDigest', 'The SHA256 you specified did not match the calculated checksum.');
          const ifNoneMatch = req.headers['if-none-match'];
          const ifMatch = req.headers['if-match'];
          if (ifNoneMatch !== undefined || ifMatch !== undefined)
            return oneAtATime(record.url.split('?')[0], async () => {
              const etag = await etagOf(record.url);
              // S3: If-None-Match: * fails on a taken key; If-Match fails unless the key holds exactly that ETag
              const taken = ifNoneMatch === '*' && etag !== undefined;
              const changed = ifMatch !== undefined && (etag === undefined || etag !== ifMatch);
              if (taken || changed)
                return answer(
                  412,
                  'PreconditionFailed',
                  'At least one of the pre-conditions you specified did not hold',
                );
              await forward();
            });
        }
        if ((method === 'GET' || method === 'HEAD') && record.url.includes('X-Amz-Signature=')) {
          const problem = await presignedProblem(method, new URL(record.url, `http://${req.headers.host}`));
          if (problem) return answer(problem.status, problem.code, problem.message);
        }
        // Every other request to a key waits for the PUT in progress on it, and a PUT for the reads in progress: s3rver
        // truncates an object's file when an overwrite begins, where S3 gives a reader the old object or the new one,
        // never a part (Amazon S3 User Guide, "Amazon S3 data consistency model": updates to a single key are atomic).
        await oneAtATime(record.url.split('?')[0], forward);
      })().catch(() => answer(500, 'InternalError', 'the front failed'));
    });
  });
  front.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const { port } = front.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    backendEndpoint,
    requests,
    script: (next, methods, pathIncludes) => {
      mode = next;
      modeMethods = methods;
      modePath = pathIncludes;
    },
    listKeys: async (bucket) => {
      const res = await fetch(await signer.sign(`${backendEndpoint}/${bucket}?list-type=2&max-keys=1000`));
      const text = await res.text();
      if (!res.ok) throw new Error(`listing ${bucket}: ${res.status} ${text}`);
      return [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]).sort();
    },
    getObject: async (bucket, key) => {
      const res = await fetch(await signer.sign(`${backendEndpoint}/${bucket}/${key}`));
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`GET ${key}: ${res.status}`);
      return { body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
