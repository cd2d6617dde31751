import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from '../support/paths';

const GLOBALS = new Set(['Runtime', 'Twilio']);

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

/** Uses of the Twilio runtime globals (Runtime.x, Twilio.x) in a file, as file:line. */
function globalUses(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && GLOBALS.has(node.expression.text)) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${path.relative(PROJECT_ROOT, file)}:${line + 1} ${node.getText()}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('src/lib stays free of Twilio runtime globals', () => {
  it('the detector finds a global use', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tma-purity-')), 'x.ts');
    fs.writeFileSync(file, 'const r = new Twilio.Response();\nconst a = Runtime.getAssets();\n');
    expect(globalUses(file)).toHaveLength(2);
  });

  it('no file under src/lib uses Runtime or Twilio globals', () => {
    const uses = sourceFiles(path.join(PROJECT_ROOT, 'src', 'lib')).flatMap(globalUses);
    expect(uses).toEqual([]);
  });
});
