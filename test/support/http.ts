import * as http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A plain HTTP request. Node's fetch adds `cache-control: no-cache` to conditional requests, so
 * conditional and range requests go through http.request instead.
 */
export function request(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** sent chunked, without Content-Length */ chunks?: Buffer[];
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers = options.chunks ? { ...options.headers, 'Transfer-Encoding': 'chunked' } : options.headers;
    const req = http.request(url, { method: options.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(20000, () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end(options.body);
  });
}
