import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeployInfoError, parseDeployInfo, readDeployInfo } from '../../src/lib/deploy-info';

// .twiliodeployinfo as twilio-run (and the Twilio CLI's plugin) writes it: {"USERNAME:REGION": {serviceSid, latestBuild}}
const SERVICE = `ZS${'a'.repeat(32)}`;
const BUILD = `ZB${'b'.repeat(32)}`;
const ACCOUNT = `AC${'c'.repeat(32)}`;
const info = (key: string, entry: object = { serviceSid: SERVICE, latestBuild: BUILD }) =>
  JSON.stringify({ [key]: entry });

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DeployInfoError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('.twiliodeployinfo', () => {
  it("takes the entry written for the username and region, or an older file's username-only key", () => {
    expect(parseDeployInfo(info(`${ACCOUNT}:us1`), ACCOUNT)).toEqual({ serviceSid: SERVICE, latestBuild: BUILD });
    expect(parseDeployInfo(info(`${ACCOUNT}:au1`), ACCOUNT, 'au1').serviceSid).toBe(SERVICE);
    expect(parseDeployInfo(info(ACCOUNT), ACCOUNT).serviceSid).toBe(SERVICE);
    // an API key deploys under its own name, not the account's
    expect(parseDeployInfo(info('SK1:us1'), 'SK1').serviceSid).toBe(SERVICE);
    expect(parseDeployInfo(info(`${ACCOUNT}:us1`, { serviceSid: SERVICE }), ACCOUNT).latestBuild).toBeUndefined();
  });

  it('names what is wrong, ending with what else the caller accepts', () => {
    const hint = ', or pass --service-sid';
    expect(refusal(() => parseDeployInfo(undefined, ACCOUNT, undefined, hint))).toBe(
      '.twiliodeployinfo does not exist: deploy first (`twilio serverless:deploy` or `npm run deploy` writes it), or pass --service-sid',
    );
    expect(refusal(() => parseDeployInfo('{not json', ACCOUNT))).toContain('.twiliodeployinfo is not valid JSON');
    expect(refusal(() => parseDeployInfo(info(`${ACCOUNT}:us1`), ACCOUNT, 'ie1'))).toContain(
      `has no deploy for ${ACCOUNT}:ie1 (it lists ${ACCOUNT}:us1)`,
    );
    expect(refusal(() => parseDeployInfo(info('SKother:us1'), 'AC1'))).toContain(
      'has no deploy for AC1:us1 (it lists SKother:us1)',
    );
    expect(refusal(() => parseDeployInfo(info(`${ACCOUNT}:us1`, { serviceSid: 'ZS1' }), ACCOUNT))).toContain(
      'has no deploy for',
    );
    expect(refusal(() => parseDeployInfo('null', ACCOUNT))).toContain('(it lists none)');
  });

  it('is read from the project folder; a missing file is the "deploy first" refusal', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-deployinfo-'));
    expect(refusal(() => readDeployInfo(dir, ACCOUNT))).toContain('does not exist: deploy first');
    fs.writeFileSync(path.join(dir, '.twiliodeployinfo'), info(`${ACCOUNT}:us1`));
    expect(readDeployInfo(dir, ACCOUNT)).toEqual({ serviceSid: SERVICE, latestBuild: BUILD });
  });
});
