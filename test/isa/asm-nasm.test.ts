// The assembler against nasm as the oracle: for representative sources,
// `nasm -f bin` and our assembler must produce identical flat bytes. The
// big fixture exercises every directive, expressions and number forms,
// macros, local labels, relaxation both ways and every addressing form.
// Also the property of issue 3: assembling the disassembler's text gives
// the encoder's bytes, for random instructions from the opcode map.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble, assembleText } from '../../model/isa/asm/assemble';
import { formatError } from '../../model/isa/asm/source';
import { disassemble } from '../../model/isa/disassembler';
import { encode } from '../../model/isa/encoder';
import { arbInstruction } from '../../properties/isa/arbitrary';
import { propertyParams } from '../../properties/seed';
import { oracleAvailable } from '../../properties/tools';

const haveNasm = oracleAvailable('nasm');
const fixtures = join(import.meta.dirname, 'asm-fixtures');
const readFile = (p: string): string | null => (existsSync(p) ? readFileSync(p, 'utf8') : null);

function ours(file: string, defines: Record<string, string> = {}): Uint8Array {
  const r = assemble(file, readFile, { format: 'bin', defines });
  if (r.kind === 'error') throw new Error(r.errors.map(formatError).join('\n'));
  return r.bytes;
}

function nasm(file: string, defines: Record<string, string> = {}): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-nasm-'));
  try {
    const out = join(dir, 'out.bin');
    const dirOf = file.slice(0, file.lastIndexOf('/') + 1);
    const d = Object.entries(defines).map(([k, v]) => (v === '' ? `-D${k}` : `-D${k}=${v}`));
    // nasm looks for %include files in -I directories; we look next to the including file.
    execFileSync('nasm', ['-f', 'bin', '-w-all', `-I${dirOf}`, ...d, file, '-o', out]);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe.runIf(haveNasm)('the assembler agrees with nasm -f bin', () => {
  const sources: [string, string, Record<string, string>][] = [
    ['hello (ELF flavour)', 'guests/hello/hello.asm', {}],
    ['hello (a.out kludge)', 'guests/hello/hello.asm', { MULTIBOOT_AOUT_KLUDGE: '' }],
    ['every directive, expression, macro and addressing form', join(fixtures, 'everything.asm'), {}],
    ['the same with -D FEATURE (other %if branches)', join(fixtures, 'everything.asm'), { FEATURE: '' }],
    ['the same with -D OTHER=1', join(fixtures, 'everything.asm'), { OTHER: '1' }],
    ['branch relaxation', join(fixtures, 'relax.asm'), {}],
    ['the rest of the Pentium integer set (issue 14) [ENC.PREFIX.8] [ENC.NOP.2]', join(fixtures, 'pentium.asm'), {}],
  ];
  test.each(sources)('%s', (_name, file, defines) => {
    expect(hex(ours(file, defines))).toBe(hex(nasm(file, defines)));
  });
});

// [relaxation] Our choice of short and near agrees with nasm for branches at
// every distance around the rel8 limits, forwards and backwards.
describe.runIf(haveNasm)('relaxation at the edge of short reach', () => {
  test('forward and backward gaps from 120 to 135 bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesovirt-relax-'));
    try {
      for (let gap = 120; gap <= 135; gap++) {
        const src = `bits 32\norg 0x1000\nstart:\n  jz fwd\n  jmp fwd\n  times ${gap} nop\nfwd:\n  times ${gap} nop\n  jnz start\n  jmp fwd\n`;
        const file = join(dir, `gap${gap}.asm`);
        execFileSync('sh', ['-c', `cat > '${file}'`], { input: src });
        expect(hex(ours(file)), `gap ${gap}`).toBe(hex(nasm(file)));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(haveNasm)('assembling disassembled text gives the encoder\'s bytes', () => {
  test('for random instructions of the opcode map', () => {
    const address = 0x100000;
    fc.assert(
      fc.property(arbInstruction(), (i) => {
        const text = disassemble(i, address);
        const r = assembleText({ 'x.asm': `bits 32\norg ${address}\n${text}\n` }, 'x.asm', { format: 'bin' });
        if (r.kind === 'error') throw new Error(`${text}: ${r.errors.map(formatError).join('; ')}`);
        expect(hex(r.bytes), text).toBe(hex(encode(i)));
      }),
      propertyParams(2000),
    );
  });
});
