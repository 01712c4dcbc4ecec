// The integer ALU: addition and subtraction with their carry, borrow and
// overflow rules, the logical operations, and the unary forms. Each function
// works over an operand size; the spec rules are in spec/instructions.md
// ("Arithmetic and logic").
import type { OperandSize } from '../../isa/ast';
import {
  AF, CF, OF, STATUS_FLAGS, arith, resultFlags, signBit, sizeMask, truncate, type ArithResult,
} from './flags';

/** A two-operand ALU operation: (size, destination, source, EFLAGS in). */
export type BinaryOperation = (size: OperandSize, a: number, b: number, flagsIn: number) => ArithResult;
/** A one-operand ALU operation: (size, operand, EFLAGS in). */
export type UnaryOperation = (size: OperandSize, a: number, flagsIn: number) => ArithResult;

// [INS.ALU.1] ADD and ADC: CF is the carry out of the top bit, OF is set when
// both inputs have the same sign and the result's sign differs, AF is the
// carry out of bit 3, and SF/ZF/PF describe the result. ADC adds CF in.
function addWithCarry(size: OperandSize, a: number, b: number, carryIn: number, flagsIn: number, written: number): ArithResult {
  const x = truncate(size, a);
  const y = truncate(size, b);
  const sum = x + y + carryIn;
  const result = truncate(size, sum);
  const values =
    (sum > sizeMask(size) ? CF : 0) |
    ((x ^ y ^ result) & AF) |
    ((x ^ result) & (y ^ result) & signBit(size) ? OF : 0) |
    resultFlags(size, result);
  return arith(result, flagsIn, written, values);
}

// [INS.ALU.2] SUB, SBB, CMP and NEG: CF is the borrow (the subtrahend plus
// the borrow in exceeds the minuend, unsigned), OF is set when the inputs
// have different signs and the result's sign differs from the minuend's, AF is
// the borrow out of bit 3. SBB subtracts CF too. CMP computes the same flags
// and discards the result (the handler does not write it back).
function subtractWithBorrow(size: OperandSize, a: number, b: number, borrowIn: number, flagsIn: number, written: number): ArithResult {
  const x = truncate(size, a);
  const y = truncate(size, b);
  const result = truncate(size, x - y - borrowIn);
  const values =
    (x < y + borrowIn ? CF : 0) |
    ((x ^ y ^ result) & AF) |
    ((x ^ y) & (x ^ result) & signBit(size) ? OF : 0) |
    resultFlags(size, result);
  return arith(result, flagsIn, written, values);
}

export const add: BinaryOperation = (size, a, b, f) => addWithCarry(size, a, b, 0, f, STATUS_FLAGS);
export const adc: BinaryOperation = (size, a, b, f) => addWithCarry(size, a, b, f & CF, f, STATUS_FLAGS);
export const sub: BinaryOperation = (size, a, b, f) => subtractWithBorrow(size, a, b, 0, f, STATUS_FLAGS);
export const sbb: BinaryOperation = (size, a, b, f) => subtractWithBorrow(size, a, b, f & CF, f, STATUS_FLAGS);
export const cmp: BinaryOperation = sub;

// [INS.ALU.3] AND, OR, XOR and TEST clear CF and OF and set SF/ZF/PF from the
// result; AF is undefined (the model writes 0). TEST is AND without writing
// the result back.
function logical(size: OperandSize, result: number, flagsIn: number): ArithResult {
  const r = truncate(size, result);
  return arith(r, flagsIn, STATUS_FLAGS, resultFlags(size, r), AF);
}

export const and: BinaryOperation = (size, a, b, f) => logical(size, a & b, f);
export const or: BinaryOperation = (size, a, b, f) => logical(size, a | b, f);
export const xor: BinaryOperation = (size, a, b, f) => logical(size, a ^ b, f);
export const test: BinaryOperation = and;

// [INS.ALU.4] INC and DEC add or subtract one exactly as ADD and SUB would,
// but leave CF unchanged.
const NOT_CARRY = STATUS_FLAGS & ~CF;
export const inc: UnaryOperation = (size, a, f) => addWithCarry(size, a, 1, 0, f, NOT_CARRY);
export const dec: UnaryOperation = (size, a, f) => subtractWithBorrow(size, a, 1, 0, f, NOT_CARRY);

// [INS.ALU.5] NEG computes 0 − operand with SUB's flags, so CF is set exactly
// when the operand is not zero and OF exactly when it is the most negative value.
export const neg: UnaryOperation = (size, a, f) => subtractWithBorrow(size, 0, a, 0, f, STATUS_FLAGS);

// [INS.ALU.6] NOT inverts every bit and changes no flag.
export const not: UnaryOperation = (size, a, f) => arith(truncate(size, ~a), f, 0, 0);

export const binaryOperations = { add, adc, sub, sbb, cmp, and, or, xor, test } as const;
export const unaryOperations = { inc, dec, neg, not } as const;
export type BinaryMnemonic = keyof typeof binaryOperations;
export type UnaryMnemonic = keyof typeof unaryOperations;
