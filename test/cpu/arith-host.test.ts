// The model's pure arithmetic against the host CPU: every operation, every
// operand size, thousands of edge-biased inputs, undefined flags masked by
// the model's own undefined mask. Ids: [INS.ALU.1] [INS.ALU.2] [INS.ALU.3]
// [INS.ALU.4] [INS.ALU.5] [INS.ALU.6] [INS.SHIFT.1] [INS.SHIFT.2]
// [INS.SHIFT.3] [INS.SHIFT.4] [INS.SHIFT.5] [INS.SHIFT.6] [INS.SHIFT.7]
// [INS.MUL.1] [INS.MUL.2] [INS.DIV.1] [INS.DIV.2] [INS.BIT.1] [INS.BIT.3]
// [INS.BIT.4] [INS.COND.1]
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OperandSize } from '../../model/isa/ast';
import { binaryOperations, unaryOperations } from '../../model/cpu/arith/alu';
import { bitTest, bsf, bsr, bswap, type BitTestKind } from '../../model/cpu/arith/bits';
import { conditionHolds } from '../../model/cpu/arith/conditions';
import { STATUS_FLAGS, truncate, type ArithResult } from '../../model/cpu/arith/flags';
import { div, idiv, imul, mul } from '../../model/cpu/arith/muldiv';
import { shiftOperations, shld, shrd } from '../../model/cpu/arith/shifts';
import { propertySeed } from '../../properties/seed';
import { hostOracleAvailable, runOnHost, type OracleInput } from '../host/alu-oracle';

interface ModelOutput {
  readonly result: number;
  readonly result2: number;
  readonly flags: number;
  readonly undefined: number;
  readonly divideError: boolean;
}

const fromArith = (r: ArithResult, result2 = 0): ModelOutput => ({
  result: r.result, result2, flags: r.flags, undefined: r.undefined, divideError: false,
});

function runOnModel(i: OracleInput): ModelOutput {
  const { op, size, a, b, c, flags } = i;
  if (op in binaryOperations) {
    const r = binaryOperations[op as keyof typeof binaryOperations](size, a, b, flags);
    // CMP and TEST compute a result only for its flags; the destination keeps its value.
    return fromArith(op === 'cmp' || op === 'test' ? { ...r, result: a } : r);
  }
  if (op in unaryOperations) return fromArith(unaryOperations[op as keyof typeof unaryOperations](size, a, flags));
  if (op in shiftOperations) return fromArith(shiftOperations[op as keyof typeof shiftOperations](size, a, b, flags));
  switch (op) {
    case 'shld': return fromArith(shld(size, a, b, c, flags));
    case 'shrd': return fromArith(shrd(size, a, b, c, flags));
    case 'mul': { const p = mul(size, a, b, flags); return fromArith(p, p.high); }
    case 'imul1': { const p = imul(size, a, b, flags); return fromArith(p, p.high); }
    case 'imul2': return fromArith(imul(size, a, b, flags));
    case 'div':
    case 'idiv': {
      const q = (op === 'div' ? div : idiv)(size, a, c, b, flags);
      if (q.kind === 'divide-error') return { result: 0, result2: 0, flags: 0, undefined: STATUS_FLAGS, divideError: true };
      return { result: q.quotient, result2: q.remainder, flags: q.flags, undefined: q.undefined, divideError: false };
    }
    case 'bt': case 'bts': case 'btr': case 'btc': return fromArith(bitTest(op as BitTestKind, size, a, b, flags));
    case 'bsf': return fromArith(bsf(size, a, b, flags));
    case 'bsr': return fromArith(bsr(size, a, b, flags));
    case 'bswap': return fromArith(bswap(size, a, flags));
    case 'setcc': return { result: conditionHolds(b, flags) ? 1 : 0, result2: 0, flags, undefined: 0, divideError: false };
    default: throw new Error(`no model operation for '${op}'`);
  }
}

const EDGES = [0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff,
  0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678, 0x99, 0x09];
const COUNTS = [0, 1, 2, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 63, 0xff];
const FLAG_SETTINGS = [0, STATUS_FLAGS, 0x001, 0x010, 0x0c4, 0x801, 0x011];

const seed = propertySeed();
const randomWords = (n: number, salt: number): number[] =>
  fc.sample(fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(...EDGES)), { seed: seed + salt, numRuns: n });

function sizedEdges(size: OperandSize): number[] {
  return [...new Set(EDGES.map((e) => truncate(size, e)).concat(EDGES.map((e) => truncate(size, ~e))))];
}

/** Edge × edge for every size and flag setting, then random pairs. */
function pairs(ops: readonly string[], sizes: readonly OperandSize[], second: (size: OperandSize) => number[], salt: number): OracleInput[] {
  const inputs: OracleInput[] = [];
  const rand = randomWords(4000, salt);
  for (const op of ops) for (const size of sizes) {
    for (const a of sizedEdges(size)) for (const b of second(size)) {
      const flags = FLAG_SETTINGS[(a ^ b ^ inputs.length) % FLAG_SETTINGS.length]!;
      inputs.push({ op, size, a, b, c: 0, flags });
    }
    for (let k = 0; k + 2 < rand.length; k += 3) {
      const bs = second(size);
      const b = bs === EDGES ? rand[k + 1]! : bs[rand[k + 1]! % bs.length]!;
      inputs.push({ op, size, a: truncate(size, rand[k]!), b: truncate(32, b), c: rand[k + 2]!, flags: rand[k + 2]! & STATUS_FLAGS });
    }
  }
  return inputs;
}

function compare(inputs: readonly OracleInput[]): void {
  const host = runOnHost(inputs);
  const failures: string[] = [];
  inputs.forEach((input, k) => {
    const want = host[k]!;
    const got = runOnModel(input);
    const mask = STATUS_FLAGS & ~got.undefined;
    const ok = want.divideError
      ? got.divideError
      : !got.divideError && got.result === want.result && got.result2 === want.result2 && (got.flags & mask) === (want.flags & mask);
    if (!ok && failures.length < 20) {
      failures.push(`${JSON.stringify(input)}: host ${JSON.stringify(want)} model ${JSON.stringify({ ...got, flags: got.flags & mask })} mask ${mask.toString(16)}`);
    }
  });
  expect(failures).toEqual([]);
}

const available = hostOracleAvailable();
const ALL: readonly OperandSize[] = [8, 16, 32];
const WIDE: readonly OperandSize[] = [16, 32];

describe.skipIf(!available)('arithmetic against the host CPU', () => {
  it('[INS.ALU.1] [INS.ALU.2] [INS.ALU.3] add adc sub sbb cmp and or xor test', () => {
    compare(pairs(['add', 'adc', 'sub', 'sbb', 'cmp', 'and', 'or', 'xor', 'test'], ALL, sizedEdges, 1));
  });
  it('[INS.ALU.4] [INS.ALU.5] [INS.ALU.6] inc dec neg not', () => {
    compare(pairs(['inc', 'dec', 'neg', 'not'], ALL, () => [0], 2));
  });
  it('[INS.SHIFT.1] [INS.SHIFT.2] [INS.SHIFT.3] [INS.SHIFT.4] [INS.SHIFT.5] shifts and rotates, counts 0..255', () => {
    compare(pairs(['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar'], ALL, () => COUNTS, 3));
  });
  it('[INS.SHIFT.6] [INS.SHIFT.7] shld shrd, including 16-bit counts above 16', () => {
    const inputs: OracleInput[] = [];
    const rand = randomWords(3000, 4);
    for (const op of ['shld', 'shrd']) for (const size of WIDE) {
      for (const a of sizedEdges(size)) for (const c of COUNTS) {
        inputs.push({ op, size, a, b: truncate(size, 0x5a3c96e1 ^ a), c, flags: c & 1 ? STATUS_FLAGS : 0 });
      }
      for (let k = 0; k + 2 < rand.length; k += 3) {
        inputs.push({ op, size, a: truncate(size, rand[k]!), b: truncate(size, rand[k + 1]!), c: rand[k + 2]! & 0xff, flags: rand[k + 2]! & STATUS_FLAGS });
      }
    }
    compare(inputs);
  });
  it('[INS.MUL.1] [INS.MUL.2] mul, one- and two-operand imul', () => {
    compare([...pairs(['mul', 'imul1'], ALL, sizedEdges, 5), ...pairs(['imul2'], WIDE, sizedEdges, 6)]);
  });
  it('[INS.DIV.1] [INS.DIV.2] div idiv, including #DE on zero and on overflow', () => {
    const inputs: OracleInput[] = [];
    const rand = randomWords(6000, 7);
    for (const op of ['div', 'idiv']) for (const size of ALL) {
      const edges = sizedEdges(size);
      for (const a of edges) for (const b of edges) for (const c of [0, 1, truncate(size, -1), signBitOf(size), truncate(size, a >>> 3), b - 1 >= 0 ? b - 1 : 0]) {
        inputs.push({ op, size, a, b, c: truncate(size, c), flags: 0 });
      }
      for (let k = 0; k + 2 < rand.length; k += 3) {
        const b = truncate(size, rand[k + 1]!);
        // Keep the high half below the divisor half of the time, so most random cases do not fault.
        const c = k % 2 ? truncate(size, rand[k + 2]!) : b === 0 ? 0 : truncate(size, rand[k + 2]!) % b;
        inputs.push({ op, size, a: truncate(size, rand[k]!), b, c, flags: rand[k]! & STATUS_FLAGS });
      }
    }
    compare(inputs);
  });
  it('[INS.BIT.1] bt bts btr btc (register offsets)', () => {
    compare(pairs(['bt', 'bts', 'btr', 'btc'], WIDE, () => [0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 0x80000000, 0xffffffff], 8));
  });
  it('[INS.BIT.3] [INS.BIT.4] bsf bsr (zero source included) and bswap', () => {
    compare([...pairs(['bsf', 'bsr'], WIDE, sizedEdges, 9), ...pairs(['bswap'], WIDE, () => [0], 10)]);
  });
  it('[INS.COND.1] the sixteen conditions under all 64 combinations of CF PF AF ZF SF OF', () => {
    const inputs: OracleInput[] = [];
    for (let cond = 0; cond < 16; cond++) for (let bits = 0; bits < 64; bits++) {
      const flags = [0x001, 0x004, 0x010, 0x040, 0x080, 0x800].reduce((f, bit, k) => (bits & (1 << k) ? f | bit : f), 0);
      inputs.push({ op: 'setcc', size: 8, a: 0, b: cond, c: 0, flags });
    }
    compare(inputs);
  });
});

function signBitOf(size: OperandSize): number {
  return size === 32 ? 0x80000000 : 1 << (size - 1);
}
