import {
  evaluatePreconditions,
  evaluateRange,
  parseEntityTags,
  parseHttpDate,
  strongMatch,
  weakMatch,
} from '../../src/lib/http/conditional';

const current = { etag: '"sha256-abc"', lastModified: 'Tue, 24 Nov 2026 10:00:00 GMT' };
const BEFORE = 'Tue, 24 Nov 2026 09:59:59 GMT';
const SAME = current.lastModified;
const AFTER = 'Tue, 24 Nov 2026 10:00:01 GMT';

describe('entity tags', () => {
  it('parses lists, keeping commas inside quotes and weak prefixes', () => {
    expect(parseEntityTags('"a", W/"b,c" ,"d"')).toEqual(['"a"', 'W/"b,c"', '"d"']);
    expect(parseEntityTags('*')).toEqual(['*']);
    expect(parseEntityTags('""')).toEqual(['""']);
    expect(parseEntityTags('garbage')).toEqual([]);
    expect(parseEntityTags('"a" junk')).toEqual([]);
  });
  it('accepts empty list elements, as RFC 9110 5.6.1.2 requires of a recipient', () => {
    expect(parseEntityTags('"x",,"tag"')).toEqual(['"x"', '"tag"']);
    expect(parseEntityTags(', ,"a" , ,W/"b",')).toEqual(['"a"', 'W/"b"']);
    expect(parseEntityTags(',')).toEqual([]);
  });
  it('compares as RFC 9110 8.8.3.2 says', () => {
    // the table of 8.8.3.2
    expect([strongMatch('W/"1"', 'W/"1"'), weakMatch('W/"1"', 'W/"1"')]).toEqual([false, true]);
    expect([strongMatch('W/"1"', 'W/"2"'), weakMatch('W/"1"', 'W/"2"')]).toEqual([false, false]);
    expect([strongMatch('W/"1"', '"1"'), weakMatch('W/"1"', '"1"')]).toEqual([false, true]);
    expect([strongMatch('"1"', '"1"'), weakMatch('"1"', '"1"')]).toEqual([true, true]);
  });
});

describe('parseHttpDate (RFC 9110 5.6.7)', () => {
  const seconds = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;
  it('accepts IMF-fixdate and the two obsolete forms, all as GMT', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(seconds);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(seconds);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(seconds);
  });
  it('refuses what Date.parse would take but is no HTTP-date, and lists of dates', () => {
    for (const value of [
      '1',
      '2026-11-24',
      'yesterday',
      'Sun, 06 Nov 1994 08:49:37 PST',
      'Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT',
      '',
    ]) {
      expect([value, parseHttpDate(value)]).toEqual([value, undefined]);
    }
  });
});

describe('evaluatePreconditions (RFC 9110 13.2.2 order)', () => {
  const verdict = (headers: Record<string, string | string[]>, validators = current) =>
    evaluatePreconditions(headers, validators);
  const proceed = { outcome: 'proceed' };
  const notModified = { outcome: 'not-modified' };
  const failed = (header: string) => ({ outcome: 'precondition-failed', header });

  it('no precondition: proceed', () => {
    expect(verdict({})).toEqual(proceed);
  });

  describe('step 1: If-Match, strong comparison', () => {
    it('passes on the current strong tag, on *, on a list containing it', () => {
      expect(verdict({ 'if-match': current.etag })).toEqual(proceed);
      expect(verdict({ 'if-match': '*' })).toEqual(proceed);
      expect(verdict({ 'if-match': `"x", ${current.etag}` })).toEqual(proceed);
    });
    it('fails with 412 naming If-Match on another tag, a weak tag of the same value, or a malformed value', () => {
      expect(verdict({ 'if-match': '"x"' })).toEqual(failed('If-Match'));
      expect(verdict({ 'if-match': `W/${current.etag}` })).toEqual(failed('If-Match'));
      expect(verdict({ 'if-match': 'sha256-abc' })).toEqual(failed('If-Match'));
    });
    it('is checked before If-None-Match', () => {
      expect(verdict({ 'if-match': '"x"', 'if-none-match': current.etag })).toEqual(failed('If-Match'));
    });
    it('accepts header names in any case and repeated headers as one list', () => {
      expect(verdict({ 'If-Match': '"x"' })).toEqual(failed('If-Match'));
      expect(verdict({ 'if-match': ['"x"', current.etag] })).toEqual(proceed);
    });
  });

  describe('step 2: If-Unmodified-Since, only without If-Match', () => {
    it('fails when modified after the date, passes at or after Last-Modified', () => {
      expect(verdict({ 'if-unmodified-since': BEFORE })).toEqual(failed('If-Unmodified-Since'));
      expect(verdict({ 'if-unmodified-since': SAME })).toEqual(proceed);
      expect(verdict({ 'if-unmodified-since': AFTER })).toEqual(proceed);
    });
    it('is ignored when If-Match is present, when the date is invalid, or without Last-Modified', () => {
      expect(verdict({ 'if-match': current.etag, 'if-unmodified-since': BEFORE })).toEqual(proceed);
      expect(verdict({ 'if-unmodified-since': '1' })).toEqual(proceed);
      expect(verdict({ 'if-unmodified-since': BEFORE }, { etag: current.etag } as typeof current)).toEqual(proceed);
    });
  });

  describe('step 3: If-None-Match, weak comparison', () => {
    it('gives 304 (not 412) for a GET on the current tag, strong or weak, in a list, or *', () => {
      expect(verdict({ 'if-none-match': current.etag })).toEqual(notModified);
      expect(verdict({ 'if-none-match': `W/${current.etag}` })).toEqual(notModified);
      expect(verdict({ 'if-none-match': `"a", "b", ${current.etag}` })).toEqual(notModified);
      expect(verdict({ 'if-none-match': '*' })).toEqual(notModified);
    });
    it('matches past empty list elements', () => {
      expect(verdict({ 'if-none-match': `"x",,${current.etag}` })).toEqual(notModified);
      expect(verdict({ 'if-none-match': `, ${current.etag}` })).toEqual(notModified);
    });
    it('proceeds when no tag matches', () => {
      expect(verdict({ 'if-none-match': '"a", W/"b"' })).toEqual(proceed);
    });
    it('takes precedence over If-Modified-Since both ways', () => {
      expect(verdict({ 'if-none-match': '"old"', 'if-modified-since': AFTER })).toEqual(proceed);
      expect(verdict({ 'if-none-match': current.etag, 'if-modified-since': BEFORE })).toEqual(notModified);
    });
    it('is evaluated after a passing If-Match / If-Unmodified-Since', () => {
      expect(verdict({ 'if-match': current.etag, 'if-none-match': current.etag })).toEqual(notModified);
      expect(verdict({ 'if-unmodified-since': AFTER, 'if-none-match': current.etag })).toEqual(notModified);
    });
    it('does not let a request Cache-Control: no-cache defeat validation (unlike fresh)', () => {
      expect(verdict({ 'if-none-match': current.etag, 'cache-control': 'no-cache' })).toEqual(notModified);
    });
  });

  describe('step 4: If-Modified-Since, only without If-None-Match', () => {
    it('gives 304 when not modified since the date, at one-second granularity', () => {
      expect(verdict({ 'if-modified-since': SAME })).toEqual(notModified);
      expect(verdict({ 'if-modified-since': AFTER })).toEqual(notModified);
      expect(verdict({ 'if-modified-since': BEFORE })).toEqual(proceed);
    });
    it('is ignored when invalid or without Last-Modified', () => {
      expect(verdict({ 'if-modified-since': 'later' })).toEqual(proceed);
      expect(verdict({ 'if-modified-since': '1' })).toEqual(proceed);
      expect(verdict({ 'if-modified-since': AFTER }, { etag: current.etag } as typeof current)).toEqual(proceed);
    });
  });
});

describe('evaluateRange (RFC 9110 14 and 13.1.5)', () => {
  const range = (headers: Record<string, string>, size = 10) => evaluateRange(headers, size, current);
  it('serves one range as partial: first-last, open, suffix, clipped to the end', () => {
    expect(range({ range: 'bytes=0-0' })).toEqual({ outcome: 'partial', start: 0, end: 0 });
    expect(range({ range: 'bytes=5-' })).toEqual({ outcome: 'partial', start: 5, end: 9 });
    expect(range({ range: 'bytes=-3' })).toEqual({ outcome: 'partial', start: 7, end: 9 });
    expect(range({ range: 'bytes=-30' })).toEqual({ outcome: 'partial', start: 0, end: 9 }); // 14.1.3 (range-parser alone: 416)
    expect(range({ range: 'bytes=-10' })).toEqual({ outcome: 'partial', start: 0, end: 9 });
    expect(range({ range: 'bytes= -30' })).toEqual({ outcome: 'partial', start: 0, end: 9 });
    expect(range({ range: 'bytes=5-100' })).toEqual({ outcome: 'partial', start: 5, end: 9 });
    expect(range({ Range: 'bytes=1-2' })).toEqual({ outcome: 'partial', start: 1, end: 2 });
  });
  it('answers unsatisfiable when no range overlaps the representation', () => {
    expect(range({ range: 'bytes=10-' })).toEqual({ outcome: 'unsatisfiable' });
    expect(range({ range: 'bytes=10-20' })).toEqual({ outcome: 'unsatisfiable' });
    expect(range({ range: 'bytes=0-' }, 0)).toEqual({ outcome: 'unsatisfiable' });
    expect(range({ range: 'bytes=-0' })).toEqual({ outcome: 'unsatisfiable' });
    expect(range({ range: 'bytes=5-2' })).toEqual({ outcome: 'unsatisfiable' }); // invalid spec: 416, as 15.5.17 allows
  });
  it('merges overlapping ranges into one; several disjoint ranges get the whole representation (no multipart)', () => {
    expect(range({ range: 'bytes=0-1,1-4' })).toEqual({ outcome: 'partial', start: 0, end: 4 });
    expect(range({ range: 'bytes=0-1,3-4' })).toEqual({ outcome: 'full' });
  });
  it('ignores a malformed Range or another unit', () => {
    for (const value of ['bytes=abc', 'bytes', 'bytes=1', 'items=0-5', '']) {
      expect([value, range({ range: value })]).toEqual([value, { outcome: 'full' }]);
    }
    expect(range({})).toEqual({ outcome: 'full' });
  });
  it('If-Range keeps the Range on the strong current tag or the exact Last-Modified date', () => {
    expect(range({ range: 'bytes=0-1', 'if-range': current.etag })).toEqual({ outcome: 'partial', start: 0, end: 1 });
    expect(range({ range: 'bytes=0-1', 'if-range': SAME })).toEqual({ outcome: 'partial', start: 0, end: 1 });
  });
  it('If-Range sends everything on a weak tag (even of the current value), another tag, another or invalid date', () => {
    for (const ifRange of [`W/${current.etag}`, '"other"', BEFORE, AFTER, 'tomorrow']) {
      expect([ifRange, range({ range: 'bytes=0-1', 'if-range': ifRange })]).toEqual([ifRange, { outcome: 'full' }]);
    }
  });
  it('If-Range does not rescue an unsatisfiable range it matches, and is ignored without Range', () => {
    expect(range({ range: 'bytes=50-', 'if-range': current.etag })).toEqual({ outcome: 'unsatisfiable' });
    expect(range({ 'if-range': current.etag })).toEqual({ outcome: 'full' });
  });
});
