import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import CachePolicy from 'http-cache-semantics';
import { buildProject } from '../../src/pipeline/project';
import { PROJECT_ROOT } from '../support/paths';
import { request } from '../support/http';
import { RunningRuntime, startRuntime } from '../support/runtime';

/**
 * Plays Twilio's media cache (a shared RFC 9111 cache, http-cache-semantics) in front of the stable /media URL,
 * across a deploy that changes the file: the next fetch must bring the new bytes, never a stale copy, and while
 * nothing changes the cache must revalidate with a 304 instead of downloading again.
 */
class SharedCache {
  private readonly store = new Map<
    string,
    { policy: CachePolicy; status: number; headers: Record<string, string>; body: Buffer }
  >();
  revalidated304 = 0;
  fullResponses = 0;

  constructor(private readonly origin: () => string) {}

  private async fetchOne(pathAndQuery: string) {
    const req = { url: pathAndQuery, method: 'GET', headers: { host: 'service.example' } };
    const cached = this.store.get(pathAndQuery);
    if (cached && cached.policy.satisfiesWithoutRevalidation(req)) return cached;
    const headers = cached ? (cached.policy.revalidationHeaders(req) as Record<string, string>) : {};
    delete headers.host;
    const res = await request(`${this.origin()}${pathAndQuery}`, { headers });
    const plain = { status: res.status, headers: res.headers as Record<string, string> };
    if (cached) {
      const { policy, modified } = cached.policy.revalidatedPolicy(req, plain);
      if (!modified) {
        this.revalidated304 += 1;
        const updated = { ...cached, policy };
        this.store.set(pathAndQuery, updated);
        return updated;
      }
    }
    this.fullResponses += 1;
    const policy = new CachePolicy(req, plain, { shared: true });
    const entry = { policy, status: res.status, headers: plain.headers, body: res.body };
    if (policy.storable()) this.store.set(pathAndQuery, entry);
    else this.store.delete(pathAndQuery);
    return entry;
  }

  /** GET through the cache, following redirects as Twilio's HTTP client does. */
  async get(pathAndQuery: string): Promise<Buffer> {
    let target = pathAndQuery;
    for (let hop = 0; hop < 5; hop += 1) {
      const res = await this.fetchOne(target);
      if (res.status >= 300 && res.status < 400) {
        const location = new URL(res.headers.location, 'http://service.example');
        target = location.pathname + location.search;
        continue;
      }
      if (res.status !== 200) throw new Error(`GET ${target} answered ${res.status}`);
      return res.body;
    }
    throw new Error(`too many redirects from ${pathAndQuery}`);
  }
}

describe('Twilio-style caching of the stable media URL across a deploy', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-cache-'));
  const assetsDir = path.join(work, 'assets');
  const outDir = path.join(work, 'dist');
  let runtime: RunningRuntime | undefined;

  const build = () => buildProject({ projectRoot: PROJECT_ROOT, assetsDir, outDir, hashCacheFile: null });
  const writeGreeting = (text: string) => fs.writeFileSync(path.join(assetsDir, 'audio', 'greeting.wav'), text);

  beforeAll(() => {
    fs.cpSync(path.join(PROJECT_ROOT, 'assets'), assetsDir, { recursive: true });
  });
  afterAll(async () => {
    await runtime?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('serves new bytes on the first fetch after a change, and 304s while unchanged', async () => {
    writeGreeting('greeting, first recording');
    await build();
    runtime = await startRuntime({ buildDir: outDir });
    const port = runtime.port;
    const cache = new SharedCache(() => runtime!.baseUrl);

    expect((await cache.get('/media?name=audio/greeting.wav')).toString()).toBe('greeting, first recording');
    expect((await cache.get('/media?name=audio/greeting.wav')).toString()).toBe('greeting, first recording');
    expect(cache.revalidated304).toBe(1);

    // A deploy with a new recording under the same logical name.
    writeGreeting('greeting, second recording');
    await runtime.stop();
    await build();
    runtime = await startRuntime({ buildDir: outDir, port });

    const after: string[] = [];
    for (let i = 0; i < 3; i += 1) after.push((await cache.get('/media?name=audio/greeting.wav')).toString());
    expect(after.filter((body) => body !== 'greeting, second recording')).toEqual([]); // zero stale responses
    expect(cache.revalidated304).toBe(3); // the 1st fetch after the deploy got a new redirect, the next two 304s
  });
});
