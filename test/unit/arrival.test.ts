import { ARRIVAL_HEADER, requestArrival } from '../../src/lib/http/arrival';

describe('requestArrival', () => {
  const now = 1_800_000_000_000;
  it("takes the gateway's stamp", () => {
    expect(requestArrival({ [ARRIVAL_HEADER]: String(now - 2500) }, now)).toBe(now - 2500);
  });
  it('falls back to now without a usable stamp (deployed, or garbage)', () => {
    expect(requestArrival({}, now)).toBe(now);
    expect(requestArrival({ [ARRIVAL_HEADER]: 'soon' }, now)).toBe(now);
  });
  it('clamps a forged stamp to the last 10 s, never the future', () => {
    expect(requestArrival({ [ARRIVAL_HEADER]: '1' }, now)).toBe(now - 10_000);
    expect(requestArrival({ [ARRIVAL_HEADER]: String(now + 60_000) }, now)).toBe(now);
    expect(requestArrival({ [ARRIVAL_HEADER]: [String(now - 100), '1'] }, now)).toBe(now - 100);
  });
});
