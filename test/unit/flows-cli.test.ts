import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/commands/flows';

const CREDS = { ACCOUNT_SID: 'AC00000000000000000000000000000000', AUTH_TOKEN: 'token' };

async function runFlows(
  argv: string[],
  env: NodeJS.ProcessEnv = CREDS,
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-flows-cli-')),
) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { env, cwd, out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('flows commands: bad arguments and configuration exit 2 naming the flag, file or variable', () => {
  it.each<[string[], RegExp]>([
    [[], /a command is needed/],
    [['publish'], /unknown command "publish"/],
    [['deploy', '--yes'], /unknown option "--yes" for deploy/],
    [['pull'], /pull takes exactly one flow NAME/],
    [['pull', 'ivr', '--publish'], /unknown option "--publish" for pull/],
    [['deploy', '../etc'], /"\.\.\/etc" is not a flow name/],
    [['deploy', '--service-sid', 'ZS123'], /--service-sid: "ZS123" is not a service SID/],
    [['deploy', '--service-sid', `ZS${'0'.repeat(32)}`], /--service-sid needs --environment/],
    [['deploy', '--message'], /--message needs a value/],
  ])('%j', async (argv, message) => {
    const r = await runFlows(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/usage: npm run flows:deploy/);
  });

  it('half a credential pair names the missing variable', async () => {
    const r = await runFlows(['deploy'], { ACCOUNT_SID: CREDS.ACCOUNT_SID });
    expect(r).toMatchObject({ code: 2 });
    expect(r.err).toMatch(/AUTH_TOKEN is not set, but ACCOUNT_SID is/);
  });

  it('a bad base URL override names the variable', async () => {
    const r = await runFlows(['deploy'], { ...CREDS, TWILIO_STUDIO_BASE_URL: 'studio.local' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/TWILIO_STUDIO_BASE_URL "studio\.local" is not an absolute http\(s\) URL/);
  });

  it('without a deploy there is no .twiliodeployinfo to read, and nothing is asked of Twilio', async () => {
    const r = await runFlows(['deploy'], { ...CREDS, TWILIO_SERVERLESS_BASE_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\.twiliodeployinfo does not exist: deploy first/);
  });
});
