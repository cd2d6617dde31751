import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFunctions, listFunctions } from '../../src/pipeline/functions';
import { TypeCheckError } from '../../src/pipeline/typecheck';
import { PROJECT_ROOT } from '../support/paths';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tma-fn-'));
}

describe('function build', () => {
  it('keeps each route and visibility marker', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'mms'));
    fs.writeFileSync(path.join(dir, 'mms', 'inbound.protected.ts'), 'export {};');
    fs.writeFileSync(path.join(dir, 'health.ts'), 'export {};');
    fs.writeFileSync(path.join(dir, 'types.d.ts'), 'export {};');
    expect(listFunctions([dir]).map((e) => e.output)).toEqual(['health.js', 'mms/inbound.protected.js']);
  });

  it('bundles a Function into one file with no relative require', async () => {
    const dir = tempDir();
    const out = tempDir();
    const src = path.join(PROJECT_ROOT, 'src', 'functions');
    await buildFunctions({ projectRoot: PROJECT_ROOT, functionDirs: [src], outDir: out });
    const code = fs.readFileSync(path.join(out, 'health.js'), 'utf8');
    expect(code).not.toMatch(/require\(["']\.\.?\//);
    expect(code).toContain('exports');
    fs.rmSync(dir, { recursive: true });
  });

  it('fails on a type error, naming the file and line', async () => {
    const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tmp-broken-'));
    try {
      fs.writeFileSync(path.join(dir, 'broken.ts'), 'export const x: number = 1;\nexport const y: number = "two";\n');
      const build = buildFunctions({ projectRoot: PROJECT_ROOT, functionDirs: [dir], outDir: tempDir() });
      await expect(build).rejects.toThrow(TypeCheckError);
      await expect(build).rejects.toThrow(/broken\.ts\(2,14\): error TS2322/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
