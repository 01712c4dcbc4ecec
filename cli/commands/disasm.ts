// `mesovirt disasm FILE [--org ADDR] [--offset N] [--length N] [--plain]`:
// a listing (address, bytes, NASM text) of a flat binary, or with --plain
// only the text, one instruction per line, which nasm (after `bits 32` and
// `org ADDR`) assembles back to the same bytes.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { listing } from '../../model/isa/listing';

function parseNumber(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`${name} must be a non-negative integer (decimal or 0x hex), got '${text}'`);
  }
  return value;
}

export function register(program: Command): void {
  program
    .command('disasm')
    .description('disassemble a flat 32-bit binary into NASM syntax')
    .argument('<file>', 'binary file')
    .option('--org <addr>', 'address of the first byte shown', '0')
    .option('--offset <n>', 'start this many bytes into the file', '0')
    .option('--length <n>', 'disassemble at most this many bytes')
    .option('--plain', 'only the instruction text, one per line')
    .action((file: string, options: { org: string; offset: string; length?: string; plain?: boolean }) => {
      let data: Uint8Array;
      try {
        data = new Uint8Array(readFileSync(file));
      } catch (e) {
        throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      const org = parseNumber('--org', options.org);
      const offset = parseNumber('--offset', options.offset);
      if (offset > data.length) throw new Error(`--offset ${offset} is past the end of ${file} (${data.length} bytes)`);
      const length = options.length === undefined ? data.length - offset : parseNumber('--length', options.length);
      const bytes = data.subarray(offset, Math.min(data.length, offset + length));
      const out: string[] = [];
      for (const line of listing(bytes, org)) {
        if (options.plain) out.push(line.text);
        else {
          const hex = Buffer.from(line.bytes).toString('hex').toUpperCase();
          out.push(`${line.address.toString(16).padStart(8, '0')}  ${hex.padEnd(30)}  ${line.text}`);
        }
      }
      process.stdout.write(out.join('\n') + (out.length > 0 ? '\n' : ''));
    });
}
