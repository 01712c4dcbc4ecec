// ROL ROR RCL RCR SHL SHR SAL SAR (variant 0..7 in encoding order), SHLD and
// SHRD. Flags are computed eagerly. Where the manual leaves a flag undefined
// (OF for counts other than 1, CF for SHL/SHR counts >= the size, AF), we
// write whatever the formulas give; the comparison masks those bits.
import type { Cpu, Decoded } from '../cpu';
import { AF, ARITH, CF, MASK, OF, SIGN, flag, parityOf, setFlags, SF, ZF } from '../flags';
import { destination, readDestination, writeDestination, signExtend } from '../operands';
import { mutated } from '../mutants';

function resultFlags(r: number, size: number): number {
  return parityOf(r) | ((r & MASK[size]) === 0 ? ZF : 0) | (r & SIGN[size] ? SF : 0);
}

/** Shift or rotate `a` by `count` (already masked to 5 bits); count > 0. */
export function shift(cpu: Cpu, operation: number, a: number, count: number, size: number): number {
  const bits = size * 8, mask = MASK[size], sign = SIGN[size];
  let r: number, cf: number, of: number;
  switch (operation) {
    case 0: { // ROL
      const n = count % bits;
      r = n === 0 ? a : ((a << n) | (a >>> (bits - n))) & mask;
      cf = r & 1;
      of = (r & sign ? 1 : 0) ^ cf;
      setFlags(cpu, CF | OF, (cf ? CF : 0) | (of ? OF : 0));
      return r >>> 0;
    }
    case 1: { // ROR
      const n = count % bits;
      r = n === 0 ? a : ((a >>> n) | (a << (bits - n))) & mask;
      cf = r & sign ? 1 : 0;
      of = cf ^ (r & (sign >>> 1) ? 1 : 0);
      setFlags(cpu, CF | OF, (cf ? CF : 0) | (of ? OF : 0));
      return r >>> 0;
    }
    case 2: case 3: { // RCL, RCR: rotate through CF, a (bits + 1)-bit rotation
      const n = size === 4 ? count : count % (bits + 1);
      let carry = flag(cpu, CF);
      r = a;
      of = operation === 3 ? (r & sign ? 1 : 0) ^ carry : 0;
      for (let i = 0; i < n; i++) {
        if (operation === 2) {
          const out = r & sign ? 1 : 0;
          r = ((r << 1) | carry) & mask;
          carry = out;
        } else {
          const out = r & 1;
          r = ((r >>> 1) | (carry ? sign : 0)) & mask;
          carry = out;
        }
      }
      if (operation === 2) of = (r & sign ? 1 : 0) ^ carry;
      setFlags(cpu, CF | OF, (carry ? CF : 0) | (of ? OF : 0));
      return r >>> 0;
    }
    case 4: case 6: { // SHL/SAL
      r = count >= 32 ? 0 : (a << count) & mask;
      cf = count <= bits ? (a >>> (bits - count)) & 1 : 0;
      of = (r & sign ? 1 : 0) ^ cf;
      break;
    }
    case 5: // SHR
      r = (a >>> count) & mask;
      cf = (a >>> (count - 1)) & 1;
      of = a & sign ? 1 : 0;
      break;
    default: { // SAR
      const s = signExtend(a, size);
      r = (s >> Math.min(count, 31)) & mask;
      cf = (s >> Math.min(count - 1, 31)) & 1;
      of = 0;
    }
  }
  r >>>= 0;
  setFlags(cpu, ARITH, resultFlags(r, size) | (cf ? CF : 0) | (of ? OF : 0) & ~AF);
  return r;
}

function shiftRM(cpu: Cpu, d: Decoded, count: number): void {
  count &= mutated('shift-count-not-masked') ? 0x3f : 0x1f;
  const size = d.size;
  // A count of zero changes no flag and no bit, but it is still a
  // read-modify-write access (spec PAGE.RMW.1, host-CPU evidence in
  // properties/diff/evidence/shift-count-zero-write.c): the write is checked
  // and the value written back unchanged.
  const at = destination(cpu, d, size);
  const a = readDestination(cpu, d, at, size);
  writeDestination(cpu, d, at, size, count === 0 ? a : shift(cpu, d.variant, a, count, size));
}
/** group 2 with an immediate count (C0/C1) or a count of 1 (D0/D1: imm = 1) */
export const shiftByImmediate = (cpu: Cpu, d: Decoded): void => shiftRM(cpu, d, d.imm);
export const shiftByCL = (cpu: Cpu, d: Decoded): void => shiftRM(cpu, d, cpu.r8[4]);

/**
 * SHLD (variant 0) / SHRD (variant 1): r/m, reg, count (imm, or CL when
 * imm2 = 1). With a 16-bit operand and a count above 16 the manual leaves the
 * result undefined; like the model (INS.SHIFT.7) and the AMD host CPU, the
 * source keeps feeding the vacated bits, rotating as it goes.
 */
export function doubleShift(cpu: Cpu, d: Decoded): void {
  const size = d.size, mask = MASK[size], sign = SIGN[size], top = size * 8 - 1;
  const count = (d.imm2 ? cpu.r8[4] : d.imm) & 0x1f;
  // As for the one-operand shifts, a count of zero still writes the
  // destination back unchanged (and leaves the flags alone).
  const at = destination(cpu, d, size);
  const a = readDestination(cpu, d, at, size);
  if (count === 0) { writeDestination(cpu, d, at, size, a); return; }
  let r = a, source = cpu.readRegister(size, d.reg), cf = 0;
  for (let i = 0; i < count; i++) {
    if (d.variant === 0) {
      const fill = (source >>> top) & 1;
      cf = (r >>> top) & 1;
      r = ((r << 1) | fill) & mask;
      source = ((source << 1) | fill) & mask;
    } else {
      const fill = source & 1;
      cf = r & 1;
      r = ((r >>> 1) | (fill << top)) & mask;
      source = ((source >>> 1) | (fill << top)) & mask;
    }
  }
  r >>>= 0;
  const of = (r ^ a) & sign ? OF : 0;
  setFlags(cpu, ARITH, resultFlags(r, size) | (cf ? CF : 0) | of);
  writeDestination(cpu, d, at, size, r);
}
