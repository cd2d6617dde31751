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

export interface CheckedModules {
  /** the names a checked entry file exports, CommonJS (`exports.x =`, `module.exports = {...}`) included */
  exportsOf: (file: string) => string[];
}

/**
 * Type-checks the given entry files (and everything they import) with the project's tsconfig.
 * esbuild strips types without checking them, so without this a type error would deploy.
 * JavaScript is parsed (a syntax error fails here, naming file and line) but type-checked only when the file
 * opts in with a `// @ts-check` first line: under the project's strict options every untyped sample
 * (`function (context, event, callback)`) would fail on its implicit `any` parameters.
 */
export function typeCheck(entryFiles: string[], projectRoot: string): CheckedModules {
  const configPath = path.join(projectRoot, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (file) => ts.sys.readFile(file));
  if (read.error) {
    throw new TypeCheckError(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'), 1);
  }
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, projectRoot);
  const program = ts.createProgram(entryFiles, { ...parsed.options, noEmit: true, allowJs: true, checkJs: false });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    const host: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => projectRoot,
      getNewLine: () => '\n',
    };
    // formatDiagnostics prints "path/file.ts(line,col): error TSxxxx: message", naming file and line.
    throw new TypeCheckError(ts.formatDiagnostics(diagnostics, host), diagnostics.length);
  }
  const checker = program.getTypeChecker();
  return {
    exportsOf: (file) => {
      const source = program.getSourceFile(file);
      if (!source) return [];
      // a CommonJS JavaScript file's module symbol is not reachable through getSymbolAtLocation
      const moduleSymbol = checker.getSymbolAtLocation(source) ?? (source as { symbol?: ts.Symbol }).symbol;
      if (!moduleSymbol) return [];
      const names = checker.getExportsOfModule(moduleSymbol).map((s) => s.name);
      const assigned = moduleSymbol.exports?.get(ts.InternalSymbolName.ExportEquals);
      if (assigned)
        names.push(
          ...checker
            .getTypeOfSymbol(assigned)
            .getProperties()
            .map((p) => p.name),
        );
      return names;
    },
  };
}
