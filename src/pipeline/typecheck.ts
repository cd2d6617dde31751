import * as path from 'node:path';
import ts from 'typescript';

export class TypeCheckError extends Error {
  constructor(
    readonly report: string,
    readonly count: number,
  ) {
    super(`TypeScript found ${count} error${count === 1 ? '' : 's'}:\n${report}`);
    this.name = 'TypeCheckError';
  }
}

/**
 * Type-checks the given entry files (and everything they import) with the project's tsconfig.
 * esbuild strips types without checking them, so without this a type error would deploy.
 */
export function typeCheck(entryFiles: string[], projectRoot: string): void {
  const configPath = path.join(projectRoot, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (file) => ts.sys.readFile(file));
  if (read.error) {
    throw new TypeCheckError(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'), 1);
  }
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, projectRoot);
  const program = ts.createProgram(entryFiles, { ...parsed.options, noEmit: true });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length === 0) return;
  const host: ts.FormatDiagnosticsHost = {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => projectRoot,
    getNewLine: () => '\n',
  };
  // formatDiagnostics prints "path/file.ts(line,col): error TSxxxx: message", naming file and line.
  throw new TypeCheckError(ts.formatDiagnostics(diagnostics, host), diagnostics.length);
}
