// Shifts and rotates. Each follows the manual's pseudocode literally: the
// count is masked to five bits, then the operand moves one bit at a time, so
// the carry is always "the last bit that fell off". Rules in
// spec/instructions.md ("Shifts and rotates").
import type { OperandSize } from '../../isa/ast';
import {
  AF, CF, OF, STATUS_FLAGS, arith, bitOf, resultFlags, truncate, withUndefinedResult, type ArithResult,
} from './flags';

/** (size, destination, count, EFLAGS in). */
export type ShiftOperation = (size: OperandSize, a: number, count: number, flagsIn: number) => ArithResult;
/** (size, destination, source, count, EFLAGS in) for SHLD/SHRD. */
export type DoubleShiftOperation = (size: OperandSize, dest: number, src: number, count: number, flagsIn: number) => ArithResult;

// [INS.SHIFT.1] Every shift and rotate uses only the low five bits of its
// count; a masked count of zero changes neither the operand nor any flag.
export const maskCount = (count: number): number => count & 0x1f;

const unchanged = (size: OperandSize, a: number, flagsIn: number): ArithResult => arith(truncate(size, a), flagsIn, 0, 0);

const msb = (size: OperandSize, v: number): number => bitOf(v, size - 1);

type ShiftKind = 'shl' | 'shr' | 'sar';

// [INS.SHIFT.2] SHL/SAL, SHR and SAR with a non-zero masked count: CF is the
// last bit shifted out; SF, ZF and PF describe the result; AF is undefined
// (the model writes 0). CF is undefined for SHL and SHR when the count is at
// least the operand size (only possible for 8- and 16-bit operands); the model
// writes the last bit shifted out, which is 0.
// [INS.SHIFT.3] OF is defined only for a masked count of 1: for SHL it is the
// result's top bit XOR CF, for SAR it is 0, for SHR it is the operand's
// original top bit. For larger counts OF is undefined and the model writes the
// count-1 formula applied to the final result (SHL, SHR) or 0 (SAR).
function shift(kind: ShiftKind, size: OperandSize, a: number, rawCount: number, flagsIn: number): ArithResult {
  const count = maskCount(rawCount);
  if (count === 0) return unchanged(size, a, flagsIn);
  const original = truncate(size, a);
  let dest = original;
  let carry = 0;
  for (let i = 0; i < count; i++) {
    if (kind === 'shl') {
      carry = msb(size, dest);
      dest = truncate(size, dest << 1);
    } else {
      carry = dest & 1;
      dest = kind === 'sar' ? (dest >>> 1) | (msb(size, dest) << (size - 1)) : dest >>> 1;
      dest = truncate(size, dest);
    }
  }
  const overflow =
    kind === 'shl' ? msb(size, dest) ^ carry : kind === 'shr' ? msb(size, original) : 0;
  const undefinedMask = AF | (count === 1 ? 0 : OF) | (kind !== 'sar' && count >= size ? CF : 0);
  const values = (carry ? CF : 0) | (overflow ? OF : 0) | resultFlags(size, dest);
  return arith(dest, flagsIn, STATUS_FLAGS, values, undefinedMask);
}

export const shl: ShiftOperation = (size, a, count, f) => shift('shl', size, a, count, f);
export const shr: ShiftOperation = (size, a, count, f) => shift('shr', size, a, count, f);
export const sar: ShiftOperation = (size, a, count, f) => shift('sar', size, a, count, f);

type RotateKind = 'rol' | 'ror' | 'rcl' | 'rcr';

// [INS.SHIFT.4] ROL and ROR rotate by the masked count modulo the operand
// size; RCL and RCR rotate through CF, by the masked count modulo 9 (8-bit) or
// 17 (16-bit) or by the masked count itself (32-bit). Only CF and OF change,
// and only when the masked count (before the modulo) is non-zero; CF is the
// last bit rotated into it (so an effective rotation of zero leaves the
// operand alone but still sets CF for ROL/ROR from the result).
// [INS.SHIFT.5] A rotate's OF is defined only for a masked count of 1: top
// bit XOR CF after ROL/RCL, top two bits XORed after ROR/RCR. For larger
// counts OF is undefined and the model writes that same formula.
function rotate(kind: RotateKind, size: OperandSize, a: number, rawCount: number, flagsIn: number): ArithResult {
  const masked = maskCount(rawCount);
  if (masked === 0) return unchanged(size, a, flagsIn);
  const throughCarry = kind === 'rcl' || kind === 'rcr';
  const steps = throughCarry ? (size === 32 ? masked : masked % (size + 1)) : masked % size;
  let dest = truncate(size, a);
  let carry = flagsIn & CF ? 1 : 0;
  for (let i = 0; i < steps; i++) {
    const leftward = kind === 'rol' || kind === 'rcl';
    const out = leftward ? msb(size, dest) : dest & 1;
    const into = throughCarry ? carry : out;
    dest = leftward ? truncate(size, (dest << 1) | into) : (dest >>> 1) | (into << (size - 1));
    dest = truncate(size, dest);
    carry = out;
  }
  if (kind === 'rol') carry = dest & 1;
  if (kind === 'ror') carry = msb(size, dest);
  const overflow = kind === 'rol' || kind === 'rcl' ? msb(size, dest) ^ carry : msb(size, dest) ^ bitOf(dest, size - 2);
  const values = (carry ? CF : 0) | (overflow ? OF : 0);
  return arith(dest, flagsIn, CF | OF, values, masked === 1 ? 0 : OF);
}

export const rol: ShiftOperation = (size, a, count, f) => rotate('rol', size, a, count, f);
export const ror: ShiftOperation = (size, a, count, f) => rotate('ror', size, a, count, f);
export const rcl: ShiftOperation = (size, a, count, f) => rotate('rcl', size, a, count, f);
export const rcr: ShiftOperation = (size, a, count, f) => rotate('rcr', size, a, count, f);

// [INS.SHIFT.6] SHLD and SHRD shift the destination by the masked count,
// filling the vacated bits from the source (its top bits for SHLD, its low
// bits for SHRD); CF is the last bit shifted out of the destination, SF/ZF/PF
// describe the result, AF is undefined (0), and OF is defined only for a count
// of 1 (set when the top bit changed; the model writes the same for larger
// counts).
// [INS.SHIFT.7] With a 16-bit operand and a masked count above 16 the result
// and all six flags are undefined, and Intel and AMD processors differ
// (spec/instructions.md, "Where Intel and AMD differ"). We choose what AMD
// processors were measured to do: the shift runs through the 48-bit value
// destination:source:source (SHLD) or source:source:destination (SHRD), i.e.
// the source keeps feeding the vacated bits, rotating as it goes. (Intel runs
// it through destination:source:destination.)
function doubleShift(left: boolean, size: OperandSize, a: number, b: number, rawCount: number, flagsIn: number): ArithResult {
  const count = maskCount(rawCount);
  if (count === 0) return unchanged(size, a, flagsIn);
  const original = truncate(size, a);
  let dest = original;
  let src = truncate(size, b);
  let carry = 0;
  for (let i = 0; i < count; i++) {
    if (left) {
      carry = msb(size, dest);
      dest = truncate(size, (dest << 1) | msb(size, src));
      src = truncate(size, (src << 1) | msb(size, src));
    } else {
      carry = dest & 1;
      dest = truncate(size, (dest >>> 1) | ((src & 1) << (size - 1)));
      src = truncate(size, (src >>> 1) | ((src & 1) << (size - 1)));
    }
  }
  const overflow = msb(size, dest) ^ msb(size, original);
  const values = (carry ? CF : 0) | (overflow ? OF : 0) | resultFlags(size, dest);
  if (count > size) return withUndefinedResult(arith(dest, flagsIn, STATUS_FLAGS, values, STATUS_FLAGS));
  return arith(dest, flagsIn, STATUS_FLAGS, values, AF | (count === 1 ? 0 : OF));
}

export const shld: DoubleShiftOperation = (size, a, b, count, f) => doubleShift(true, size, a, b, count, f);
export const shrd: DoubleShiftOperation = (size, a, b, count, f) => doubleShift(false, size, a, b, count, f);

export const shiftOperations = { rol, ror, rcl, rcr, shl, sal: shl, shr, sar } as const;
export type ShiftMnemonic = keyof typeof shiftOperations;
