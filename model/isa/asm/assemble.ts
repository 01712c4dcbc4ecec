// The assembler's entry point: source files (through a read-file callback,
// so the library never touches the disk) to a flat binary or an ELF32
// executable, or to every error found, each with file, line and column.
import { type AsmError, type ReadBinary, type ReadFile, resolveInclude } from './source';
import type { ParsedLine } from './statements';
import { preprocess } from './preprocess';
import { parseLines } from './statements';
import { isMnemonic } from './instructions';
import { layout as runLayout, type Layout } from './layout';
import { elfExecutable, flatBinary } from './output';

export interface AssembleOptions {
  /** `-D NAME[=VALUE]`: predefined single-line macros. */
  readonly defines?: Readonly<Record<string, string>>;
  readonly format: 'bin' | 'elf';
  /** Reads the file of an `incbin` (null: no such file). Without it, `incbin` is an error. */
  readonly readBinary?: ReadBinary;
}

export type AssembleResult =
  | { readonly kind: 'ok'; readonly bytes: Uint8Array; readonly symbols: ReadonlyMap<string, number>; readonly layout: Layout }
  | { readonly kind: 'error'; readonly errors: readonly AsmError[] };

const byPlace = (a: AsmError, b: AsmError): number =>
  a.file === b.file ? a.line - b.line || a.column - b.column : 0;

export function assemble(mainFile: string, readFile: ReadFile, options: AssembleOptions): AssembleResult {
  const pre = preprocess(mainFile, readFile, options.defines ?? {});
  const parsed = parseLines(pre.lines, isMnemonic);
  const binaries = readBinaries(parsed.lines, options.readBinary);
  const early = [...pre.errors, ...parsed.errors, ...binaries.errors];
  if (early.length > 0) return { kind: 'error', errors: [...early].sort(byPlace) };
  const laid = runLayout(binaries.lines);
  if (laid.kind === 'error') return { kind: 'error', errors: [...laid.errors].sort(byPlace) };
  const symbols = new Map([...laid.layout.symbols].map(([k, v]) => [k, Number(BigInt.asUintN(32, v.value))] as const));
  const bytes = options.format === 'bin' ? flatBinary(laid.layout) : elfExecutable(laid.layout);
  return { kind: 'ok', bytes, symbols, layout: laid.layout };
}

/** Each `incbin` becomes the bytes of its file: the name is looked up
 * beside the file that names it (as `%include`), then as given. */
function readBinaries(lines: readonly ParsedLine[], readBinary: ReadBinary | undefined): { lines: ParsedLine[]; errors: AsmError[] } {
  const errors: AsmError[] = [];
  const out = lines.map((line): ParsedLine => {
    const s = line.statement;
    if (s.kind !== 'incbin') return line;
    const at = { ...line.at, column: s.column };
    if (readBinary === undefined) { errors.push({ ...at, message: "'incbin' needs the assembler to be given a way to read binary files" }); return line; }
    const beside = resolveInclude(line.at.file, s.file);
    const bytes = readBinary(beside) ?? readBinary(s.file);
    if (bytes === null) { errors.push({ ...at, message: `cannot read the incbin file '${s.file}' (looked for ${beside === s.file ? s.file : `${beside} and ${s.file}`})` }); return line; }
    return { ...line, statement: { kind: 'binary', bytes, skip: s.skip, count: s.count } };
  });
  return { lines: out, errors };
}

/** Assembles source text held in memory (tests, the REPL): files by name. */
export function assembleText(files: Readonly<Record<string, string>>, mainFile: string, options: AssembleOptions): AssembleResult {
  return assemble(mainFile, (path) => files[path] ?? null, options);
}
