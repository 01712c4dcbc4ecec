// The model's pure arithmetic against the host CPU: every operation, every
// operand size, thousands of edge-biased inputs. Only what the architecture
// defines is compared: flags in the model's undefined mask and results the
// model tags undefined are left out, so the suite passes on Intel and AMD
// hosts alike (a fake host answering as the other vendor proves it). The
// model's own choices there are checked against the vendor it follows, on
// that vendor only. Ids: [INS.ALU.1] [INS.ALU.2] [INS.ALU.3]
// [INS.ALU.4] [INS.ALU.5] [INS.ALU.6] [INS.SHIFT.1] [INS.SHIFT.2]
// [INS.SHIFT.3] [INS.SHIFT.4] [INS.SHIFT.5] [INS.SHIFT.6] [INS.SHIFT.7]
// [INS.MUL.1] [INS.MUL.2] [INS.DIV.1] [INS.DIV.2] [INS.BIT.1] [INS.BIT.3]
// [INS.BIT.4] [INS.COND.1] [INS.RESULT.1]
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
import { MODEL_FOLLOWS, doubleShift16, hostVendor, otherVendor, type Vendor } from '../../properties/oracles/vendors';
import { hostOracleAvailable, runOnHost, type OracleInput, type OracleOutput } from '../host/alu-oracle';

interface ModelOutput {
  readonly result: number;
  readonly result2: number;
  readonly flags: number;
  readonly undefined: number;
  readonly divideError: boolean;
  /** The manual leaves `result` undefined (INS.RESULT.1). */
  readonly resultUndefined: boolean;
}

const fromArith = (r: ArithResult, result2 = 0): ModelOutput => ({
  result: r.result, result2, flags: r.flags, undefined: r.undefined, divideError: false, resultUndefined: r.resultUndefined === true,
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
      if (q.kind === 'divide-error') return { result: 0, result2: 0, flags: 0, undefined: STATUS_FLAGS, divideError: true, resultUndefined: false };
      return { result: q.quotient, result2: q.remainder, flags: q.flags, undefined: q.undefined, divideError: false, resultUndefined: false };
    }
    case 'bt': case 'bts': case 'btr': case 'btc': return fromArith(bitTest(op as BitTestKind, size, a, b, flags));
    case 'bsf': return fromArith(bsf(size, a, b, flags));
    case 'bsr': return fromArith(bsr(size, a, b, flags));
    case 'bswap': return fromArith(bswap(size, a, flags));
    case 'setcc': return { result: conditionHolds(b, flags) ? 1 : 0, result2: 0, flags, undefined: 0, divideError: false, resultUndefined: false };
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

/**
 * Compare host answers with the model on what the architecture defines only:
 * flags outside the model's undefined mask, and the result unless the model
 * tags it undefined (INS.RESULT.1). Whatever a processor of either vendor
 * writes in the undefined parts passes. Returns one line per failure (at
 * most 20).
 */
function differences(inputs: readonly OracleInput[], host: readonly OracleOutput[]): string[] {
  const failures: string[] = [];
  inputs.forEach((input, k) => {
    const want = host[k]!;
    const got = runOnModel(input);
    const mask = STATUS_FLAGS & ~got.undefined;
    const ok = want.divideError
      ? got.divideError
      : !got.divideError && (got.resultUndefined || got.result === want.result) && got.result2 === want.result2 &&
        (got.flags & mask) === (want.flags & mask);
    if (!ok && failures.length < 20) {
      failures.push(`${JSON.stringify(input)}: host ${JSON.stringify(want)} model ${JSON.stringify({ ...got, flags: got.flags & mask })} mask ${mask.toString(16)}`);
    }
  });
  return failures;
}

const compare = (inputs: readonly OracleInput[]): void => expect(differences(inputs, runOnHost(inputs))).toEqual([]);

const ALL: readonly OperandSize[] = [8, 16, 32];
const WIDE: readonly OperandSize[] = [16, 32];

function doubleShiftInputs(): OracleInput[] {
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
  return inputs;
}

function divideInputs(): OracleInput[] {
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
  return inputs;
}

function conditionInputs(): OracleInput[] {
  const inputs: OracleInput[] = [];
  for (let cond = 0; cond < 16; cond++) for (let bits = 0; bits < 64; bits++) {
    const flags = [0x001, 0x004, 0x010, 0x040, 0x080, 0x800].reduce((f, bit, k) => (bits & (1 << k) ? f | bit : f), 0);
    inputs.push({ op: 'setcc', size: 8, a: 0, b: cond, c: 0, flags });
  }
  return inputs;
}

/** Every group of host comparisons: its title (with rule ids) and its inputs. */
const GROUPS: readonly { readonly title: string; readonly inputs: () => OracleInput[] }[] = [
  { title: '[INS.ALU.1] [INS.ALU.2] [INS.ALU.3] add adc sub sbb cmp and or xor test',
    inputs: () => pairs(['add', 'adc', 'sub', 'sbb', 'cmp', 'and', 'or', 'xor', 'test'], ALL, sizedEdges, 1) },
  { title: '[INS.ALU.4] [INS.ALU.5] [INS.ALU.6] inc dec neg not', inputs: () => pairs(['inc', 'dec', 'neg', 'not'], ALL, () => [0], 2) },
  { title: '[INS.SHIFT.1] [INS.SHIFT.2] [INS.SHIFT.3] [INS.SHIFT.4] [INS.SHIFT.5] shifts and rotates, counts 0..255',
    inputs: () => pairs(['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar'], ALL, () => COUNTS, 3) },
  { title: '[INS.SHIFT.6] [INS.SHIFT.7] [INS.RESULT.1] shld shrd, including 16-bit counts above 16 (result and flags masked there)', inputs: doubleShiftInputs },
  { title: '[INS.MUL.1] [INS.MUL.2] mul, one- and two-operand imul',
    inputs: () => [...pairs(['mul', 'imul1'], ALL, sizedEdges, 5), ...pairs(['imul2'], WIDE, sizedEdges, 6)] },
  { title: '[INS.DIV.1] [INS.DIV.2] div idiv, including #DE on zero and on overflow', inputs: divideInputs },
  { title: '[INS.BIT.1] bt bts btr btc (register offsets)',
    inputs: () => pairs(['bt', 'bts', 'btr', 'btc'], WIDE, () => [0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 0x80000000, 0xffffffff], 8) },
  { title: '[INS.BIT.3] [INS.BIT.4] [INS.RESULT.1] bsf bsr (zero source included) and bswap',
    inputs: () => [...pairs(['bsf', 'bsr'], WIDE, sizedEdges, 9), ...pairs(['bswap'], WIDE, () => [0], 10)] },
  { title: '[INS.COND.1] the sixteen conditions under all 64 combinations of CF PF AF ZF SF OF', inputs: conditionInputs },
];

const available = hostOracleAvailable();

describe.skipIf(!available)('arithmetic against the host CPU', () => {
  it.each(GROUPS.map((g) => [g.title, g] as const))('%s', (_, group) => compare(group.inputs()));
});

// ------------------------------------------------------------ vendors

const isUndefinedDoubleShift = (i: OracleInput): boolean =>
  (i.op === 'shld' || i.op === 'shrd') && i.size === 16 && (i.c & 31) > 16;
const undefinedDoubleShifts = (): OracleInput[] => doubleShiftInputs().filter(isUndefinedDoubleShift);

/** What a processor of `vendor` answers where the manual leaves the result
 * undefined, when we know it (spec/instructions.md, "Where Intel and AMD
 * differ"); null where no measurement says. */
function vendorResult(vendor: Vendor, i: OracleInput): number | null {
  if (isUndefinedDoubleShift(i)) return doubleShift16(vendor, i.op === 'shld', i.a, i.b, i.c);
  if ((i.op === 'bsf' || i.op === 'bsr') && truncate(i.size, i.b) === 0) return truncate(i.size, i.a); // both: unchanged
  if (i.op === 'bswap' && i.size === 16) return 0; // both: zero
  return null;
}

const vendor = hostVendor();
const vendorName = (v: Vendor): string => (v === 'intel' ? 'Intel' : 'AMD');
if (available && vendor !== MODEL_FOLLOWS) {
  process.stderr.write(`[skip] the model's undefined SHLD/SHRD results follow ${vendorName(MODEL_FOLLOWS)}; this host is ${vendor === null ? 'of an unknown vendor' : vendorName(vendor)}, so they are not compared with it (the host is checked against its own vendor's documented behaviour instead)
`);
}

describe('undefined results: the model\'s choice and each vendor\'s documented behaviour', () => {
  it('[INS.SHIFT.7] the model computes the AMD formula, written independently over the whole 48-bit string', () => {
    const wrong = undefinedDoubleShifts()
      .filter((i) => runOnModel(i).result !== doubleShift16('amd', i.op === 'shld', i.a, i.b, i.c))
      .map((i) => JSON.stringify(i));
    expect(wrong.slice(0, 10)).toEqual([]);
  });
  // Worked by hand from a measurement on an Intel Xeon: SHLD ax, cx, 20 with
  // AX = 0x1234, CX = 0xabcd gives 0xbcd1; SHRD gives 0x4abc (the string
  // 0x1234abcd1234); AMD's string for SHLD is 0x1234abcdabcd, giving 0xbcda,
  // and for SHRD 0xabcdabcd1234, giving 0xdabc.
  it('[INS.SHIFT.7] the vendor formulas on hand-worked values', () => {
    expect(doubleShift16('intel', true, 0x1234, 0xabcd, 20)).toBe(0xbcd1);
    expect(doubleShift16('intel', false, 0x1234, 0xabcd, 20)).toBe(0x4abc);
    expect(doubleShift16('amd', true, 0x1234, 0xabcd, 20)).toBe(0xbcda);
    expect(doubleShift16('amd', false, 0x1234, 0xabcd, 20)).toBe(0xdabc);
  });
  it.runIf(available && vendor === MODEL_FOLLOWS)('[INS.SHIFT.7] on an AMD host: the model\'s undefined results are the host\'s', () => {
    const inputs = undefinedDoubleShifts();
    const host = runOnHost(inputs);
    const wrong = inputs.filter((i, k) => runOnModel(i).result !== host[k]!.result).map((i) => JSON.stringify(i));
    expect(wrong.slice(0, 10)).toEqual([]);
  });
  it.runIf(available && vendor !== null)('[INS.RESULT.1] the host computes its own vendor\'s documented undefined results', () => {
    const inputs = [...undefinedDoubleShifts(), ...GROUPS[7]!.inputs()].filter((i) => vendorResult(vendor!, i) !== null);
    const host = runOnHost(inputs);
    const wrong = inputs.filter((i, k) => vendorResult(vendor!, i) !== host[k]!.result)
      .map((i, k) => `${JSON.stringify(i)}: host ${host[k]!.result} documented ${vendorResult(vendor!, i)}`);
    expect(inputs.length).toBeGreaterThan(100);
    expect(wrong.slice(0, 10)).toEqual([]);
  });
});

// ------------------------------------------------------------ a fake host

/** A host that computes what the model computes where the architecture
 * defines it, and otherwise answers as `vendor` would (or, where nothing is
 * known, something else entirely): every undefined flag flipped, every
 * undefined result replaced. */
function fakeHost(inputs: readonly OracleInput[], vendor: Vendor): OracleOutput[] {
  return inputs.map((i) => {
    const m = runOnModel(i);
    const result = m.resultUndefined ? vendorResult(vendor, i) ?? truncate(i.size, ~m.result) : m.result;
    return { result, result2: m.result2, flags: (m.flags ^ m.undefined) >>> 0, divideError: m.divideError };
  });
}

describe('the host comparisons do not depend on the vendor', () => {
  const other = otherVendor(MODEL_FOLLOWS);
  it.each(GROUPS.map((g) => [g.title, g] as const))(`a fake ${vendorName(other)} host passes: %s`, (_, group) => {
    const inputs = group.inputs();
    expect(differences(inputs, fakeHost(inputs, other))).toEqual([]);
  });
  it('the fake host really differs from the model where the result is undefined', () => {
    const inputs = undefinedDoubleShifts();
    const fake = fakeHost(inputs, other);
    expect(inputs.filter((i, k) => fake[k]!.result !== runOnModel(i).result).length).toBeGreaterThan(inputs.length / 2);
  });
  it('a fake host that changes one defined bit fails, in every group (the masks are not too wide)', () => {
    for (const group of GROUPS) {
      const inputs = group.inputs().filter((i) => !runOnModel(i).divideError).slice(0, 300);
      const base = fakeHost(inputs, other);
      const answers = base.map((a, k) => {
        const m = runOnModel(inputs[k]!);
        const definedFlags = STATUS_FLAGS & ~m.undefined;
        // Change the lowest defined flag, or else the (defined) result.
        if (definedFlags !== 0) return { ...a, flags: a.flags ^ (definedFlags & -definedFlags) };
        return m.resultUndefined ? a : { ...a, result: a.result ^ 1 };
      });
      const changed = answers.filter((a, k) => a !== base[k]).length;
      expect(changed, group.title).toBeGreaterThan(0);
      expect(differences(inputs, answers).length, group.title).toBe(Math.min(20, changed));
    }
  });
});

function signBitOf(size: OperandSize): number {
  return size === 32 ? 0x80000000 : 1 << (size - 1);
}
