// nock 15 is ESM only, which jest's CommonJS module system (and its own createRequire) cannot load; Node's
// real require can (require(esm), Node >= 20.19), reached through process.getBuiltinModule. nock then patches
// the real http/https modules, the ones libraries get inside jest too.
const nativeRequire = process.getBuiltinModule('node:module').createRequire(__filename);
// nock 15's interceptors call Promise.withResolvers (Node 22); on Node 20 give it to the main realm's Promise,
// the one nock runs with (jest's sandbox has its own).
process
  .getBuiltinModule('node:vm')
  .runInThisContext(
    'Promise.withResolvers ??= function () { let resolve, reject; const promise = new this((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };',
  );

/**
 * Loaded through the native require, nock is one module shared by every test file that a jest worker runs, so
 * a file that restores it (unpatches http) leaves it restored for the next file in that worker. CI has two
 * cores and runs several files per worker: each file must activate nock for itself and restore it when done.
 */
export const nock: typeof import('nock').default = nativeRequire('nock').default;

/** Intercept outbound HTTP for this test file: no real network except the loopback hosts given. */
export function interceptHttp(allowLoopback = false): void {
  beforeAll(() => {
    if (!nock.isActive()) nock.activate();
    nock.disableNetConnect();
    if (allowLoopback) nock.enableNetConnect(/^(127\.0\.0\.1|localhost)/);
  });
  afterEach(() => {
    nock.abortPendingRequests();
    nock.cleanAll();
  });
  afterAll(() => {
    nock.cleanAll();
    nock.enableNetConnect();
    nock.restore();
  });
}
