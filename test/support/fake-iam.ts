import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeHost, startFakeHost } from './fake-host';
import { RunningRuntime, startRuntime, StartOptions, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN } from './runtime';

/**
 * Test-only preload for the twilio-run process: twilio-flex-token-validator calls
 * https.request({hostname: 'iam.twilio.com', port: 443, ...}) with no way to change the host, so inside that
 * process the call is sent to a fake IAM on loopback instead. Everything else of the validator (request, basic
 * auth, body, parsing, error handling) and of the Function runs as deployed.
 */
const IAM_REDIRECT = `
const http = require('node:http');
const https = require('node:https');
const target = new URL(process.env.FLEX_TEST_FAKE_IAM_URL);
const original = https.request;
https.request = function (options, ...rest) {
  if (options && typeof options === 'object' && !(options instanceof URL) && /^iam(\\.[a-z0-9]+)?\\.twilio\\.com$/.test(options.hostname || '')) {
    const redirected = { ...options, protocol: 'http:', hostname: target.hostname, port: target.port, agent: false };
    return http.request(redirected, ...rest);
  }
  return original.call(this, options, ...rest);
};
`;

/** Starts twilio-run with the IAM redirect preloaded. */
export async function startWithIam(iamUrl: string, options: StartOptions = {}): Promise<RunningRuntime> {
  const preloadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-iam-'));
  const preload = path.join(preloadDir, 'iam-redirect.cjs');
  fs.writeFileSync(preload, IAM_REDIRECT);
  // twilio-run inherits this process's environment; restore it once the runtime is up.
  const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, FLEX_TEST_FAKE_IAM_URL: process.env.FLEX_TEST_FAKE_IAM_URL };
  process.env.NODE_OPTIONS = [saved.NODE_OPTIONS, `--require ${preload}`].filter(Boolean).join(' ');
  process.env.FLEX_TEST_FAKE_IAM_URL = iamUrl;
  try {
    const runtime = await startRuntime(options);
    return {
      ...runtime,
      stop: async () => {
        await runtime.stop();
        fs.rmSync(preloadDir, { recursive: true, force: true });
      },
    };
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/**
 * A fake Twilio IAM answering Tokens/validate like the real one, only to the test account's credentials:
 * "agent-token" (and any token starting with it, so a test can start with an uncached one) and "slow-token" (8 s)
 * are valid, "expired-token" expired, anything else invalid.
 */
export function startFakeIam(): Promise<FakeHost> {
  const basic = `Basic ${Buffer.from(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64')}`;
  return startFakeHost(async (req, res, body) => {
    if (req.url !== `/v1/Accounts/${TEST_ACCOUNT_SID}/Tokens/validate` || req.headers.authorization !== basic) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 20003, message: 'Authenticate', status: 401 }));
      return;
    }
    const { token } = JSON.parse(body.toString('utf8')) as { token: string };
    if (token === 'slow-token') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 8000);
        req.socket.once('close', () => (clearTimeout(timer), resolve()));
      });
    }
    const verdict =
      token.startsWith('agent-token') || token === 'slow-token'
        ? { valid: true, code: 0, message: null, identity: 'agent_alice', roles: ['agent'] }
        : token === 'expired-token'
          ? { valid: false, code: 20104, message: 'Expired token' }
          : { valid: false, code: 20151, message: 'Invalid token' };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(verdict));
  });
}
