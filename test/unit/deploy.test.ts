import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { interceptHttp, nock } from '../support/nock';
import { TwilioServerlessApiClient } from '@twilio-labs/serverless-api';
import { AssetLimitError, MB } from '../../src/pipeline/asset-limits';
import { buildProject } from '../../src/pipeline/project';
import { MANIFEST_FILE_NAME } from '../../src/lib/manifest';
import { PROJECT_ROOT } from '../support/paths';

// twilio-run's own config loader, to deploy from the folders a bare `twilio serverless:deploy` would use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readSpecializedConfig } = require('twilio-run/dist/config/global') as {
  readSpecializedConfig: (baseDir: string, file: string | undefined, command: string) => { functionsFolder: string; assetsFolder: string };
};

interface Upload {
  kind: 'Functions' | 'Assets';
  path: string;
  visibility: string;
  bytes: number;
}

/**
 * A fake of https://serverless.twilio.com and its upload host, intercepted in process with nock (the Serverless
 * API host cannot be overridden), answering the calls @twilio-labs/serverless-api makes during a deploy and
 * recording every version upload.
 */
function fakeServerlessApi() {
  const requests: string[] = [];
  const uploads: Upload[] = [];
  let counter = 0;
  const sid = (prefix: string) => `${prefix}${String(++counter).padStart(32, '0')}`;
  const page = (key: string) => ({ meta: { key, next_page_url: null }, [key]: [] });
  // nock 15 hands reply functions a fetch Request; path matchers are functions because a RegExp made in jest's
  // sandbox fails nock's instanceof check in the main realm.
  const pathOf = (req: Request) => new URL(req.url).pathname;
  nock('https://serverless.twilio.com')
    .persist()
    .get(() => true)
    .reply(async (req: Request) => {
      const uri = pathOf(req);
      requests.push(`GET ${uri}`);
      if (/\/Builds\/ZB\w+\/Status$/.test(uri)) return [200, { status: 'completed' }];
      const list = /\/(Environments|Functions|Assets|Variables|Services)(\?.*)?$/.exec(uri);
      if (list) return [200, page(list[1].toLowerCase())];
      return [404, { message: `unexpected GET ${uri}` }];
    })
    .post(() => true)
    .reply(async (req: Request) => {
      const uri = pathOf(req);
      requests.push(`POST ${uri}`);
      if (/\/v1\/Services$/.test(uri)) return [201, { sid: sid('ZS'), unique_name: 'twilio-media-assets' }];
      if (/\/Environments$/.test(uri)) return [201, { sid: sid('ZE'), domain_name: 'twilio-media-assets-1234-dev.twil.io' }];
      if (/\/(Functions|Assets)$/.test(uri)) return [201, { sid: sid('ZH') }];
      if (/\/Builds$/.test(uri)) return [201, { sid: sid('ZB'), status: 'building' }];
      if (/\/Deployments$/.test(uri)) return [201, { sid: sid('ZD') }];
      if (/\/Variables$/.test(uri)) return [201, { sid: sid('ZV') }];
      return [404, { message: `unexpected POST ${uri}` }];
    });
  nock('https://serverless-upload.twilio.com')
    .persist()
    .post((p: string) => /\/(Functions|Assets)\/ZH\w+\/Versions$/.test(p))
    .reply(async (req: Request) => {
      const uri = pathOf(req);
      requests.push(`POST ${uri}`);
      const text = Buffer.from(await req.arrayBuffer()).toString('latin1');
      const field = (name: string) => new RegExp(`name="${name}"\\r\\n\\r\\n([^\\r]*)\\r\\n`).exec(text)?.[1] ?? '';
      const content = /name="Content"; filename="[^"]*"\r\nContent-Type: [^\r]*\r\n\r\n([\s\S]*?)\r\n--/.exec(text)?.[1] ?? '';
      uploads.push({ kind: /\/Functions\//.test(uri) ? 'Functions' : 'Assets', path: field('Path'), visibility: field('Visibility'), bytes: Buffer.byteLength(content, 'latin1') });
      return [201, { sid: sid('ZN') }];
    });
  return { requests, uploads };
}

/** What `npm run deploy` does: the predeploy build (limits first), then twilio-run's deploy of the configured folders. */
async function buildAndDeploy(root: string, assetsDir: string, outDir: string) {
  await buildProject({ projectRoot: PROJECT_ROOT, assetsDir, outDir, hashCacheFile: null });
  const config = readSpecializedConfig(root, undefined, 'deploy');
  const client = new TwilioServerlessApiClient({ accountSid: 'AC00000000000000000000000000000000', authToken: 'test-token' });
  return client.deployLocalProject({
    cwd: root,
    functionsFolderName: config.functionsFolder,
    assetsFolderName: config.assetsFolder,
    serviceName: 'twilio-media-assets',
    functionsEnv: 'dev',
    env: {},
    pkgJson: { dependencies: {} },
    overrideExistingService: false,
  } as unknown as Parameters<TwilioServerlessApiClient['deployLocalProject']>[0]);
}

describe('the deploy path, against an intercepted Serverless API', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-deploy-'));
  interceptHttp();
  beforeAll(() => {
    // a project root whose .twilioserverlessrc is the real one and whose dist is the build under test
    fs.copyFileSync(path.join(PROJECT_ROOT, '.twilioserverlessrc'), path.join(work, '.twilioserverlessrc'));
  });
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('uploads every built Function and asset with its Path and Visibility, and nothing else', async () => {
    const api = fakeServerlessApi();
    const result = await buildAndDeploy(work, path.join(PROJECT_ROOT, 'assets'), path.join(work, 'dist')).catch((err) => {
      throw new Error(`deploy failed after ${JSON.stringify(api.requests)}: ${err}`);
    });
    expect(result?.buildSid).toMatch(/^ZB/);

    const manifest = JSON.parse(fs.readFileSync(path.join(work, 'dist', 'assets', MANIFEST_FILE_NAME), 'utf8'));
    const expectedAssets = [
      ...Object.values(manifest.entries as Record<string, { path: string; visibility: string; bytes: number }>).map((e) => ({ path: e.path, visibility: e.visibility, bytes: e.bytes })),
      { path: '/media-manifest.json', visibility: 'private', bytes: fs.statSync(path.join(work, 'dist', 'assets', MANIFEST_FILE_NAME)).size },
    ];
    const assets = api.uploads.filter((u) => u.kind === 'Assets').map(({ path: p, visibility, bytes }) => ({ path: p, visibility, bytes }));
    expect(assets.sort((a, b) => a.path.localeCompare(b.path))).toEqual(expectedAssets.sort((a, b) => a.path.localeCompare(b.path)));
    expect(assets.map((a) => a.path)).toEqual(expect.arrayContaining([expect.stringMatching(/^\/audio\/greeting\.[0-9a-f]{12}\.wav$/)]));

    const functions = api.uploads.filter((u) => u.kind === 'Functions').map((u) => `${u.path} ${u.visibility}`).sort();
    expect(functions).toEqual(expect.arrayContaining(['/health public', '/media public', '/mms/inbound protected', '/studio/media-url public', '/voice/greeting public']));
    const built: string[] = [];
    const walk = (dir: string, prefix: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name), `${prefix}/${e.name}`);
        else built.push(`${prefix}/${e.name}`);
      }
    };
    walk(path.join(work, 'dist', 'functions'), '');
    expect(functions).toHaveLength(built.length);
    // sources are never uploaded
    expect(api.uploads.some((u) => u.path.endsWith('.ts') || u.path.includes('.protected') || u.path.includes('.private'))).toBe(false);
  });

  it('refuses an over-limit tree before any request is made', async () => {
    const api = fakeServerlessApi();
    const assetsDir = path.join(work, 'too-big');
    fs.mkdirSync(assetsDir, { recursive: true });
    fs.writeFileSync(path.join(assetsDir, 'video.mp4'), '');
    fs.truncateSync(path.join(assetsDir, 'video.mp4'), 26 * MB);
    await expect(buildAndDeploy(work, assetsDir, path.join(work, 'dist-over'))).rejects.toBeInstanceOf(AssetLimitError);
    expect(api.requests).toEqual([]);
    expect(fs.existsSync(path.join(work, 'dist-over'))).toBe(false);
  });
});
