// A source file assembled by our own assembler, for tests, benchmarks and
// the command line: includes (and incbin files) are read from disk, and a
// file that does not assemble throws with each error as file:line:column.
import { readFileSync } from 'node:fs';
import { assemble, assembleText, type AssembleOptions } from '../model/isa/asm/assemble';
import { formatError } from '../model/isa/asm/source';

/** A source or include file's text, or null when it cannot be read (the assembler's ReadFile). */
export const readSourceFile = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** An incbin file's bytes, or null when it cannot be read (a directory, say). */
export const readBinaryFile = (path: string): Uint8Array | null => {
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    return null;
  }
};

/** The bytes and symbols of `path` assembled with `options`; throws naming
 * every error (after `what`, when given: "gandalf: …"). */
export function assembleFileWithSymbols(
  path: string, options: AssembleOptions, what?: string,
): { readonly bytes: Uint8Array; readonly symbols: ReadonlyMap<string, number> } {
  const result = assemble(path, readSourceFile, { readBinary: readBinaryFile, ...options });
  if (result.kind === 'error') {
    const errors = result.errors.map(formatError).join('\n');
    throw new Error(what === undefined ? errors : `${what} does not assemble:\n${errors}`);
  }
  return { bytes: result.bytes, symbols: result.symbols };
}

/** The bytes of `path` assembled with `options` (see assembleFileWithSymbols). */
export const assembleFile = (path: string, options: AssembleOptions, what?: string): Uint8Array =>
  assembleFileWithSymbols(path, options, what).bytes;

/** The bytes of a source written inline (a test's guest), assembled as
 * `name` with `options` (a flat binary unless told otherwise); includes are
 * not read. Throws naming every error. */
export function assembleSource(name: string, source: string, options: AssembleOptions = { format: 'bin' }): Uint8Array {
  const result = assembleText({ [name]: source }, name, options);
  if (result.kind === 'error') throw new Error(`${name} does not assemble:\n${result.errors.map(formatError).join('\n')}`);
  return result.bytes;
}
