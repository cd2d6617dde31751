import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BuildInfo } from '../lib/build-info';
import { TWILIO_RUN_FOLDERS } from './layout';

/**
 * A build stamp says which sources a build in dist/ was made from, so a deploy can tell a current build from a
 * missing or stale one without rebuilding. Sources and built Functions are small: they are compared by content
 * (sha256), since `tar x`, `cp -p` and `rsync -a` keep the old mtime of an edited file. Assets (the tree can be
 * a gigabyte) are compared without being read, by size, mtime, inode and ctime: restoring an mtime moves the
 * ctime, so a same-size edit is still seen (a touch without an edit costs one rebuild, never a stale deploy).
 */
export const STAMP_FILE = 'build-stamp.json';

/** Files of the project whose change changes the build, besides the Function sources and the assets. */
const PROJECT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];
const SKIP_DIRS = new Set(['node_modules', '.git']);

export interface BuildInputs {
  projectRoot: string;
  functionDirs: string[];
  assetsDir: string;
  configFile: string;
}

/** a file and what identifies its version: its content hash, or its size, mtime, inode and ctime */
type Entry = [file: string, ...version: (string | number)[]];

interface Stamp {
  inputs: Entry[];
  outputs: Entry[];
  /** the identity baked into the Functions, which /health answers: what `deployed:check` compares a deployment with */
  info?: BuildInfo;
}

function walk(dir: string, into: string[], visited = new Set<string>()): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  visited.add(fs.realpathSync(dir));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    // a symlinked folder is followed, as the asset scan and twilio-run follow it (once: a loop is the scan's error)
    const isDir = e.isDirectory() || (e.isSymbolicLink() && isFolder(full));
    if (isDir) {
      if (!SKIP_DIRS.has(e.name) && !visited.has(fs.realpathSync(full))) walk(full, into, visited);
    } else {
      into.push(full);
    }
  }
}

function isFolder(file: string): boolean {
  return fs.statSync(file, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

const sha256Of = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function entriesOf(files: string[], relativeTo: string, byContent: (file: string) => boolean): Entry[] {
  const seen = new Set<string>();
  const entries: Entry[] = [];
  for (const file of files) {
    if (seen.has(file)) continue;
    seen.add(file);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch (err) {
      // a vanished file or a dangling link: absent (the asset scan refuses a dangling link by name)
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const rel = path.relative(relativeTo, file).split(path.sep).join('/');
    entries.push(
      byContent(file) ? [rel, `sha256:${sha256Of(file)}`] : [rel, stat.size, stat.mtimeMs, stat.ino, stat.ctimeMs],
    );
  }
  return entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

const inside = (dir: string) => (file: string) => file.startsWith(dir + path.sep);

/**
 * Every file a build reads: all of src/ (Functions bundle what they import from it, TypeScript or JavaScript), the
 * assets, the config; and twilio-run's folders, which the build refuses: one added after a build makes it stale.
 */
export function inputEntries(inputs: BuildInputs): Entry[] {
  const files: string[] = [];
  walk(path.join(inputs.projectRoot, 'src'), files);
  for (const folder of Object.keys(TWILIO_RUN_FOLDERS)) walk(path.join(inputs.projectRoot, folder), files);
  for (const dir of inputs.functionDirs) walk(dir, files);
  walk(inputs.assetsDir, files);
  files.push(inputs.configFile, ...PROJECT_FILES.map((f) => path.join(inputs.projectRoot, f)));
  const isAsset = inside(inputs.assetsDir);
  return entriesOf(files, inputs.projectRoot, (file) => !isAsset(file));
}

function outputEntries(outDir: string): Entry[] {
  const files: string[] = [];
  walk(path.join(outDir, 'functions'), files);
  walk(path.join(outDir, 'assets'), files);
  return entriesOf(files, outDir, inside(path.join(outDir, 'functions')));
}

/** Written by the build, last, once dist/ is complete; `inputs` must be taken before the build reads anything. */
export function writeBuildStamp(outDir: string, inputs: Entry[], info?: BuildInfo): void {
  const stamp: Stamp = { inputs, outputs: outputEntries(outDir), info };
  fs.writeFileSync(path.join(outDir, STAMP_FILE), JSON.stringify(stamp));
}

function firstDifference(was: Entry[], now: Entry[]): string {
  const before = new Map(was.map((e) => [e[0], e]));
  const after = new Map(now.map((e) => [e[0], e]));
  for (const [file, e] of after) {
    const old = before.get(file);
    if (!old) return `${file} is new`;
    if (JSON.stringify(old.slice(1)) !== JSON.stringify(e.slice(1))) return `${file} changed`;
  }
  for (const file of before.keys()) if (!after.has(file)) return `${file} was removed`;
  return 'nothing';
}

/** null when outDir holds the build of the current inputs, else why not (naming a file). */
export function staleBuildReason(outDir: string, inputs: BuildInputs): string | null {
  const shown = path.relative(inputs.projectRoot, outDir) || outDir;
  let stamp: Stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(outDir, STAMP_FILE), 'utf8')) as Stamp;
  } catch {
    return `${shown}/ holds no complete build (no ${shown}/${STAMP_FILE})`;
  }
  const now = inputEntries(inputs);
  const sources = firstDifference(stamp.inputs, now);
  if (sources !== 'nothing') return `the sources changed since ${shown}/ was built: ${sources}`;
  const outputs = firstDifference(stamp.outputs, outputEntries(outDir));
  if (outputs !== 'nothing') return `${shown}/ was modified after the build: ${outputs}`;
  return null;
}

/** dist/ holds no build whose identity can be read: a configuration problem of the caller (build first). */
export class BuildStampError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildStampError';
  }
}

/** The identity of the build in outDir, from its stamp; a missing stamp or one without it says why, naming the file. */
export function readBuildInfo(outDir: string, shownDir = outDir): BuildInfo {
  const file = `${shownDir.replace(/\/+$/, '')}/${STAMP_FILE}`;
  let stamp: Stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(outDir, STAMP_FILE), 'utf8')) as Stamp;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BuildStampError(
      code === 'ENOENT' ? `${file} does not exist: build first (npm run build)` : `${file} is unreadable: build again`,
    );
  }
  if (!stamp.info || typeof stamp.info.builtAt !== 'string') {
    throw new BuildStampError(`${file} records no build identity (a build older than this check): build again`);
  }
  return stamp.info;
}
