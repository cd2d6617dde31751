// Test-only preload (node -r) for a `twilio-run deploy` child process. The Serverless API's hosts cannot be
// configured (serverless-api builds https://serverless.twilio.com itself), so in this process nock hands every
// request for them to the fake Serverless API on loopback (FAKE_SERVERLESS_API_URL), keeping the original host
// in x-original-host, and refuses any other connection off loopback. twilio-run's code runs unchanged.

const { nock } = require('./loopback-nock.cjs');
const target = process.env.FAKE_SERVERLESS_API_URL;
if (!target) throw new Error('FAKE_SERVERLESS_API_URL is not set');

const FORWARDED = ['authorization', 'content-type', 'user-agent', 'accept'];

async function forward(req) {
  const url = new URL(req.url);
  const headers = { 'x-original-host': url.host };
  for (const name of FORWARDED) {
    const value = req.headers.get(name);
    if (value) headers[name] = value;
  }
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.from(await req.arrayBuffer());
  const res = await fetch(`${target}${url.pathname}${url.search}`, { method: req.method, headers, body });
  return [
    res.status,
    Buffer.from(await res.arrayBuffer()),
    { 'content-type': res.headers.get('content-type') ?? 'application/json' },
  ];
}

for (const origin of ['https://serverless.twilio.com', 'https://serverless-upload.twilio.com']) {
  const scope = nock(origin).persist();
  for (const method of ['get', 'post', 'delete']) scope[method](() => true).reply(forward);
}
