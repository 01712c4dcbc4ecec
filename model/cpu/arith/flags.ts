// Flag helpers shared by every arithmetic family: the six status flags as
// functions of an operand size, and the result record every pure operation
// returns. Nothing here touches machine state.
import type { OperandSize } from '../../isa/ast';

// The EFLAGS bit constants are the machine's own (model/cpu/eflags.ts).
import { PF, SF, ZF } from '../eflags';
export { AF, CF, DF, OF, PF, SF, STATUS_FLAGS, ZF } from '../eflags';

/**
 * What a pure operation returns. `flags` is the whole incoming EFLAGS with the
 * `written` bits replaced; `undefined` ⊆ `written` names the bits whose new
 * value the manual leaves undefined (the model still stores a value there, as
 * documented per family in spec/instructions.md, and comparisons mask them).
 */
export interface ArithResult {
  readonly result: number;
  readonly flags: number;
  readonly written: number;
  readonly undefined: number;
  /** Set when the manual leaves the result itself undefined (SHLD/SHRD with a
   * count above the operand size, BSF/BSR of zero); `result` then holds the
   * model's documented choice. */
  readonly resultUndefined?: true;
}

/** All ones in the low `size` bits. */
export const sizeMask = (size: OperandSize): number => (size === 32 ? 0xffffffff : (1 << size) - 1);

/** The sign bit of a `size`-bit value. */
export const signBit = (size: OperandSize): number => (size === 32 ? 0x80000000 : 1 << (size - 1));

/** Truncate to `size` bits, as an unsigned number. */
export const truncate = (size: OperandSize, value: number): number => (size === 32 ? value >>> 0 : value & sizeMask(size));

/** Interpret a `size`-bit unsigned value as signed. */
export const toSigned = (size: OperandSize, value: number): number => {
  const v = truncate(size, value);
  return v >= signBit(size) ? v - 2 ** size : v;
};

/** Sign-extend a `from`-bit value to `to` bits, unsigned result. */
export const signExtend = (from: OperandSize, to: OperandSize, value: number): number =>
  truncate(to, toSigned(from, value));

/** PF: set when the low byte of the result has an even number of one bits. */
export function parityFlag(result: number): number {
  let byte = result & 0xff;
  byte ^= byte >> 4;
  byte ^= byte >> 2;
  byte ^= byte >> 1;
  return byte & 1 ? 0 : PF;
}

/** ZF: set when the `size`-bit result is zero. */
export const zeroFlag = (size: OperandSize, result: number): number => (truncate(size, result) === 0 ? ZF : 0);

/** SF: the sign bit of the `size`-bit result. */
export const signFlag = (size: OperandSize, result: number): number => (result & signBit(size) ? SF : 0);

/** SF, ZF and PF of a result: the three flags every logical and arithmetic result sets. */
export const resultFlags = (size: OperandSize, result: number): number =>
  signFlag(size, result) | zeroFlag(size, result) | parityFlag(result);

/** Bit `bit` of `value` as 0 or 1. */
export const bitOf = (value: number, bit: number): number => (value >>> bit) & 1;

/** Make the result record: merge the new values of the written bits into flagsIn. */
export function arith(result: number, flagsIn: number, written: number, values: number, undefinedMask = 0): ArithResult {
  return {
    result: result >>> 0,
    flags: ((flagsIn & ~written) | (values & written)) >>> 0,
    written,
    undefined: undefinedMask,
  };
}

/** The same record with the result marked undefined. */
export const withUndefinedResult = (r: ArithResult): ArithResult => ({ ...r, resultUndefined: true });
