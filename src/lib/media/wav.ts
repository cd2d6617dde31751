/**
 * The whole file's size that a RIFF/WAVE header declares, or undefined when the bytes do not start with one.
 * A download is complete when it matches; a header alone says how large the recording is.
 */
export function wavDeclaredBytes(header: Buffer): number | undefined {
  if (header.length < 12 || header.toString('latin1', 0, 4) !== 'RIFF' || header.toString('latin1', 8, 12) !== 'WAVE')
    return undefined;
  return header.readUInt32LE(4) + 8;
}
