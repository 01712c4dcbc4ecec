// What the assembler reads and reports: source positions, errors, the
// read-file callback that keeps the library pure (it never touches the disk
// itself), and the small path helpers that `%include` needs.

/** A place in a source file; line and column count from 1. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One assembly error: where it is and what is wrong. */
export interface AsmError extends SourceLocation {
  readonly message: string;
}

/** Returns the text of a file, or null when there is no such file. */
export type ReadFile = (path: string) => string | null;
/** Returns the bytes of a file (for `incbin`), or null when there is no such file. */
export type ReadBinary = (path: string) => Uint8Array | null;

export const asmError = (at: SourceLocation, message: string): AsmError => ({
  file: at.file,
  line: at.line,
  column: at.column,
  message,
});

/** `file:line:col: message`, the form every error is printed in. */
export const formatError = (e: AsmError): string => `${e.file}:${e.line}:${e.column}: ${e.message}`;

/** The directory part of a '/'-separated path ('' for a bare name). */
export function dirname(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash + 1);
}

/** Resolves an included name against the including file's directory. */
export function resolveInclude(fromFile: string, name: string): string {
  if (name.startsWith('/')) return name;
  const parts = (dirname(fromFile) + name).split('/');
  const out: string[] = [];
  for (const [i, part] of parts.entries()) {
    if (part === '.' || (part === '' && i > 0)) continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..' && out[out.length - 1] !== '') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

/** A value or the errors that prevented it. */
export type Result<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'error'; readonly errors: readonly AsmError[] };
export const ok = <T>(value: T): Result<T> => ({ kind: 'ok', value });
export const fail = <T>(...errors: AsmError[]): Result<T> => ({ kind: 'error', errors });
