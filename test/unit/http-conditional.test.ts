import { evaluatePreconditions, evaluateRange, parseEntityTags, strongMatch, weakMatch } from '../../src/lib/http/conditional';
import { serviceBaseUrl } from '../../src/lib/media/urls';

const current = { etag: '"sha256-abc"', lastModified: 'Tue, 24 Nov 2026 10:00:00 GMT' };

describe('entity tags', () => {
  it('parses lists, keeping commas inside quotes and weak prefixes', () => {
    expect(parseEntityTags('"a", W/"b,c" ,"d"')).toEqual(['"a"', 'W/"b,c"', '"d"']);
    expect(parseEntityTags('*')).toEqual(['*']);
    expect(parseEntityTags('garbage')).toEqual([]);
  });
  it('compares as RFC 9110 8.8.3.2 says', () => {
    expect(strongMatch('"1"', '"1"')).toBe(true);
    expect(strongMatch('W/"1"', '"1"')).toBe(false);
    expect(weakMatch('W/"1"', '"1"')).toBe(true);
    expect(weakMatch('"1"', '"2"')).toBe(false);
  });
});

describe('evaluatePreconditions (RFC 9110 13.2.2 order)', () => {
  it('checks If-Match before If-None-Match', () => {
    expect(evaluatePreconditions({ 'if-match': '"x"', 'if-none-match': current.etag }, current)).toEqual({ outcome: 'precondition-failed', header: 'If-Match' });
  });
  it('ignores an invalid If-Unmodified-Since and If-Modified-Since', () => {
    expect(evaluatePreconditions({ 'if-unmodified-since': 'soon', 'if-modified-since': 'later' }, current)).toEqual({ outcome: 'proceed' });
  });
  it('compares dates at one-second granularity', () => {
    expect(evaluatePreconditions({ 'if-modified-since': 'Tue, 24 Nov 2026 10:00:00 GMT' }, current).outcome).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-modified-since': 'Tue, 24 Nov 2026 09:59:59 GMT' }, current).outcome).toBe('proceed');
  });
  it('does not let a request Cache-Control: no-cache defeat validation (unlike fresh)', () => {
    expect(evaluatePreconditions({ 'if-none-match': current.etag, 'cache-control': 'no-cache' }, current).outcome).toBe('not-modified');
  });
});

describe('evaluateRange', () => {
  it('handles single, suffix, open, unsatisfiable and ignored ranges', () => {
    expect(evaluateRange({ range: 'bytes=0-0' }, 10, current)).toEqual({ outcome: 'partial', start: 0, end: 0 });
    expect(evaluateRange({ range: 'bytes=5-' }, 10, current)).toEqual({ outcome: 'partial', start: 5, end: 9 });
    expect(evaluateRange({ range: 'bytes=5-100' }, 10, current)).toEqual({ outcome: 'partial', start: 5, end: 9 });
    expect(evaluateRange({ range: 'bytes=10-' }, 10, current)).toEqual({ outcome: 'unsatisfiable' });
    expect(evaluateRange({ range: 'bytes=0-1,3-4' }, 10, current)).toEqual({ outcome: 'full' });
    expect(evaluateRange({ range: 'bytes=0-1,1-4' }, 10, current)).toEqual({ outcome: 'partial', start: 0, end: 4 });
    expect(evaluateRange({}, 10, current)).toEqual({ outcome: 'full' });
  });
});

describe('serviceBaseUrl', () => {
  it('uses https for the deployed domain, http for the local runtime, and the override when set', () => {
    expect(serviceBaseUrl('media-1234-dev.twil.io')).toBe('https://media-1234-dev.twil.io');
    expect(serviceBaseUrl('localhost:3000')).toBe('http://localhost:3000');
    expect(serviceBaseUrl('localhost:3000', 'https://abc.ngrok.app/')).toBe('https://abc.ngrok.app');
    expect(() => serviceBaseUrl(undefined)).toThrow(/DOMAIN_NAME/);
  });
});
