import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeployInfoError, findDeployedService, ServiceQuery } from '../../src/lib/deploy-info';
import { credentialsWithSource, requireCredentials, SettingsError } from '../../src/lib/settings';
import { chooseEnvFile, envFileOf } from '../../src/deploy/environments';
import { deployVariableProblems } from '../../src/deploy/variables';

const ACCOUNT = `AC${'1'.repeat(32)}`;
const KEY = `SK${'2'.repeat(32)}`;
const SERVICE = `ZS${'3'.repeat(32)}`;

describe('the one credential rule, with the Twilio CLI variables first', () => {
  it("takes TWILIO_ACCOUNT_SID with TWILIO_API_KEY and TWILIO_API_SECRET over the env files' pair", () => {
    const env = {
      TWILIO_ACCOUNT_SID: ACCOUNT,
      TWILIO_API_KEY: KEY,
      TWILIO_API_SECRET: 'key-secret',
      ACCOUNT_SID: `AC${'9'.repeat(32)}`,
      AUTH_TOKEN: 'file-token',
    };
    expect(credentialsWithSource(env)).toEqual({
      accountSid: ACCOUNT,
      username: KEY,
      password: 'key-secret',
      kind: 'API_KEY',
      from: 'TWILIO_*',
    });
  });

  it('needs no Auth Token with an API key, from either layer', () => {
    expect(
      requireCredentials({ TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_API_KEY: KEY, TWILIO_API_SECRET: 's' }),
    ).toMatchObject({ accountSid: ACCOUNT, username: KEY, kind: 'API_KEY' });
    expect(requireCredentials({ ACCOUNT_SID: ACCOUNT, API_KEY: KEY, API_SECRET: 's' })).toMatchObject({
      accountSid: ACCOUNT,
      username: KEY,
      from: 'env file',
    });
  });

  it("takes the Twilio CLI's TWILIO_AUTH_TOKEN pair too, and falls back to the env files when no TWILIO_* is set", () => {
    expect(credentialsWithSource({ TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_AUTH_TOKEN: 't' })).toMatchObject({
      username: ACCOUNT,
      kind: 'AUTH_TOKEN',
      from: 'TWILIO_*',
    });
    expect(credentialsWithSource({ ACCOUNT_SID: ACCOUNT, AUTH_TOKEN: 't' })).toMatchObject({ from: 'env file' });
  });

  it.each([
    [{ TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_API_KEY: KEY }, 'TWILIO_API_SECRET'],
    [{ TWILIO_ACCOUNT_SID: ACCOUNT }, 'TWILIO_AUTH_TOKEN'],
    [{ TWILIO_API_SECRET: 's', ACCOUNT_SID: ACCOUNT, AUTH_TOKEN: 't' }, 'TWILIO_API_KEY'],
  ])('half a TWILIO_* pair %j is refused naming %s, never a quiet fall back to the env file', (env, missing) => {
    expect(() => credentialsWithSource(env)).toThrow(
      expect.objectContaining({
        variable: missing,
        message: expect.stringMatching(new RegExp(`^${missing} is not set`)),
      }),
    );
  });

  it('names every variable it looked for, in one line, when there is none', () => {
    let error: unknown;
    try {
      requireCredentials({});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as Error).message).toBe(
      'ACCOUNT_SID is not set, nor any Twilio credential: looked for TWILIO_ACCOUNT_SID with TWILIO_API_KEY and TWILIO_API_SECRET (or TWILIO_AUTH_TOKEN) in the environment, then ACCOUNT_SID with API_KEY and API_SECRET or AUTH_TOKEN in the env files',
    );
  });

  it('a deploying credential in an uploaded env file is refused by name', () => {
    for (const name of ['TWILIO_ACCOUNT_SID', 'TWILIO_API_KEY', 'TWILIO_API_SECRET', 'TWILIO_AUTH_TOKEN']) {
      expect(deployVariableProblems({ [name]: 'x' }, '.env.prod')).toEqual([
        expect.stringMatching(new RegExp(`^\\.env\\.prod: ${name} is a deploying credential`)),
      ]);
    }
    // the Functions' own API key stays a Function variable
    expect(deployVariableProblems({ API_KEY: KEY, API_SECRET: 's' }, '.env')).toEqual([]);
  });
});

describe('the env file of each environment', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-envfiles-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('is .env for dev, .env.prod for production and prod, .env.SUFFIX for the others', () => {
    expect([envFileOf('dev'), envFileOf(''), envFileOf('prod'), envFileOf('stage')]).toEqual([
      '.env',
      '.env.prod',
      '.env.prod',
      '.env.stage',
    ]);
  });

  it('is chosen by the convention when --env is left out, and must then exist (but for dev)', () => {
    expect(chooseEnvFile(root, 'dev', undefined)).toEqual({ envFile: '.env', byConvention: true });
    expect(() => chooseEnvFile(root, 'stage', undefined)).toThrow(
      /the environment stage reads its variables from \.env\.stage, which does not exist/,
    );
    fs.writeFileSync(path.join(root, '.env.stage'), '');
    expect(chooseEnvFile(root, 'stage', undefined)).toEqual({ envFile: '.env.stage', byConvention: true });
  });

  it("refuses another environment's file by its name, and takes a name outside the convention as the team's choice", () => {
    expect(() => chooseEnvFile(root, '', '.env')).toThrow(
      /\.env holds the variables of dev, not of production \(no domain suffix\): pass --env \.env\.prod/,
    );
    expect(() => chooseEnvFile(root, 'prod', 'config/.env.stage')).toThrow(/holds the variables of stage, not of prod/);
    expect(() => chooseEnvFile(root, 'dev', '.env.local')).toThrow(/never uploaded/);
    expect(chooseEnvFile(root, 'prod', '.env.prod')).toEqual({ envFile: '.env.prod', byConvention: false });
    expect(chooseEnvFile(root, '', '.env.prod').byConvention).toBe(false);
    expect(chooseEnvFile(root, 'prod', 'ci/prod.env')).toEqual({ envFile: 'ci/prod.env', byConvention: false });
  });
});

describe('finding the Service in a fresh checkout', () => {
  const dir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-service-'));
    fs.writeFileSync(path.join(d, 'package.json'), JSON.stringify({ name: 'my-media' }));
    return d;
  };
  /** a twilio client whose Service fetch answers as `lookup` says: a SID, or Twilio's 404 */
  const query = (cwd: string, lookup: (name: string) => Promise<string | undefined>, username = KEY): ServiceQuery => ({
    cwd,
    credentials: { username, accountSid: ACCOUNT },
    client: {
      serverless: {
        v1: {
          services: (name: string) => ({
            fetch: async () => {
              const sid = await lookup(name);
              if (!sid) throw Object.assign(new Error('The requested resource was not found'), { status: 404 });
              return { sid };
            },
          }),
        },
      },
    },
  });

  it('asks the API by the unique name when there is no .twiliodeployinfo, and says so', async () => {
    const lookup = jest.fn(async (name: string) => (name === 'my-media' ? SERVICE : undefined));
    await expect(findDeployedService(query(dir(), lookup))).resolves.toEqual({
      serviceSid: SERVICE,
      latestBuild: undefined,
      foundBy: 'its unique name "my-media" through the API (no .twiliodeployinfo here)',
    });
    expect(lookup).toHaveBeenCalledWith('my-media');
  });

  it("reads .twiliodeployinfo first, under the account's key when an API key deployed through the Twilio CLI", async () => {
    const cwd = dir();
    fs.writeFileSync(
      path.join(cwd, '.twiliodeployinfo'),
      JSON.stringify({ [`${ACCOUNT}:us1`]: { serviceSid: SERVICE } }),
    );
    const lookup = jest.fn(async () => undefined);
    await expect(findDeployedService(query(cwd, lookup))).resolves.toMatchObject({
      serviceSid: SERVICE,
      foundBy: '.twiliodeployinfo',
    });
    expect(lookup).not.toHaveBeenCalled();
  });

  it('refuses, naming the unique name, when the account has no such Service', async () => {
    const error = await findDeployedService({
      ...query(dir(), async () => undefined),
      hint: ', or pass --service-sid',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployInfoError);
    expect((error as Error).message).toMatch(
      /\.twiliodeployinfo does not exist: deploy first.*; and this account has no Service "my-media" \(its unique name\), or pass --service-sid$/,
    );
  });
});
