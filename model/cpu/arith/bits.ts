// Bit tests and scans, and byte swap. Rules in spec/instructions.md ("Bits").
import type { OperandSize } from '../../isa/ast';
import {
  AF, CF, OF, PF, SF, STATUS_FLAGS, ZF, arith, truncate, withUndefinedResult, type ArithResult,
} from './flags';

export type BitTestKind = 'bt' | 'bts' | 'btr' | 'btc';

// [INS.BIT.1] BT, BTS, BTR and BTC copy the selected bit of the operand into
// CF and then leave it (BT), set it (BTS), clear it (BTR) or invert it (BTC).
// ZF is unchanged; OF, SF, AF and PF are undefined and the model leaves them
// as they were. Here `bit` is already reduced to the operand (the register
// form takes the offset modulo the operand size; the memory form's
// addressing is the handler's, see INS.BIT.2).
export function bitTest(kind: BitTestKind, size: OperandSize, value: number, bit: number, flagsIn: number): ArithResult {
  const index = bit % size;
  const mask = 2 ** index;
  const v = truncate(size, value);
  const selected = Math.floor(v / mask) % 2;
  const result =
    kind === 'bt' ? v : kind === 'bts' ? v | mask : kind === 'btr' ? v & ~mask : v ^ mask;
  const undefinedMask = OF | SF | AF | PF;
  return arith(truncate(size, result), flagsIn, CF | undefinedMask, (flagsIn & ~CF) | (selected ? CF : 0), undefinedMask);
}

// [INS.BIT.3] BSF and BSR find the lowest (BSF) or highest (BSR) set bit of
// the source, write its index and clear ZF. If the source is zero they set ZF
// and the destination is undefined: the manual is silent on its value; we
// choose to leave it unchanged, which AMD documents and both an AMD and an
// Intel host were measured to do. CF, OF, SF, AF and PF are undefined; the
// model leaves them as they were.
export function bitScan(reverse: boolean, size: OperandSize, dest: number, src: number, flagsIn: number): ArithResult {
  const s = truncate(size, src);
  const undefinedMask = CF | OF | SF | AF | PF;
  if (s === 0) return withUndefinedResult(arith(truncate(size, dest), flagsIn, STATUS_FLAGS, flagsIn | ZF, undefinedMask));
  const index = reverse ? 31 - Math.clz32(s) : 31 - Math.clz32(s & -s);
  return arith(index, flagsIn, STATUS_FLAGS, flagsIn & ~ZF, undefinedMask);
}

export const bsf = (size: OperandSize, dest: number, src: number, flagsIn: number): ArithResult => bitScan(false, size, dest, src, flagsIn);
export const bsr = (size: OperandSize, dest: number, src: number, flagsIn: number): ArithResult => bitScan(true, size, dest, src, flagsIn);

// [INS.BIT.4] BSWAP reverses the four bytes of a 32-bit register and changes
// no flag. With a 16-bit operand the result is undefined: the manual is
// silent; we choose what both an AMD and an Intel host were measured to do,
// which is to write zero to the 16-bit register.
export function bswap(size: OperandSize, value: number, flagsIn: number): ArithResult {
  if (size !== 32) return withUndefinedResult(arith(0, flagsIn, 0, 0));
  const v = value >>> 0;
  const swapped = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
  return arith(swapped, flagsIn, 0, 0);
}
