import { fetchSettingsFrom } from '../../src/lib/fetch/settings';
import { parseFlexConfig } from '../../src/lib/flex/config';
import { checkFlexToken } from '../../src/lib/flex/token';
import { baseUrlFrom, credentialsFrom, requireCredentials, SettingsError, wholeNumber } from '../../src/lib/settings';

const MS = { fallback: 8000, max: 9500, unit: 'milliseconds' };

describe('the number rule', () => {
  it('takes decimal digits within the bounds, the fallback when unset or empty', () => {
    expect(wholeNumber('X_MS', '1200', MS)).toBe(1200);
    expect(wholeNumber('X_MS', ' 9500 ', MS)).toBe(9500);
    expect(wholeNumber('X_MS', undefined, MS)).toBe(8000);
    expect(wholeNumber('X_MS', '', MS)).toBe(8000);
  });
  it.each(['1e3', '0x400', '1.5', '-1', '0', '9501', ' ', 'abc', '1_000', '99999999999999999999'])(
    'refuses "%s" naming the variable',
    (raw) => {
      expect(() => wholeNumber('X_MS', raw, MS)).toThrow(
        new SettingsError('X_MS', `X_MS must be a whole number of milliseconds from 1 to 9500, got "${raw.trim()}"`),
      );
    },
  );
  it('is the rule of every reader: the fetch settings and the Flex bounds refuse the same values', () => {
    for (const raw of ['1e3', '0x400']) {
      expect(() => fetchSettingsFrom({ MEDIA_FETCH_DEADLINE_MS: raw })).toThrow(
        /^MEDIA_FETCH_DEADLINE_MS must be a whole number/,
      );
      expect(() => parseFlexConfig({ FLEX_TOKEN_TIMEOUT_MS: raw })).toThrow(
        /^FLEX_TOKEN_TIMEOUT_MS must be a whole number/,
      );
    }
  });
});

describe('the credential rule', () => {
  it('an API key when set, else the account; nothing set is no credentials', () => {
    expect(credentialsFrom({ ACCOUNT_SID: 'AC1', AUTH_TOKEN: 't' })).toEqual({
      accountSid: 'AC1',
      username: 'AC1',
      password: 't',
      kind: 'AUTH_TOKEN',
    });
    expect(credentialsFrom({ ACCOUNT_SID: 'AC1', AUTH_TOKEN: 't', API_KEY: 'SK1', API_SECRET: 's' })).toEqual({
      accountSid: 'AC1',
      username: 'SK1',
      password: 's',
      kind: 'API_KEY',
    });
    expect(credentialsFrom({})).toBeUndefined();
  });
  it.each([
    [{ ACCOUNT_SID: 'AC1', AUTH_TOKEN: 't', API_KEY: 'SK1' }, 'API_SECRET'],
    [{ ACCOUNT_SID: 'AC1', AUTH_TOKEN: 't', API_SECRET: 's' }, 'API_KEY'],
    [{ ACCOUNT_SID: 'AC1' }, 'AUTH_TOKEN'],
    [{ AUTH_TOKEN: 't' }, 'ACCOUNT_SID'],
  ])('half a pair %j is an error naming %s', (env, missing) => {
    expect(() => credentialsFrom(env)).toThrow(
      expect.objectContaining({
        variable: missing,
        message: expect.stringMatching(new RegExp(`^${missing} is not set`)),
      }),
    );
  });

  // issue 13: API_KEY without API_SECRET made media fetches silently unauthenticated, while `npm run recordings`
  // refused the same setting. Every caller now refuses it with the same message.
  it('every caller refuses API_KEY without API_SECRET the same way', async () => {
    const env = { ACCOUNT_SID: 'AC1', AUTH_TOKEN: 't', API_KEY: 'SK1' };
    const message = 'API_SECRET is not set, but API_KEY is: set both, or neither';
    expect(() => fetchSettingsFrom(env)).toThrow(message);
    expect(() => requireCredentials(env)).toThrow(message);
    const validate = jest.fn();
    const verdict = await checkFlexToken('token', env, { timeoutMs: 1000, validate });
    expect(verdict).toMatchObject({
      ok: false,
      status: 500,
      reason: 'config',
      message: expect.stringContaining(message),
    });
    expect(validate).not.toHaveBeenCalled();
  });
  it('requireCredentials needs the account SID even with an API key', () => {
    expect(() => requireCredentials({})).toThrow(/^ACCOUNT_SID is not set/);
    expect(() => requireCredentials({ API_KEY: 'SK1', API_SECRET: 's' })).toThrow(/^ACCOUNT_SID is not set/);
    expect(requireCredentials({ ACCOUNT_SID: 'AC1', API_KEY: 'SK1', API_SECRET: 's' })).toMatchObject({
      accountSid: 'AC1',
      username: 'SK1',
    });
  });
});

describe('the base-URL rule', () => {
  it('https for the deployed domain, http for the local runtime, the override when set', () => {
    expect(baseUrlFrom({ DOMAIN_NAME: 'media-1234-dev.twil.io' }, 'WEBHOOK_BASE_URL')).toBe(
      'https://media-1234-dev.twil.io',
    );
    expect(baseUrlFrom({ DOMAIN_NAME: 'localhost:3000' }, 'WEBHOOK_BASE_URL')).toBe('http://localhost:3000');
    expect(baseUrlFrom({ DOMAIN_NAME: '127.0.0.1:3000' }, 'WEBHOOK_BASE_URL')).toBe('http://127.0.0.1:3000');
    expect(
      baseUrlFrom({ DOMAIN_NAME: 'localhost:3000', WEBHOOK_BASE_URL: 'https://abc.ngrok.app/' }, 'WEBHOOK_BASE_URL'),
    ).toBe('https://abc.ngrok.app');
  });
  it('an error naming the variable: DOMAIN_NAME unset, an override that is not an http(s) URL', () => {
    expect(() => baseUrlFrom({}, 'WEBHOOK_BASE_URL')).toThrow(expect.objectContaining({ variable: 'DOMAIN_NAME' }));
    expect(() => baseUrlFrom({ WEBHOOK_BASE_URL: 'abc.ngrok.app' }, 'WEBHOOK_BASE_URL')).toThrow(
      /^WEBHOOK_BASE_URL "abc.ngrok.app" is not an absolute http\(s\) URL/,
    );
    expect(() => baseUrlFrom({ PROTECTED_ASSET_BASE_URL: 'ftp://x' }, 'PROTECTED_ASSET_BASE_URL')).toThrow(
      expect.objectContaining({ variable: 'PROTECTED_ASSET_BASE_URL' }),
    );
  });
});
