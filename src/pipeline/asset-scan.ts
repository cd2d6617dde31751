import * as fs from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import type { Visibility } from '../lib/manifest';

/** Length of the content hash in versioned names: 48 bits, collision-free for any real asset tree. */
export const VERSION_LENGTH = 12;

export interface SourceAsset {
  /** path relative to the assets folder, with "/" separators */
  rel: string;
  abs: string;
  bytes: number;
  mtimeMs: number;
  visibility: Visibility;
  /** deployed path of the unversioned file as twilio-run computes it, e.g. "/audio/greeting.wav" */
  deployedPath: string;
  /** logical name: deployedPath without the leading "/" */
  name: string;
}

export interface SkippedFile {
  rel: string;
  reason: string;
}

export interface AssetScan {
  dir: string;
  files: SourceAsset[];
  skipped: SkippedFile[];
  refused: RefusedEntry[];
}

const OS_JUNK = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini', '.gitkeep', '.gitignore', '.keep']);

/**
 * Visibility and deployed path exactly as @twilio-labs/serverless-api (used by twilio-run and the Twilio CLI)
 * computes them in getPathAndAccessFromFileInfo, including its quirks: the marker is searched for in the whole
 * relative name, removed from the base name once, and whitespace becomes "-". A test checks this against the
 * library itself; we re-implement it because the library throws on the first invalid path, and the build
 * must report every violation in one run.
 */
export function twilioPathAndAccess(rel: string): { path: string; access: Visibility } {
  const ext = path.posix.extname(rel);
  let baseName = path.posix.basename(rel, ext);
  let access: Visibility = 'public';
  if (rel.includes(`.protected${ext}`)) access = 'protected';
  else if (rel.includes(`.private${ext}`)) access = 'private';
  baseName = baseName.replace(`.${access}`, '');
  let resourcePath = '/' + path.posix.join(path.posix.dirname(rel), baseName) + ext;
  resourcePath = resourcePath.replace(/\s/g, '-');
  return { path: resourcePath, access };
}

/** Name of the content-addressed copy in dist/assets: the hash goes before the visibility marker and extension. */
export function versionedRel(asset: Pick<SourceAsset, 'rel' | 'visibility'>, version: string): string {
  const ext = path.posix.extname(asset.rel);
  const dir = path.posix.dirname(asset.rel);
  let base = path.posix.basename(asset.rel, ext);
  const marker = asset.visibility === 'public' ? '' : `.${asset.visibility}`;
  if (marker && base.endsWith(marker)) base = base.slice(0, -marker.length);
  else if (marker) base = base.replace(marker, '');
  const file = `${base}.${version}${marker}${ext}`;
  return dir === '.' ? file : `${dir}/${file}`;
}

/** A directory entry the build will not deploy and will not drop silently either: the build fails naming it. */
export interface RefusedEntry {
  rel: string;
  rule: 'symlink' | 'not-a-file';
  message: string;
}

interface Walk {
  out: string[];
  refused: RefusedEntry[];
  /** real paths a symlink may point into: the project (and the assets folder itself) */
  within: string[];
}

/** Dotfiles, files in dot folders and OS junk: skipped by the scan with a note. */
function neverDeployed(rel: string): boolean {
  const segments = rel.split('/');
  return OS_JUNK.has(segments[segments.length - 1]) || segments.some((s) => s.startsWith('.'));
}

const isInside = (file: string, dir: string) => file === dir || file.startsWith(dir + path.sep);

/**
 * Follows symlinks, as twilio-run's own scan (recursive-readdir, which stats through links) and the deploy's
 * read of each file do, so a linked file is served locally and deployed alike. A link is refused, naming it,
 * when it dangles, loops, or leads out of the project: a link to a home folder would publish whatever is there.
 */
function walk(dir: string, prefix: string, into: Walk, ancestors: string[]): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    const abs = path.join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink() && neverDeployed(rel)) {
      into.out.push(rel); // listed to be skipped with its note, like any dotfile: where it leads does not matter
      continue;
    }
    if (entry.isSymbolicLink()) {
      const link = fs.readlinkSync(abs);
      let real: string;
      const refuse = (why: string) =>
        into.refused.push({
          rel,
          rule: 'symlink',
          message: `${rel}: symlink to ${link} ${why}; replace it with the file or remove it`,
        });
      try {
        real = fs.realpathSync(abs);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        refuse(code === 'ELOOP' ? 'loops' : 'points to nothing');
        continue;
      }
      if (!into.within.some((d) => isInside(real, d))) {
        refuse(`leads out of the project (to ${real})`);
        continue;
      }
      const stat = fs.statSync(real);
      if (stat.isDirectory() && ancestors.some((a) => isInside(a, real))) {
        refuse(`loops back to ${path.relative(into.within[0], real) || '.'}, a folder that contains it`);
        continue;
      }
      isDir = stat.isDirectory();
      isFile = stat.isFile();
    }
    if (isDir) walk(abs, rel, into, [...ancestors, fs.realpathSync(abs)]);
    else if (isFile) into.out.push(rel);
    else
      into.refused.push({
        rel,
        rule: 'not-a-file',
        message: `${rel}: neither a file nor a folder (a socket, FIFO or device); remove it`,
      });
  }
}

export interface ScanOptions {
  /** folders a symlink in the tree may point into besides the tree itself (the project); default none */
  within?: string[];
}

/**
 * Lists the asset tree (stat only, no reads). Dotfiles and OS junk are skipped with a note, never deployed;
 * symlinks are followed or refused (see walk).
 */
export function scanAssets(dir: string, options: ScanOptions = {}): AssetScan {
  const rels: string[] = [];
  const refused: RefusedEntry[] = [];
  if (fs.existsSync(dir)) {
    const root = fs.realpathSync(dir);
    const within = [...(options.within ?? []), dir].map((d) =>
      fs.existsSync(d) ? fs.realpathSync(d) : path.resolve(d),
    );
    walk(dir, '', { out: rels, refused, within }, [root]);
  }
  rels.sort();
  const files: SourceAsset[] = [];
  const skipped: SkippedFile[] = [];
  for (const rel of rels) {
    const segments = rel.split('/');
    const base = segments[segments.length - 1];
    if (OS_JUNK.has(base)) {
      skipped.push({ rel, reason: 'OS or VCS junk file, not uploaded' });
      continue;
    }
    if (segments.some((s) => s.startsWith('.'))) {
      skipped.push({ rel, reason: 'dotfile or file in a dot folder, not uploaded' });
      continue;
    }
    const abs = path.join(dir, ...segments);
    const stat = fs.statSync(abs);
    const { path: deployedPath, access } = twilioPathAndAccess(rel);
    files.push({
      rel,
      abs,
      bytes: stat.size,
      mtimeMs: stat.mtimeMs,
      visibility: access,
      deployedPath,
      name: deployedPath.slice(1),
    });
  }
  return { dir, files, skipped, refused };
}

/** Whether a logical name is declared not media ("notMedia" globs of media.config.json). */
export function isNotMedia(patterns: readonly string[], name: string): boolean {
  return patterns.some((pattern) => picomatch.isMatch(name, pattern, { dot: true }));
}
