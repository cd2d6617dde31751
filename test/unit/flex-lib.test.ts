import { assetBaseUrl, normalizeOrigin, parseAllowedOrigins, parseFlexConfig } from '../../src/lib/flex/config';
import { SettingsError } from '../../src/lib/settings';
import { corsHeaders } from '../../src/lib/flex/cors';
import { signedAssetRequest } from '../../src/lib/flex/fetch-asset';
import { checkFlexToken, classifyRejection } from '../../src/lib/flex/token';
import twilio from 'twilio';
import type { ManifestEntry } from '../../src/lib/manifest';

describe('Flex settings', () => {
  it('defaults: flex.twilio.com, 3 s token bound, 5 s fetch bound', () => {
    expect(parseFlexConfig({})).toEqual({
      allowedOrigins: ['https://flex.twilio.com'],
      tokenTimeoutMs: 3000,
      fetchTimeoutMs: 5000,
      tokenCacheMs: 60000,
    });
  });
  it('origins are normalised and refused when not an origin', () => {
    expect(normalizeOrigin('HTTPS://Flex.Twilio.com:443/')).toBe('https://flex.twilio.com');
    expect(normalizeOrigin('https://flex.twilio.com/path')).toBeNull();
    expect(normalizeOrigin('ftp://x')).toBeNull();
    expect(() => parseAllowedOrigins('https://a.example, *')).toThrow(/FLEX_ALLOWED_ORIGINS: "\*"/);
  });
  it('both bounds together must leave the Function time to answer', () => {
    expect(() => parseFlexConfig({ FLEX_TOKEN_TIMEOUT_MS: '5000', FLEX_ASSET_FETCH_TIMEOUT_MS: '5000' })).toThrow(
      SettingsError,
    );
    expect(() => parseFlexConfig({ FLEX_TOKEN_TIMEOUT_MS: '1.5' })).toThrow(/FLEX_TOKEN_TIMEOUT_MS/);
  });
  it('asset base URL: https for a deployed domain, http for twilio-run, the override when set', () => {
    expect(assetBaseUrl({ DOMAIN_NAME: 'media-1234-dev.twil.io' })).toBe('https://media-1234-dev.twil.io');
    expect(assetBaseUrl({ DOMAIN_NAME: 'localhost:3000' })).toBe('http://localhost:3000');
    expect(assetBaseUrl({ DOMAIN_NAME: 'x.twil.io', PROTECTED_ASSET_BASE_URL: 'http://127.0.0.1:9/' })).toBe(
      'http://127.0.0.1:9',
    );
    expect(() => assetBaseUrl({})).toThrow(/DOMAIN_NAME/);
    expect(() => assetBaseUrl({ PROTECTED_ASSET_BASE_URL: 'not a url' })).toThrow(/PROTECTED_ASSET_BASE_URL/);
  });
});

describe('CORS grant', () => {
  it('grants only a listed origin, always says Vary: Origin', () => {
    expect(corsHeaders('https://flex.twilio.com', ['https://flex.twilio.com'])).toMatchObject({
      'Access-Control-Allow-Origin': 'https://flex.twilio.com',
      Vary: 'Origin',
    });
    expect(corsHeaders('https://flex.twilio.com.evil.example', ['https://flex.twilio.com'])).toEqual({
      Vary: 'Origin',
    });
    expect(corsHeaders('null', ['https://flex.twilio.com'])).toEqual({ Vary: 'Origin' });
    expect(corsHeaders(undefined, ['https://flex.twilio.com'])).toEqual({ Vary: 'Origin' });
  });
});

describe('token verdicts', () => {
  it('tells an unreachable service from a refused token', () => {
    expect(classifyRejection('getaddrinfo ENOTFOUND iam.twilio.com')).toMatchObject({
      status: 503,
      reason: 'unreachable',
    });
    expect(classifyRejection('socket hang up')).toMatchObject({ status: 503 });
    expect(classifyRejection('Unexpected token < in JSON at position 0')).toMatchObject({ status: 503 });
    expect(classifyRejection('Authenticate')).toMatchObject({ status: 500, reason: 'config' });
    expect(classifyRejection('Expired token')).toMatchObject({ status: 403, reason: 'expired' });
    expect(classifyRejection('Invalid token')).toMatchObject({ status: 403, reason: 'invalid' });
    expect(classifyRejection(undefined)).toMatchObject({ status: 403, reason: 'invalid' });
  });

  it('a validator that never settles is cut at the bound', async () => {
    const verdict = await checkFlexToken(
      't',
      { ACCOUNT_SID: 'AC1', AUTH_TOKEN: 'x' },
      { timeoutMs: 20, validate: () => new Promise(() => undefined) },
    );
    expect(verdict).toMatchObject({ ok: false, status: 504, reason: 'timeout' });
  });

  it('a late rejection after the bound is swallowed, not unhandled', async () => {
    // the validator rejects with a bare string, as twilio-flex-token-validator does
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const late = new Promise<object>((_, reject) => setTimeout(() => reject('Invalid token'), 40));
    const verdict = await checkFlexToken(
      't',
      { ACCOUNT_SID: 'AC1', AUTH_TOKEN: 'x' },
      { timeoutMs: 5, validate: () => late },
    );
    expect(verdict).toMatchObject({ status: 504 });
    await new Promise((r) => setTimeout(r, 60));
  });

  it('missing credentials fail closed with 500 naming the variable, without calling the validator', async () => {
    const validate = jest.fn();
    expect(await checkFlexToken('t', { AUTH_TOKEN: 'x' }, { timeoutMs: 100, validate })).toMatchObject({
      status: 500,
      message: expect.stringContaining('ACCOUNT_SID'),
    });
    expect(await checkFlexToken('t', { ACCOUNT_SID: 'AC1' }, { timeoutMs: 100, validate })).toMatchObject({
      status: 500,
      message: expect.stringContaining('AUTH_TOKEN'),
    });
    expect(validate).not.toHaveBeenCalled();
  });

  it('a valid answer carries the identity, worker and roles', async () => {
    const verdict = await checkFlexToken(
      't',
      { ACCOUNT_SID: 'AC1', AUTH_TOKEN: 'x' },
      {
        timeoutMs: 100,
        validate: async () => ({
          valid: true,
          identity: 'alice',
          worker_sid: 'WK1',
          roles: ['agent'],
          expiration: '2099-01-01T00:00:00Z',
        }),
      },
    );
    expect(verdict).toEqual({
      ok: true,
      identity: 'alice',
      workerSid: 'WK1',
      roles: ['agent'],
      expiresAt: Date.parse('2099-01-01T00:00:00Z'),
    });
  });
});

describe('signed asset request', () => {
  it('signs the full URL with the Auth Token, as Twilio does for its own fetches', () => {
    const entry = { path: '/docs/agent-guide.0123456789ab.pdf' } as ManifestEntry;
    const { url, headers } = signedAssetRequest(entry, 'https://media-1234-dev.twil.io', 'secret');
    expect(url).toBe('https://media-1234-dev.twil.io/docs/agent-guide.0123456789ab.pdf');
    expect(twilio.validateRequest('secret', headers['X-Twilio-Signature'], url, {})).toBe(true);
    expect(twilio.validateRequest('other', headers['X-Twilio-Signature'], url, {})).toBe(false);
    expect(signedAssetRequest(entry, 'https://x', undefined).headers).toEqual({});
  });
});
