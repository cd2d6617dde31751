// Test-only preload (node -r) for `twilio serverless:new`: the Twilio CLI's serverless plugin downloads a template
// from GitHub (the contents API of twilio-labs/function-templates, then each file's raw URL). In this process nock
// answers those requests from FAKE_FUNCTION_TEMPLATES_DIR, laid out as that repository is (TEMPLATE/functions/...,
// and TEMPLATE/.env.example, which the plugin takes as the template's .env: a fixture named .env would be ignored
// by git), and refuses any other connection off loopback. The plugin's code runs unchanged.

const fs = require('node:fs');
const path = require('node:path');
const { nock } = require('./loopback-nock.cjs');

const root = process.env.FAKE_FUNCTION_TEMPLATES_DIR;
if (!root) throw new Error('FAKE_FUNCTION_TEMPLATES_DIR is not set');
const REPO = 'twilio-labs/function-templates';
const CONTENTS = `/repos/${REPO}/contents/`;
const RAW = `/${REPO}/main/`;

/** The file or folder a request names, inside root only. */
function local(rel) {
  const file = path.resolve(root, decodeURIComponent(rel));
  return file.startsWith(path.resolve(root) + path.sep) ? file : undefined;
}

/** The path a request names (nock 15 hands a reply function the request itself). */
const pathOf = (req) => new URL(typeof req === 'string' ? req : req.url, 'https://github.invalid').pathname;

nock('https://api.github.com')
  .persist()
  .get((uri) => uri.startsWith(CONTENTS))
  .reply((req) => {
    const rel = pathOf(req).slice(CONTENTS.length);
    const dir = local(rel);
    if (!dir || !fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return [404, { message: 'Not Found' }];
    const entries = fs.readdirSync(dir, { withFileTypes: true }).map((e) => ({
      name: e.name,
      type: e.isDirectory() ? 'dir' : 'file',
      url: `https://api.github.com${CONTENTS}${rel}/${e.name}?ref=main`,
      download_url: e.isDirectory() ? null : `https://raw.githubusercontent.com${RAW}${rel}/${e.name}`,
    }));
    return [200, entries];
  });

nock('https://raw.githubusercontent.com')
  .persist()
  .get((uri) => uri.startsWith(RAW))
  .reply((req) => {
    const file = local(pathOf(req).slice(RAW.length));
    if (!file || !fs.existsSync(file)) return [404, '404: Not Found'];
    return [200, fs.readFileSync(file)];
  });
