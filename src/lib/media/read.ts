import * as fs from 'node:fs';

/** Bytes start..end (inclusive) of a file, reading only that span. */
export function readFileRange(file: string, start: number, end: number, expectedSize?: number): Buffer {
  const length = Math.max(0, end - start + 1);
  const buffer = Buffer.allocUnsafe(length);
  if (length === 0) return buffer;
  const fd = fs.openSync(file, 'r');
  try {
    let read = 0;
    while (read < length) {
      const n = fs.readSync(fd, buffer, read, length - read, start + read);
      if (n === 0)
        throw new Error(
          `${file} is shorter than expected${expectedSize === undefined ? '' : ` (${expectedSize} bytes)`}`,
        );
      read += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return buffer;
}
