import { rawRequest, RawResponse } from '../support/http';
import { protectedAssetPath } from '../support/paths';
import { RunningRuntime, sharedRuntime } from '../support/runtime';

/**
 * The gateway must decide on the path twilio-run's Express routes (parseurl), whatever the spelling of the
 * request target: each form is sent raw over a socket, since an HTTP client would normalise it first.
 */

/** Spellings of `/dir/name?query` that Express routes as that path. */
function spellings(pathAndQuery: string): Record<string, string> {
  const query = pathAndQuery.indexOf('?');
  const pathname = query === -1 ? pathAndQuery : pathAndQuery.slice(0, query);
  const search = query === -1 ? '' : pathAndQuery.slice(query);
  const slash = pathname.lastIndexOf('/');
  const backslashed = `${pathname.slice(0, slash)}\\${pathname.slice(slash + 1)}`;
  return {
    'absolute-form': `http://anyhost${pathAndQuery}`,
    'absolute-form, upper-case scheme and a port': `HTTP://AnyHost:8080${pathAndQuery}`,
    'a backslash before a "#"': `${backslashed}${search}#`,
    'a fragment': `${pathAndQuery}#x`,
    'absolute-form with a backslash': `http://anyhost${backslashed}${search}`,
  };
}

function errorOf(res: RawResponse): string {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return (JSON.parse(res.body.toString('utf8')) as { error: string }).error;
}

describe('the local gateway decides on the path twilio-run routes, however the request target is spelled', () => {
  let runtime: RunningRuntime;
  beforeAll(async () => {
    runtime = await sharedRuntime();
  }, 60000);
  afterAll(async () => {
    await runtime?.stop();
  });
  const get = (target: string) => rawRequest(runtime.port, `GET ${target} HTTP/1.1\r\nHost: anyhost`);
  const post = (target: string, body: string, length = Buffer.byteLength(body)) =>
    rawRequest(
      runtime.port,
      `POST ${target} HTTP/1.1\r\nHost: anyhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}`,
      body,
    );

  it('refuses the unsigned protected asset with 400 in every spelling', async () => {
    const asset = protectedAssetPath();
    for (const [form, target] of Object.entries(spellings(asset))) {
      const res = await get(target);
      expect({ form, status: res.status }).toEqual({ form, status: 400 });
      expect(errorOf(res)).toBe(`${asset} is protected: header "X-Twilio-Signature" is missing`);
      expect(res.body.toString('latin1')).not.toContain('%PDF');
    }
  });

  it('refuses unsigned posts to protected Functions with 400 in every spelling, before they run', async () => {
    for (const fn of ['/diag/signed', '/mms/send-example']) {
      for (const [form, target] of Object.entries(spellings(fn))) {
        const res = await post(target, 'To=%2B15551234');
        expect({ form, status: res.status }).toEqual({ form, status: 400 });
        expect(errorOf(res)).toContain(`${fn} is protected`);
      }
    }
    await runtime.quiet();
    expect(runtime.output()).not.toContain('MMS_FROM');
  });

  it("replaces a Function's 4.5 MB answer with 502 in every spelling", async () => {
    for (const [form, target] of Object.entries(spellings('/diag/limits?bytes=4500000'))) {
      const res = await get(target);
      expect({ form, status: res.status }).toEqual({ form, status: 502 });
      expect(errorOf(res)).toContain('4000000 bytes');
    }
  });

  it('answers 504 ten seconds after arrival in every spelling, for a slow Function and for a body that never comes', async () => {
    const started = Date.now();
    const forms = Object.entries(spellings('/diag/limits?sleepMs=12000'));
    const shortBodies = Object.entries(spellings('/diag/limits'));
    const answers = await Promise.all([
      ...forms.map(([form, target]) => get(target).then((res) => ({ form, res }))),
      // 100 bytes announced, 5 sent: the body is never complete
      ...shortBodies.map(([form, target]) =>
        post(target, 'a=1&b', 100).then((res) => ({ form: `${form}, short body`, res })),
      ),
    ]);
    for (const { form, res } of answers) {
      expect({ form, status: res.status }).toEqual({ form, status: 504 });
      expect(errorOf(res)).toContain('10000 ms');
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(9900);
  }, 60000);

  it('leaves to twilio-run (which finds no route) the spellings Express does not route as the protected path', async () => {
    const asset = protectedAssetPath();
    const slash = asset.indexOf('/', 1);
    const unrouted = {
      'a duplicate slash': `/${asset}`,
      'a duplicate inner slash': `${asset.slice(0, slash)}/${asset.slice(slash)}`,
      'a percent-encoded letter': asset.replace('a', '%61'),
      'a percent-encoded slash': `${asset.slice(0, slash)}%2F${asset.slice(slash + 1)}`,
      'upper case': asset.toUpperCase(),
      'a backslash without "#"': `${asset.slice(0, slash)}\\${asset.slice(slash + 1)}`,
      'a dot segment': `/x/..${asset}`,
    };
    for (const [form, target] of Object.entries(unrouted)) {
      const res = await get(target);
      expect({ form, status: res.status }).toEqual({ form, status: 404 });
      expect(res.body.toString('latin1')).not.toContain('%PDF');
    }
  });

  it('refuses a request target with no path to route with 400, naming it', async () => {
    for (const target of ['*']) {
      const res = await get(target);
      expect({ target, status: res.status }).toEqual({ target, status: 400 });
      expect(errorOf(res)).toContain(`request target ${JSON.stringify(target)}`);
    }
  });
});
