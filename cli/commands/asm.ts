// `mesovirt asm IN.asm -o OUT [--format bin|elf] [-D NAME[=VALUE]]...`:
// assemble a NASM-syntax source with mesovirt's own assembler. The output
// is written to a temporary file next to OUT and renamed into place, so a
// failed build never leaves a partial (or stale-looking) file behind.
import type { Command } from 'commander';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { assemble } from '../../model/isa/asm/assemble';
import { formatError } from '../../model/isa/asm/source';
import { readBinaryFile, readSourceFile } from '../../properties/assemble-file';

/** Parses `NAME` or `NAME=VALUE` into a define (NAME alone defines it as empty). */
function parseDefine(text: string, previous: Record<string, string>): Record<string, string> {
  const m = /^([A-Za-z_.?][A-Za-z0-9_$#@~.?]*)(?:=(.*))?$/.exec(text);
  if (m === null) throw new Error(`-D expects NAME or NAME=VALUE, got '${text}'`);
  return { ...previous, [m[1]!]: m[2] ?? '' };
}

/** Writes a file whole or not at all: to a temporary name, then renamed. */
export function writeWhole(path: string, bytes: Uint8Array): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, bytes);
    renameSync(temp, path);
  } finally {
    if (existsSync(temp)) rmSync(temp);
  }
}

export function register(program: Command): void {
  program
    .command('asm')
    .description('assemble a NASM-syntax source into a flat binary or an ELF32 executable')
    .argument('<input>', 'the .asm source')
    .requiredOption('-o, --output <file>', 'the output file')
    .option('--format <format>', 'bin (flat, as nasm -f bin) or elf (ELF32 executable)', 'elf')
    .option('-D, --define <NAME[=VALUE]>', 'predefine a single-line macro (repeatable)', parseDefine, {})
    .action((input: string, options: { output: string; format: string; define: Record<string, string> }) => {
      if (options.format !== 'bin' && options.format !== 'elf') throw new Error(`--format must be bin or elf, not '${options.format}'`);
      if (!existsSync(input)) throw new Error(`cannot read '${input}': no such file`);
      const result = assemble(input, readSourceFile, { format: options.format, defines: options.define, readBinary: readBinaryFile });
      if (result.kind === 'error') {
        for (const e of result.errors) process.stderr.write(`${formatError(e)}\n`);
        process.stderr.write(`mesovirt asm: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}, nothing written\n`);
        process.exitCode = 1;
        return;
      }
      writeWhole(options.output, result.bytes);
    });
}
