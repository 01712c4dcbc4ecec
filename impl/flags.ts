// EFLAGS, computed lazily. Most instructions write the six arithmetic flags,
// and most of those values are never read before the next instruction
// overwrites them. So an ALU instruction only records what it did (the
// operation, both operands, the result and the size) and marks the arithmetic
// flags as "lazy"; a flag is computed from that record when something reads
// it (a Jcc, PUSHF, an interrupt...). `cpu.lazy` is the mask of flag bits
// whose true value lives in the record rather than in `cpu.flags`.
import type { Cpu } from './cpu';

export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200;
export const DF = 0x400, OF = 0x800, IOPL = 0x3000, NT = 0x4000, RF = 0x10000, VM = 0x20000;
export const AC = 0x40000, ID = 0x200000;
export const ARITH = CF | PF | AF | ZF | SF | OF;
/** Bits software can ever see as set (bit 1 always reads 1; VM stays 0 here). */
export const SUPPORTED = ARITH | TF | IF | DF | IOPL | NT | RF | AC | ID;

/** Recorded operation kinds. */
export const OP_ADD = 0, OP_SUB = 1, OP_LOGIC = 2;

export const MASK = [0, 0xff, 0xffff, 0, 0xffffffff] as const;
export const SIGN = [0, 0x80, 0x8000, 0, 0x80000000] as const;

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let bits = 0;
  for (let b = i; b; b >>= 1) bits += b & 1;
  PARITY[i] = bits & 1 ? 0 : PF;
}
export const parityOf = (value: number): number => PARITY[value & 0xff];

/** Record an arithmetic result; `lazyMask` is usually ARITH (INC/DEC leave CF). */
export function recordArith(cpu: Cpu, op: number, a: number, b: number, result: number, size: number, lazyMask = ARITH): void {
  if (lazyMask !== ARITH && cpu.lazy & CF) cpu.flags = (cpu.flags & ~CF) | computeFlag(cpu, CF);
  cpu.lastOp = op;
  cpu.lastA = a;
  cpu.lastB = b;
  cpu.lastResult = result;
  cpu.lastSize = size;
  cpu.lazy = lazyMask;
}

/** Compute one arithmetic flag from the record (returns the bit or 0). */
export function computeFlag(cpu: Cpu, bit: number): number {
  return computeFlagOf(bit, cpu.lastOp, cpu.lastA, cpu.lastB, cpu.lastResult, cpu.lastSize);
}

/** One arithmetic flag of a record given as values (translated blocks keep
 * the record in locals). Every formula reads only the low `size` bytes. */
export function computeFlagOf(bit: number, op: number, a: number, b: number, r: number, size: number): number {
  const mask = MASK[size], sign = SIGN[size];
  switch (bit) {
    case CF:
      if (op === OP_ADD) return (r & mask) >>> 0 < (a & mask) >>> 0 ? CF : 0;
      if (op === OP_SUB) return (a & mask) >>> 0 < (b & mask) >>> 0 ? CF : 0;
      return 0;
    case PF: return PARITY[r & 0xff];
    case AF: return op === OP_LOGIC ? 0 : (a ^ b ^ r) & AF;
    case ZF: return (r & mask) === 0 ? ZF : 0;
    case SF: return r & sign ? SF : 0;
    case OF:
      if (op === OP_ADD) return (a ^ r) & (b ^ r) & sign ? OF : 0;
      if (op === OP_SUB) return (a ^ b) & (a ^ r) & sign ? OF : 0;
      return 0;
  }
  return 0;
}

/** Read one flag (CF, ZF...) as 0/1, computing it if lazy. */
export function flag(cpu: Cpu, bit: number): number {
  if (cpu.lazy & bit) return computeFlag(cpu, bit) ? 1 : 0;
  return cpu.flags & bit ? 1 : 0;
}

/** All six arithmetic flags of the record at once (computeFlagOf for each). */
function recordFlags(cpu: Cpu): number {
  const size = cpu.lastSize, mask = MASK[size], sign = SIGN[size];
  const a = cpu.lastA, b = cpu.lastB, r = cpu.lastResult, op = cpu.lastOp;
  let value = PARITY[r & 0xff] | ((r & mask) === 0 ? ZF : 0) | (r & sign ? SF : 0);
  if (op === OP_ADD) {
    value |= ((r & mask) >>> 0 < (a & mask) >>> 0 ? CF : 0) | ((a ^ b ^ r) & AF) | ((a ^ r) & (b ^ r) & sign ? OF : 0);
  } else if (op === OP_SUB) {
    value |= ((a & mask) >>> 0 < (b & mask) >>> 0 ? CF : 0) | ((a ^ b ^ r) & AF) | ((a ^ b) & (a ^ r) & sign ? OF : 0);
  }
  return value;
}

/** All of EFLAGS, with the lazy flags computed; the record is folded in. */
export function readEflags(cpu: Cpu): number {
  const lazy = cpu.lazy;
  if (lazy !== 0) {
    cpu.flags = (cpu.flags & ~lazy) | (recordFlags(cpu) & lazy);
    cpu.lazy = 0;
  }
  return (cpu.flags | 2) >>> 0;
}

/** All of EFLAGS without folding the record in (reading the state from
 * outside must not change what the machine does next). */
export function peekEflags(cpu: Cpu): number {
  const lazy = cpu.lazy;
  const value = lazy === 0 ? cpu.flags : (cpu.flags & ~lazy) | (recordFlags(cpu) & lazy);
  return (value | 2) >>> 0;
}

/** Replace EFLAGS outright (the caller applies privilege rules first). */
export function writeEflags(cpu: Cpu, value: number): void {
  cpu.flags = ((value & SUPPORTED) | 2) >>> 0;
  cpu.lazy = 0;
}

/** Set the flags in `mask` to the bits of `values`; flags outside the mask
 * that are still lazy stay lazy (the record still describes them). */
export function setFlags(cpu: Cpu, mask: number, values: number): void {
  cpu.lazy &= ~mask;
  cpu.flags = ((cpu.flags & ~mask) | (values & mask)) >>> 0;
}

/** Flags for a logical result: CF = OF = 0, AF undefined (we leave 0). */
export function recordLogic(cpu: Cpu, result: number, size: number): void {
  recordArith(cpu, OP_LOGIC, 0, 0, result, size);
}

/** Evaluate condition code 0..15 (o no b ae e ne be a s ns p np l ge le g). */
export function condition(cpu: Cpu, cc: number): boolean {
  return conditionOf(cc, cpu.flags, cpu.lazy, cpu.lastOp, cpu.lastA, cpu.lastB, cpu.lastResult, cpu.lastSize);
}

/** condition() of flags given as values: the eager flags, the lazy mask and the record. */
export function conditionOf(cc: number, flags: number, lazy: number, op: number, a: number, b: number, r: number, size: number): boolean {
  let v: boolean;
  switch (cc >> 1) {
    case 0: v = flagOf(OF, flags, lazy, op, a, b, r, size) === 1; break;
    case 1: v = flagOf(CF, flags, lazy, op, a, b, r, size) === 1; break;
    case 2: v = flagOf(ZF, flags, lazy, op, a, b, r, size) === 1; break;
    case 3: v = (flagOf(CF, flags, lazy, op, a, b, r, size) | flagOf(ZF, flags, lazy, op, a, b, r, size)) === 1; break;
    case 4: v = flagOf(SF, flags, lazy, op, a, b, r, size) === 1; break;
    case 5: v = flagOf(PF, flags, lazy, op, a, b, r, size) === 1; break;
    case 6: v = flagOf(SF, flags, lazy, op, a, b, r, size) !== flagOf(OF, flags, lazy, op, a, b, r, size); break;
    default: v = flagOf(ZF, flags, lazy, op, a, b, r, size) === 1
      || flagOf(SF, flags, lazy, op, a, b, r, size) !== flagOf(OF, flags, lazy, op, a, b, r, size); break;
  }
  return cc & 1 ? !v : v;
}

/** One flag (0/1) of flags given as values. (A named function, not a
 * closure inside conditionOf: tsx names every closure it creates, a
 * property definition per call.) */
function flagOf(bit: number, flags: number, lazy: number, op: number, a: number, b: number, r: number, size: number): number {
  if (lazy & bit) return computeFlagOf(bit, op, a, b, r, size) ? 1 : 0;
  return flags & bit ? 1 : 0;
}
