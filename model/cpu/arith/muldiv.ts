// Multiplication and division. The product of two n-bit numbers is 2n bits;
// the dividend of DIV/IDIV is 2n bits (AX, DX:AX or EDX:EAX) and the divisor
// n bits. BigInt keeps the 32-bit cases exact. Rules in spec/instructions.md
// ("Multiply and divide").
import type { OperandSize } from '../../isa/ast';
import { CF, OF, STATUS_FLAGS, arith, resultFlags, toSigned, truncate, type ArithResult } from './flags';

/** A product: the low half in `result`, the high half in `high`. */
export interface ProductResult extends ArithResult {
  readonly high: number;
}

/** A quotient and remainder, or the divide error (#DE) the hardware raises. */
export type QuotientResult =
  | { readonly kind: 'ok'; readonly quotient: number; readonly remainder: number; readonly flags: number; readonly written: number; readonly undefined: number }
  | { readonly kind: 'divide-error' };

const big = (n: number): bigint => BigInt(n);
const lowBits = (size: OperandSize, v: bigint): number => Number(BigInt.asUintN(size, v));

const signedBig = (size: OperandSize, v: number): bigint => big(toSigned(size, v));
const unsignedBig = (size: OperandSize, v: number): bigint => big(truncate(size, v));

// [INS.MUL.1] MUL multiplies unsigned; CF and OF are both set exactly when
// the high half of the product is not zero. IMUL multiplies signed, in all
// three forms (one operand into AX/DX:AX/EDX:EAX; two operands; three with an
// immediate): CF and OF are both set exactly when the full product differs
// from the low half sign-extended, i.e. when the truncated result is wrong.
// [INS.MUL.2] After MUL and IMUL, SF, ZF, AF and PF are undefined; the model
// writes SF, ZF and PF of the low half and AF = 0.
function multiply(signed: boolean, size: OperandSize, a: number, b: number, flagsIn: number): ProductResult {
  const operand = signed ? signedBig : unsignedBig;
  const product = operand(size, a) * operand(size, b);
  const low = lowBits(size, product);
  const high = lowBits(size, product >> big(size));
  const truncatedIsExact = signed ? big(toSigned(size, low)) === product : product === big(low);
  const values = (truncatedIsExact ? 0 : CF | OF) | resultFlags(size, low);
  const r = arith(low, flagsIn, STATUS_FLAGS, values, STATUS_FLAGS & ~(CF | OF));
  // The record written out rather than spread: a spread here was a tenth of
  // the ALU kernel's time (bench/README.md, "The model's speed").
  return { result: r.result, flags: r.flags, written: r.written, undefined: r.undefined, high };
}

export const mul = (size: OperandSize, a: number, b: number, flagsIn: number): ProductResult => multiply(false, size, a, b, flagsIn);
export const imul = (size: OperandSize, a: number, b: number, flagsIn: number): ProductResult => multiply(true, size, a, b, flagsIn);

// [INS.DIV.1] DIV and IDIV divide the double-width dividend high:low by the
// divisor. A zero divisor, or a quotient that does not fit the operand size
// (unsigned for DIV, signed for IDIV), raises #DE and changes nothing. IDIV
// truncates toward zero and its remainder takes the dividend's sign.
// [INS.DIV.2] All six status flags are undefined after DIV and IDIV; the
// model leaves them as they were.
function divide(signed: boolean, size: OperandSize, low: number, high: number, divisor: number, flagsIn: number): QuotientResult {
  const dividendUnsigned = (unsignedBig(size, high) << big(size)) | unsignedBig(size, low);
  const dividend = signed ? BigInt.asIntN(2 * size, dividendUnsigned) : dividendUnsigned;
  const d = signed ? signedBig(size, divisor) : unsignedBig(size, divisor);
  if (d === 0n) return { kind: 'divide-error' };
  const quotient = dividend / d; // BigInt division truncates toward zero
  const remainder = dividend % d; // and the remainder has the dividend's sign
  const limit = big(2 ** (signed ? size - 1 : size));
  const fits = signed ? quotient >= -limit && quotient < limit : quotient < limit;
  if (!fits) return { kind: 'divide-error' };
  return {
    kind: 'ok',
    quotient: lowBits(size, quotient),
    remainder: lowBits(size, remainder),
    flags: flagsIn >>> 0,
    written: STATUS_FLAGS,
    undefined: STATUS_FLAGS,
  };
}

export const div = (size: OperandSize, low: number, high: number, divisor: number, flagsIn: number): QuotientResult =>
  divide(false, size, low, high, divisor, flagsIn);
export const idiv = (size: OperandSize, low: number, high: number, divisor: number, flagsIn: number): QuotientResult =>
  divide(true, size, low, high, divisor, flagsIn);


