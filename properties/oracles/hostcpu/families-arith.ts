// Case templates for the arithmetic families: ALU, unary, shifts and
// rotates, multiply and divide (with divide errors), bit operations.
// Undefined-flag masks are taken from the manual's "Flags Affected" of each
// instruction, for the exact count or operands the template chose.
import { edgeBiased, type Rng } from './random';
import {
  AF, CF, DATA_ADDR, OF, PF, SF, SIZES, STATUS_FLAGS, ZF, dataRegion, hexImm, operandRegister, randomFlags,
  regName, setRegister, sizeKeyword, type CaseSource, type Family, type GeneralRegName, type Size,
} from './template';

type Regs = Partial<Record<GeneralRegName, number>>;

/** Two operand registers at a size, with edge-biased values. */
function twoRegisters(rng: Rng, size: Size, regs: Regs): [string, string] {
  const a = operandRegister(rng);
  const b = operandRegister(rng);
  setRegister(regs, size, a, edgeBiased(rng, size));
  setRegister(regs, size, b, edgeBiased(rng, size));
  return [regName(size, a), regName(size, b)];
}

const ALU_OPS = ['add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor', 'cmp', 'test'] as const;
const LOGIC_OPS: readonly string[] = ['and', 'or', 'xor', 'test'];

export const aluFamily: Family = {
  name: 'alu',
  generate(rng): CaseSource {
    const op = rng.pick(ALU_OPS);
    const size = rng.pick(SIZES);
    const regs: Regs = {};
    const [dst, src] = twoRegisters(rng, size, regs);
    const data = dataRegion(rng);
    const form = rng.below(4);
    const kw = sizeKeyword(size);
    const imm = hexImm(edgeBiased(rng, size));
    const line =
      form === 0 ? `${op} ${dst}, ${src}`
      : form === 1 ? `${op} ${dst}, ${imm}`
      : form === 2 ? (op === 'test' ? `${op} ${kw} [${hexImm(DATA_ADDR + 8)}], ${src}` : `${op} ${dst}, ${kw} [${hexImm(DATA_ADDR + 8)}]`)
      : `${op} ${kw} [${hexImm(DATA_ADDR + 4)}], ${src}`;
    // A second, dependent instruction now and then: flags flow between them.
    const second = rng.chance(0.3);
    const lines = second ? [line, `${rng.pick(['adc', 'sbb'])} ${src}, ${dst}`] : [line];
    return {
      title: lines.join('; '),
      lines,
      regs,
      eflags: randomFlags(rng),
      mem: [data],
      // [ALU] AND/OR/XOR/TEST leave AF undefined; the rest define every flag,
      // so a second ADC/SBB defines AF again.
      undefinedFlags: !second && LOGIC_OPS.includes(op) ? AF : 0,
    };
  },
};

export const unaryFamily: Family = {
  name: 'unary',
  generate(rng): CaseSource {
    const op = rng.pick(['inc', 'dec', 'neg', 'not']);
    const size = rng.pick(SIZES);
    const regs: Regs = {};
    const r = operandRegister(rng);
    setRegister(regs, size, r, edgeBiased(rng, size));
    const line = rng.chance(0.25) ? `${op} ${sizeKeyword(size)} [${hexImm(DATA_ADDR + 12)}]` : `${op} ${regName(size, r)}`;
    return { title: line, lines: [line], regs, eflags: randomFlags(rng), mem: [dataRegion(rng)], undefinedFlags: 0 };
  },
};

const SHIFT_COUNTS = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33];

/** The undefined flags after a shift or rotate by `count` at `size`. */
export function shiftUndefinedFlags(op: string, size: Size, count: number): number {
  const masked = count & 31;
  if (masked === 0) return 0; // a zero count changes no flag
  const overflow = masked === 1 ? 0 : OF; // OF is defined only for 1-bit shifts
  switch (op) {
    case 'shl': case 'shr':
      // AF undefined; CF undefined when the count reaches the operand size.
      return AF | overflow | (masked >= size ? CF : 0);
    case 'sar':
      return AF | overflow;
    default: // rol ror rcl rcr: only CF and OF are affected
      return overflow;
  }
}

export const shiftFamily: Family = {
  name: 'shift',
  generate(rng): CaseSource {
    const op = rng.pick(['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr']);
    const size = rng.pick(SIZES);
    const count = rng.chance(0.8) ? rng.pick(SHIFT_COUNTS) : rng.below(256);
    const regs: Regs = {};
    const r = rng.pick([0, 2, 3, 5, 6, 7]); // not ecx: it holds the count
    setRegister(regs, size, r, edgeBiased(rng, size));
    const byCl = rng.chance(0.5);
    if (byCl) regs.ecx = ((rng.u32() & 0xffffff00) | count) >>> 0;
    const countText = byCl ? 'cl' : String(count);
    const line = count === 1 && !byCl && rng.chance(0.5) ? `${op} ${regName(size, r)}, 1` : `${op} ${regName(size, r)}, ${countText}`;
    return {
      title: line, lines: [line], regs, eflags: randomFlags(rng), mem: [dataRegion(rng)],
      undefinedFlags: shiftUndefinedFlags(op, size, count),
    };
  },
};

export const doubleShiftFamily: Family = {
  name: 'shiftd',
  generate(rng): CaseSource {
    const op = rng.pick(['shld', 'shrd']);
    const size: 16 | 32 = rng.pick([16, 32] as const);
    // A 16-bit count above 16 leaves the result and every flag undefined
    // (Intel and AMD differ there): drawn too, since the destination is a
    // register, which the case then leaves out of the comparison.
    const count = size === 16 ? rng.pick([0, 1, 2, 8, 15, 16, 17, 24, 31]) : rng.pick([0, 1, 2, 16, 31, 32, 33]);
    const regs: Regs = {};
    const dst = rng.pick([0, 2, 3]);
    const src = rng.pick([5, 6, 7]);
    setRegister(regs, size, dst, edgeBiased(rng, size));
    setRegister(regs, size, src, edgeBiased(rng, size));
    const byCl = rng.chance(0.5);
    if (byCl) regs.ecx = count;
    const line = `${op} ${regName(size, dst)}, ${regName(size, src)}, ${byCl ? 'cl' : count}`;
    const masked = count & 31;
    // SDM SHLD/SHRD "Flags Affected": count 0 changes nothing; otherwise AF is
    // undefined, OF is defined only for a count of 1, and above the operand
    // size every flag is undefined (a count equal to the size is defined).
    const undefinedFlags = masked === 0 ? 0 : masked > size ? STATUS_FLAGS : AF | (masked === 1 ? 0 : OF);
    return { title: line, lines: [line], regs, eflags: randomFlags(rng), mem: [dataRegion(rng)], undefinedFlags };
  },
};

export const multiplyFamily: Family = {
  name: 'muldiv',
  generate(rng): CaseSource {
    const size = rng.pick(SIZES);
    const regs: Regs = {};
    const src = rng.pick([1, 3, 5, 6, 7]); // not the accumulator pair
    setRegister(regs, size, src, edgeBiased(rng, size));
    regs.eax = edgeBiased(rng, 32);
    regs.edx = rng.chance(0.5) ? 0 : edgeBiased(rng, 32);
    const kind = rng.pick(['mul', 'imul', 'div', 'idiv', 'imul2', 'imul3']);
    const srcName = regName(size, src);
    let line: string;
    if (kind === 'imul2' || kind === 'imul3') {
      const wide: 16 | 32 = size === 8 ? 32 : size;
      setRegister(regs, wide, src, edgeBiased(rng, wide));
      line = kind === 'imul2'
        ? `imul ${regName(wide, 0)}, ${regName(wide, src)}`
        : `imul ${regName(wide, 2)}, ${regName(wide, src)}, ${hexImm(edgeBiased(rng, wide === 16 ? 16 : 32))}`;
    } else {
      // Divide by zero now and then: #DE.
      if ((kind === 'div' || kind === 'idiv') && rng.chance(0.15)) setRegister(regs, size, src, 0);
      line = rng.chance(0.2) ? `${kind} ${sizeKeyword(size)} [${hexImm(DATA_ADDR + 16)}]` : `${kind} ${srcName}`;
    }
    const divides = kind === 'div' || kind === 'idiv';
    return {
      title: line, lines: [line], regs, eflags: randomFlags(rng), mem: [dataRegion(rng)],
      // MUL/IMUL: SF ZF AF PF undefined. DIV/IDIV: every status flag undefined
      // when it retires; a divide that raises #DE writes no flag.
      undefinedFlags: divides ? STATUS_FLAGS : SF | ZF | AF | PF,
    };
  },
};

export const bitFamily: Family = {
  name: 'bitops',
  generate(rng): CaseSource {
    const regs: Regs = {};
    const size: 16 | 32 = rng.pick([16, 32] as const);
    const dst = rng.pick([0, 2, 3]);
    const src = rng.pick([1, 5, 6, 7]);
    setRegister(regs, size, dst, edgeBiased(rng, size));
    const kind = rng.pick(['bt', 'bts', 'btr', 'btc', 'bsf', 'bsr']);
    let line: string;
    if (kind === 'bsf' || kind === 'bsr') {
      // A zero source leaves the destination undefined: drawn now and then,
      // the case leaves that register out of the comparison.
      setRegister(regs, size, src, rng.chance(0.15) ? 0 : edgeBiased(rng, size));
      line = `${kind} ${regName(size, dst)}, ${regName(size, src)}`;
    } else {
      const form = rng.below(3);
      const offset = rng.pick([0, 1, 7, 15, 16, 31, 32, 33, 63, 100, 255]);
      if (form === 0) {
        setRegister(regs, size, src, rng.chance(0.5) ? offset : edgeBiased(rng, size));
        line = `${kind} ${regName(size, dst)}, ${regName(size, src)}`;
      } else if (form === 1) {
        line = `${kind} ${regName(size, dst)}, ${offset & 0xff}`;
      } else {
        // Bit-string addressing: the bit offset selects a byte beyond the operand.
        line = `${kind} ${sizeKeyword(size)} [${hexImm(DATA_ADDR + 16)}], ${regName(size, src)}`;
        setRegister(regs, size, src, rng.below(256));
      }
    }
    const scans = kind === 'bsf' || kind === 'bsr';
    return {
      title: line, lines: [line], regs, eflags: randomFlags(rng), mem: [dataRegion(rng)],
      // BT*: OF SF AF PF undefined (CF the bit, ZF unchanged). BSF/BSR: only ZF defined.
      undefinedFlags: scans ? CF | OF | SF | AF | PF : OF | SF | AF | PF,
    };
  },
};
