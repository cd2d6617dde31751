import * as fs from 'node:fs';
import * as path from 'node:path';

export interface StagedAssets {
  public: number;
  protected: number;
  private: number;
}

/** Visibility from the file name, as twilio-run decides it: the marker sits right before the last extension. */
export function visibilityOf(fileName: string): 'public' | 'protected' | 'private' {
  if (/\.protected\.[^./]+$/.test(fileName) || fileName.endsWith('.protected')) return 'protected';
  if (/\.private\.[^./]+$/.test(fileName) || fileName.endsWith('.private')) return 'private';
  return 'public';
}

/**
 * Placeholder stage until the asset pipeline lands: copies assets/ to dist/assets unchanged.
 */
export function stageAssets(assetsDir: string, outDir: string): StagedAssets {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const counts: StagedAssets = { public: 0, protected: 0, private: 0 };
  if (!fs.existsSync(assetsDir)) return counts;
  for (const rel of fs.readdirSync(assetsDir, { recursive: true, encoding: 'utf8' })) {
    const from = path.join(assetsDir, rel);
    if (!fs.statSync(from).isFile() || path.basename(rel).startsWith('.')) continue;
    fs.mkdirSync(path.dirname(path.join(outDir, rel)), { recursive: true });
    fs.copyFileSync(from, path.join(outDir, rel));
    counts[visibilityOf(path.basename(rel))] += 1;
  }
  return counts;
}
