import * as fs from 'node:fs';
import * as path from 'node:path';

// The README and docs/ are what a newcomer follows: every link in them must lead somewhere, every npm script they
// name must exist, and every variable the environment table documents must be one the code reads.
const ROOT = path.resolve(__dirname, '..', '..');
const DOCS = path.join(ROOT, 'docs');
const pages = [
  path.join(ROOT, 'README.md'),
  ...fs
    .readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(DOCS, f)),
];
const rel = (file: string) => path.relative(ROOT, file);
const read = (file: string) => fs.readFileSync(file, 'utf8');

/** The text outside fenced code blocks, where Markdown makes links and headings. */
function prose(text: string): string {
  return text.replace(/^```[^\n]*\n[\s\S]*?^```[ \t]*$/gm, '');
}

/** GitHub's anchors for a page's headings: lowercased, punctuation dropped, each space a hyphen, repeats numbered. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of prose(read(file)).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every link target of a page, inline code left out (a `[x](y)` there is not a link). */
function links(file: string): string[] {
  const text = prose(read(file)).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

describe('README.md and docs/', () => {
  it('exist: the README and at least the reference pages it lists', () => {
    expect(pages.length).toBeGreaterThan(5);
  });

  it.each(pages.map((p) => [rel(p), p]))('%s: every relative link resolves, anchors included', (_name, file) => {
    const broken: string[] = [];
    for (const target of links(file)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: - not this project's files
      const [pathPart, anchor] = target.split('#', 2);
      const dest = pathPart ? path.resolve(path.dirname(file), decodeURIComponent(pathPart)) : file;
      if (!fs.existsSync(dest)) {
        broken.push(`${target}: no file ${rel(dest)}`);
        continue;
      }
      if (anchor !== undefined && !(dest.endsWith('.md') && anchors(dest).has(anchor)))
        broken.push(`${target}: no heading #${anchor} in ${rel(dest)}`);
    }
    expect(broken).toEqual([]);
  });

  it('mention only npm scripts that package.json has', () => {
    const scripts = Object.keys((JSON.parse(read(path.join(ROOT, 'package.json'))) as { scripts: object }).scripts);
    const missing: string[] = [];
    for (const file of pages) {
      // `npm run NAME`, and npm's own shorthands for the scripts start and test; a name never ends in `:` or `.`
      // ("npm run deploy: the usual deploy" names deploy)
      for (const m of read(file).matchAll(
        /\bnpm[ \t]+(?:run(?:-script)?[ \t]+([a-z](?:[\w:.-]*\w)?)|(start|test)\b)/g,
      )) {
        const name = m[1] ?? m[2];
        if (!scripts.includes(name)) missing.push(`${rel(file)}: npm run ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('the environment table (docs/environment.md)', () => {
  const table = read(path.join(DOCS, 'environment.md'))
    .split('\n')
    .filter((line) => /^\| `[A-Z][A-Z0-9_]+`/.test(line));
  const names = table.flatMap((line) => [...line.split(' | ')[0].matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]));

  /** The code, without the list of where each variable goes (naming a variable there is not reading it). */
  const code = (() => {
    const files: string[] = [path.join(ROOT, '.twilioserverlessrc.js')];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (/\.(ts|cjs|js)$/.test(e.name) && full !== path.join(ROOT, 'src', 'deploy', 'variables.ts'))
          files.push(full);
      }
    };
    walk(path.join(ROOT, 'src'));
    // comments say a name without reading it
    return files.map((f) => read(f).replace(/\/\*[\s\S]*?\*\/|(^|[^:])\/\/.*$/gm, '$1')).join('\n');
  })();

  it('has rows', () => {
    expect(names.length).toBeGreaterThan(10);
  });

  it.each(names)('%s is read by the code', (name) => {
    // env.NAME, context.NAME, process.env.NAME, or the name as a string ('NAME' handed to the settings module)
    const reads = new RegExp(`\\.${name}\\b|['"\`]${name}['"\`]`);
    expect(reads.test(code)).toBe(true);
  });
});
