/**
 * JSON.parse for a named file, failing with the caller's error type (so each reader keeps its own) and a
 * message that names the file and keeps the parser's position.
 */
export function parseJsonFile(text: string, source: string, fail: (message: string) => Error): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw fail(`${source}: not valid JSON (${(err as Error).message})`);
  }
}
