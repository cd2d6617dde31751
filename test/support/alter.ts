import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

/**
 * Overwrites the start of a file in place, same size, then puts its modification time back to the nanosecond
 * with `touch -r`, as `tar x`, `cp -p` and `rsync -a` do (fs.utimes would round it). Throws unless the file
 * then has its old size, mtime and inode: only its content (and its ctime, which no one can set) changed.
 */
export function alterInPlace(file: string, text: string): void {
  const reference = `${file}.mtime`;
  execFileSync('cp', ['-p', file, reference]);
  const before = fs.statSync(file);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, text, 0);
  fs.closeSync(fd);
  execFileSync('touch', ['-m', '-r', reference, file]);
  fs.rmSync(reference);
  const after = fs.statSync(file);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ino !== before.ino)
    throw new Error(`could not alter ${file} in place with its mtime kept`);
}
