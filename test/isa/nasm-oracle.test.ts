// Against nasm: for 10,000 random instructions of the map per run, nasm
// assembling our disassembly yields exactly our encoder's bytes. The
// instructions are drawn from the fixed property seed and assembled in
// batches of 2,000 lines per nasm invocation; a batch that differs is split
// until the differing lines are found.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Instruction } from '../../model/isa/ast';
import { disassemble } from '../../model/isa/disassembler';
import { encode } from '../../model/isa/encoder';
import { arbInstruction } from '../../properties/isa/arbitrary';
import { nasmAssemble } from '../../properties/isa/nasm';
import { propertySeed } from '../../properties/seed';
import { oracleAvailable } from '../../properties/tools';

const ORIGIN = 0x100000;
const COUNT = 10_000;
const BATCH = 2_000;
const hex = (b: ArrayLike<number>): string => Buffer.from(Uint8Array.from(b)).toString('hex');

interface Line { instruction: Instruction; address: number; text: string; bytes: Uint8Array }

/** The lines of `lines` (consecutive) on which nasm disagrees with us. */
function disagreements(lines: readonly Line[]): string[] {
  if (lines.length === 0) return [];
  const expected = lines.flatMap((l) => [...l.bytes]);
  const result = nasmAssemble(lines.map((l) => l.text), lines[0]!.address);
  if (result.kind === 'ok' && hex(result.bytes) === hex(expected)) return [];
  if (lines.length === 1) {
    const l = lines[0]!;
    const theirs = result.kind === 'ok' ? hex(result.bytes) : result.message.trim().split('\n')[0];
    return [`${l.text}\n    ours: ${hex(l.bytes)}  nasm: ${theirs}\n    ast: ${JSON.stringify(l.instruction)}`];
  }
  const half = lines.length >> 1;
  return [...disagreements(lines.slice(0, half)), ...disagreements(lines.slice(half))];
}

describe.runIf(oracleAvailable('nasm'))('nasm oracle', () => {
  // [ENC.CHOICE.1] [ENC.CHOICE.2] [ENC.CHOICE.3] [ENC.CHOICE.4] [ENC.PREFIX.4]
  it(`nasm assembles our disassembly of ${COUNT} random instructions to our encoder's bytes`, () => {
    const instructions = fc.sample(arbInstruction(), { seed: propertySeed(), numRuns: COUNT });
    const found: string[] = [];
    for (let start = 0; start < COUNT; start += BATCH) {
      let address = ORIGIN;
      const lines = instructions.slice(start, start + BATCH).map((instruction) => {
        const bytes = encode(instruction);
        const line = { instruction, address, text: disassemble(instruction, address), bytes };
        address += bytes.length;
        return line;
      });
      found.push(...disagreements(lines));
      if (found.length >= 10) break;
    }
    expect(found.slice(0, 10).join('\n')).toBe('');
  });
});
