import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadLocalSettings } from '../../src/commands/settings';
import {
  ACCEPTED_RUNTIME_HANDLER_VERSIONS,
  RUNTIME_HANDLER,
  runtimeHandlerProblem,
  runtimeProblem,
  SUPPORTED_RUNTIMES,
} from '../../src/deploy/platform';
import { CREDENTIALS, deployVariableProblems, FUNCTION_VARIABLES, LOCAL_SETTINGS } from '../../src/deploy/variables';
import { readDeployFlags } from '../../src/deploy/preflight';
import { buildInputs } from '../../src/pipeline/project';
import { inputEntries, STAMP_FILE, staleBuildReason, writeBuildStamp } from '../../src/pipeline/stamp';
import { alterInPlace } from '../support/alter';
import { TWILIO_PLATFORM } from '../support/fake-serverless-api';
import { PROJECT_ROOT } from '../support/paths';

const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('the @twilio/runtime-handler pin', () => {
  it('is an exact version on the list Twilio accepts, in dependencies', () => {
    const pin = pkg.dependencies[RUNTIME_HANDLER];
    expect(pin).toMatch(/^\d+\.\d+\.\d+$/);
    expect(ACCEPTED_RUNTIME_HANDLER_VERSIONS).toContain(pin);
    expect(runtimeHandlerProblem(pkg.dependencies)).toBeNull();
    expect(pkg.devDependencies[RUNTIME_HANDLER]).toBeUndefined();
  });

  it('is the version installed, so the local runtime is the one pinned', () => {
    const installed = JSON.parse(
      fs.readFileSync(path.join(PROJECT_ROOT, 'node_modules', RUNTIME_HANDLER, 'package.json'), 'utf8'),
    );
    expect(installed.version).toBe(pkg.dependencies[RUNTIME_HANDLER]);
  });

  it.each([
    ['2.1.0', /not a version Twilio's platform accepts.*20001/],
    ['2.0.3', /not a version Twilio's platform accepts/],
    ['^2.0.1', /not an exact version/],
    ['~1.3.0', /not an exact version/],
    ['latest', /not an exact version/],
  ])('refuses %s, naming the accepted versions', (version, message) => {
    const problem = runtimeHandlerProblem({ [RUNTIME_HANDLER]: version });
    expect(problem).toMatch(message);
    expect(problem).toContain('2.0.1');
  });

  it('refuses a missing pin and accepts every listed version', () => {
    expect(runtimeHandlerProblem({ twilio: '^6.2.0' })).toMatch(/missing/);
    expect(runtimeHandlerProblem(undefined)).toMatch(/missing/);
    for (const v of ['2.1.2', '2.0.1', '2.0.0', '1.3.1', '1.2.5'])
      expect(runtimeHandlerProblem({ [RUNTIME_HANDLER]: v })).toBeNull();
  });
});

describe('the Build runtime', () => {
  it('must be sent and supported', () => {
    expect(runtimeProblem('node22', 'cfg')).toBeNull();
    expect(runtimeProblem('node24', 'cfg')).toBeNull();
    expect(runtimeProblem(undefined, 'cfg')).toMatch(/^cfg: no "runtime".*82007/);
    expect(runtimeProblem('node18', 'cfg')).toMatch(/^cfg: runtime "node18" is not one Twilio supports.*82007/);
    expect(runtimeProblem('node22.1', 'cfg')).toMatch(/82007/);
  });
});

describe('the variables a deploy uploads', () => {
  it('accepts Function variables within the limits', () => {
    expect(
      deployVariableProblems({ MMS_REPLY: 'Thanks', LOG_LEVEL: 'debug', API_KEY: 'SK' + '0'.repeat(32) }, '.env'),
    ).toEqual([]);
  });

  it('refuses local settings, runtime-provided and unknown names, naming the file and where to put them', () => {
    const problems = deployVariableProblems({ AWS_SECRET_ACCESS_KEY: 'x', DOMAIN_NAME: 'x', MY_THING: 'x' }, '.env');
    expect(problems).toEqual([
      expect.stringMatching(
        /^\.env: AWS_SECRET_ACCESS_KEY is a setting of the local commands.*move it to \.env\.local$/,
      ),
      expect.stringMatching(/^\.env: DOMAIN_NAME is set by Twilio's runtime/),
      expect.stringMatching(/^\.env: MY_THING is not a variable the Functions read.*FUNCTION_VARIABLES/),
    ]);
    for (const p of problems) expect(p).not.toMatch(/=x/);
  });

  it('counts a value in bytes, not characters: 450 bytes pass, 451 are refused with 82006', () => {
    expect(deployVariableProblems({ MMS_REPLY: 'x'.repeat(450) }, '.env')).toEqual([]);
    expect(deployVariableProblems({ MMS_REPLY: 'é'.repeat(226) }, '.env')).toEqual([
      expect.stringMatching(/MMS_REPLY is 452 bytes; Twilio refuses more than 450 \(error 82006\)/),
    ]);
  });

  it('refuses a name over 128 characters and a context over 3 KB', () => {
    expect(deployVariableProblems({ ['A'.repeat(129)]: 'x' }, '.env')).toContainEqual(
      expect.stringMatching(/is 129 characters; Twilio refuses more than 128/),
    );
    const big = Object.fromEntries(FUNCTION_VARIABLES.slice(0, 7).map((k) => [k, 'x'.repeat(400)]));
    expect(deployVariableProblems(big, '.env')).toEqual([
      expect.stringMatching(/about \d+ bytes of the Functions' context.*above 3072 invocations fail with 82006/),
    ]);
  });

  it('keeps the two lists apart', () => {
    expect(FUNCTION_VARIABLES.filter((k) => LOCAL_SETTINGS.includes(k))).toEqual([]);
  });
});

describe("the project's copy of Twilio's lists agrees with the fake Serverless API's own copy", () => {
  // the fake refuses by its copy (taken from Twilio's pages), so a product list that drifts fails here first
  it('accepts exactly the handler versions and runtimes Twilio lists', () => {
    expect([...ACCEPTED_RUNTIME_HANDLER_VERSIONS].sort()).toEqual([...TWILIO_PLATFORM.handlerVersions].sort());
    expect([...SUPPORTED_RUNTIMES].sort()).toEqual([...TWILIO_PLATFORM.runtimes].sort());
    for (const v of TWILIO_PLATFORM.handlerVersions) expect(runtimeHandlerProblem({ [RUNTIME_HANDLER]: v })).toBeNull();
    for (const r of TWILIO_PLATFORM.runtimes) expect(runtimeProblem(r, 'the test')).toBeNull();
  });

  it('refuses a variable exactly where Twilio does: a 128-character name and a 450-byte value pass, one more fails', () => {
    const at = 'K'.repeat(TWILIO_PLATFORM.variableKeyChars);
    const value = 'v'.repeat(TWILIO_PLATFORM.variableValueBytes);
    expect(deployVariableProblems({ [at]: value }, '.env').filter((p) => /characters|bytes/.test(p))).toEqual([]);
    expect(deployVariableProblems({ [`${at}K`]: 'v' }, '.env').join('\n')).toContain(
      'is 129 characters; Twilio refuses more than 128',
    );
    expect(deployVariableProblems({ MMS_REPLY: `${value}v` }, '.env').join('\n')).toContain('451 bytes');
  });
});

describe("the deploy's flags, read as twilio-run's own parser reads them", () => {
  it.each([
    [['deploy', '--load-system-env', '--env', '.env.prod']],
    [['deploy', '--loadSystemEnv', '--env', '.env.prod']],
    [['deploy', '--load-system-env=true', '--env=.env.prod']],
    [['deploy', '--loadSystemEnv=true', '--env=.env.prod']],
    [['deploy', '--env', '.env.prod', '--load-system-env', 'true']],
    [['serverless:deploy', '--env=.env.prod', '--load-system-env']],
  ])('%j loads the system environment', (argv) => {
    expect(readDeployFlags(argv)).toEqual({ env: '.env.prod', loadSystemEnv: true, runtime: undefined });
  });

  it.each([
    [['deploy']],
    [['deploy', '--no-load-system-env']],
    [['deploy', '--load-system-env=false']],
    [['deploy', '--loadSystemEnv', 'false']],
    [['deploy', '--load-system-env', '--no-load-system-env']],
  ])('%j does not', (argv) => {
    expect(readDeployFlags(argv).loadSystemEnv).toBe(false);
  });

  it('reads --runtime and --env in each spelling, and refuses one given twice', () => {
    expect(readDeployFlags(['deploy', '--runtime=node18']).runtime).toBe('node18');
    expect(readDeployFlags(['deploy', '--runtime', 'node20', '-e', 'x']).runtime).toBe('node20');
    expect(readDeployFlags(['deploy', '--env', 'a']).env).toBe('a');
    expect(() => readDeployFlags(['deploy', '--env', 'a', '--env', 'b'])).toThrow(
      '--env is given more than once: give it once',
    );
  });
});

describe('the build stamp', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-stamp-'));
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  const inputs = buildInputs({ projectRoot: root });
  const dist = path.join(root, 'dist');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  beforeEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
    write('package.json', '{}');
    write('src/functions/a.ts', 'export const a = 1;');
    write('src/lib/b.ts', 'export const b = 1;');
    write('assets/x.txt', 'x');
    write('dist/functions/a.js', 'a');
    write('dist/assets/x.1.txt', 'x');
    writeBuildStamp(dist, inputEntries(inputs));
  });

  it('says a build is current until a source, an asset or the output changes', () => {
    expect(staleBuildReason(dist, inputs)).toBeNull();
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(root, 'src/lib/b.ts'), later, later);
    expect(staleBuildReason(dist, inputs)).toBeNull(); // a source is compared by content: a touch is no change
    write('src/lib/b.ts', 'export const b = 2;');
    expect(staleBuildReason(dist, inputs)).toBe('the sources changed since dist/ was built: src/lib/b.ts changed');
  });

  // tar x, cp -p and rsync -a put the old mtime back on an edited file
  it.each([
    [
      'src/functions/a.ts',
      'export const a = 2;',
      'the sources changed since dist/ was built: src/functions/a.ts changed',
    ],
    ['package.json', '[]', 'the sources changed since dist/ was built: package.json changed'],
    ['assets/x.txt', 'y', 'the sources changed since dist/ was built: assets/x.txt changed'],
    ['dist/functions/a.js', 'b', 'dist/ was modified after the build: functions/a.js changed'],
    ['dist/assets/x.1.txt', 'y', 'dist/ was modified after the build: assets/x.1.txt changed'],
  ])('sees %s edited to the same size with its mtime kept', (rel, text, reason) => {
    alterInPlace(path.join(root, rel), text);
    expect(staleBuildReason(dist, inputs)).toBe(reason);
  });

  it('follows a symlinked source folder, so an edit inside it is seen', () => {
    write('shared/c.ts', 'export const c = 1;');
    fs.symlinkSync(path.join(root, 'shared'), path.join(root, 'src', 'shared'));
    writeBuildStamp(dist, inputEntries(inputs));
    expect(staleBuildReason(dist, inputs)).toBeNull();
    write('shared/c.ts', 'export const c = 2;');
    expect(staleBuildReason(dist, inputs)).toBe('the sources changed since dist/ was built: src/shared/c.ts changed');
  });

  it('names a new source, a removed asset, a touched output, a missing stamp', () => {
    write('src/functions/c.ts', '');
    expect(staleBuildReason(dist, inputs)).toMatch(/src\/functions\/c\.ts is new/);
    fs.rmSync(path.join(root, 'src/functions/c.ts'));
    fs.rmSync(path.join(root, 'assets/x.txt'));
    expect(staleBuildReason(dist, inputs)).toMatch(/assets\/x\.txt was removed/);
    write('assets/x.txt', 'x');
    writeBuildStamp(dist, inputEntries(inputs));
    fs.rmSync(path.join(dist, 'functions/a.js'));
    expect(staleBuildReason(dist, inputs)).toBe('dist/ was modified after the build: functions/a.js was removed');
    fs.rmSync(path.join(dist, STAMP_FILE));
    expect(staleBuildReason(dist, inputs)).toMatch(/dist\/ holds no complete build/);
  });
});

describe('settings of the local commands', () => {
  it('come from the environment, then .env.local, then .env', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-settings-'));
    try {
      fs.writeFileSync(path.join(dir, '.env.local'), 'TMA_T_ONE=local\nTMA_T_TWO=local\n');
      fs.writeFileSync(path.join(dir, '.env'), 'TMA_T_ONE=env\nTMA_T_TWO=env\nTMA_T_THREE=env\n');
      const env: NodeJS.ProcessEnv = { TMA_T_ONE: 'process' };
      loadLocalSettings(dir, env);
      expect(env).toEqual({ TMA_T_ONE: 'process', TMA_T_TWO: 'local', TMA_T_THREE: 'env' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the environment table (docs/environment.md)', () => {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'docs', 'environment.md'), 'utf8');
  const rows = readme
    .split('\n')
    .filter((line) => /^\| `[A-Z][A-Z0-9_]+`/.test(line))
    .map((line) => line.split(' | '))
    .filter((cells) => /^`\.env/.test(cells[1] ?? ''))
    .map((cells) => ({ names: [...cells[0].matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]), file: cells[1] }));
  const fileOf = new Map(rows.flatMap((r) => r.names.map((n) => [n, r.file] as const)));

  it('says where each variable goes, as the deploy preflight decides it', () => {
    for (const name of FUNCTION_VARIABLES) expect([name, fileOf.get(name)]).toEqual([name, '`.env`, uploaded']);
    for (const name of LOCAL_SETTINGS) expect([name, fileOf.get(name)]).toEqual([name, '`.env.local`']);
    for (const name of CREDENTIALS) expect([name, fileOf.get(name)]).toEqual([name, '`.env`, never uploaded']);
    expect(fileOf.size).toBe(FUNCTION_VARIABLES.length + LOCAL_SETTINGS.length + CREDENTIALS.length);
  });
});
