import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildProject } from '../../src/pipeline/project';
import { PROJECT_ROOT } from './paths';

export interface LargeBuild {
  dir: string;
  /** sha256 (hex) of each generated file, by logical name */
  sha256: Record<string, string>;
  remove(): void;
}

/** Deterministic bytes that differ at every offset, so a part placed at the wrong offset changes the hash. */
export function patternBytes(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  let i = 0;
  for (; i + 4 <= size; i += 4) bytes.writeUInt32LE(((i + seed) * 2654435761) >>> 0, i);
  for (; i < size; i++) bytes[i] = (i + seed) & 0xff;
  return bytes;
}

/**
 * A build of the project's own assets plus generated large ones (e.g. {"docs/manual.protected.pdf": 12e6}),
 * in a temporary folder: the repository keeps no multi-megabyte fixtures.
 */
export async function buildWithLargeAssets(files: Record<string, number>): Promise<LargeBuild> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-large-'));
  const assets = path.join(dir, 'src-assets');
  fs.cpSync(path.join(PROJECT_ROOT, 'assets'), assets, { recursive: true });
  const sha256: Record<string, string> = {};
  let seed = 1;
  for (const [rel, size] of Object.entries(files)) {
    const bytes = patternBytes(size, seed++);
    fs.mkdirSync(path.dirname(path.join(assets, rel)), { recursive: true });
    fs.writeFileSync(path.join(assets, rel), bytes);
    sha256[rel.replace(/\.(protected|private)(\.[^.]+)$/, '$2')] = createHash('sha256').update(bytes).digest('hex');
  }
  await buildProject({
    projectRoot: PROJECT_ROOT,
    assetsDir: assets,
    outDir: path.join(dir, 'dist'),
    hashCacheFile: null,
  });
  return { dir: path.join(dir, 'dist'), sha256, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
