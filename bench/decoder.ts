// Decoder throughput over a realistic mixed stream: instructions drawn from
// the opcode map with the fixed property seed, weighted toward the common
// ones (MOV, ALU, PUSH/POP, Jcc, CALL/RET), laid end to end and decoded
// front to back, as the CPU model does one step at a time.
import fc from 'fast-check';
import type { Instruction } from '../model/isa/ast';
import { decode } from '../model/isa/decoder';
import { encode } from '../model/isa/encoder';
import { FORMS } from '../model/isa/opcodes';
import { arbInstructionOfForm } from '../properties/isa/arbitrary';
import { propertySeed } from '../properties/seed';
import { perSecond } from './measure';

export interface DecoderBenchResult {
  readonly name: string;
  readonly instructionsPerSecond: { readonly min: number; readonly median: number };
  readonly instructions: number;
  readonly bytes: number;
  readonly runs: number;
}

const COMMON = new Set(['mov', 'add', 'sub', 'cmp', 'test', 'and', 'or', 'xor', 'push', 'pop', 'jcc', 'call', 'ret', 'lea', 'inc', 'dec', 'jmp']);

function stream(count: number): { bytes: Uint8Array; instructions: number } {
  const weighted = FORMS.filter((f) => !f.decodeOnly && !f.encodeOnly)
    .map((f) => ({ weight: COMMON.has(f.mnemonic) ? 8 : 1, arbitrary: arbInstructionOfForm(f) }));
  const instructions: Instruction[] = fc.sample(fc.oneof(...weighted), { seed: propertySeed(), numRuns: count });
  const parts = instructions.map(encode);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  return { bytes, instructions: count };
}

export async function benchDecoder(runs = 7, count = 50_000): Promise<DecoderBenchResult> {
  const { bytes, instructions } = stream(count);
  const decodeAll = (): number => {
    let decoded = 0;
    for (let offset = 0; offset < bytes.length;) {
      const r = decode(bytes, offset);
      if (r.kind !== 'ok') throw new Error(`bench stream does not decode at ${offset}: ${r.kind}`);
      offset += r.length;
      decoded++;
    }
    return decoded;
  };
  decodeAll(); // warm-up
  const rates: number[] = [];
  for (let run = 0; run < Math.max(5, runs); run++) {
    const start = performance.now();
    const decoded = decodeAll();
    const ms = performance.now() - start;
    if (decoded !== instructions) throw new Error(`decoded ${decoded} of ${instructions} instructions`);
    rates.push(perSecond(instructions, ms));
  }
  rates.sort((a, b) => a - b);
  const mid = rates.length >> 1;
  const median = rates.length % 2 ? rates[mid]! : (rates[mid - 1]! + rates[mid]!) / 2;
  return {
    name: 'decoder',
    // min: the slowest run's rate; median: the middle one (runs on a shared machine are noisy).
    instructionsPerSecond: { min: rates[0]!, median },
    instructions,
    bytes: bytes.length,
    runs: rates.length,
  };
}
