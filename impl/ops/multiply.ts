// MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV. Products of
// 32-bit operands need 64 bits, beyond a double's exact range, so they are
// built from 16-bit halves; 64-by-32 divisions use BigInt (rare).
import type { Cpu, Decoded } from '../cpu';
import { ARITH, CF, MASK, OF, SIGN, parityOf, setFlags, SF, ZF } from '../flags';
import { DE, fault } from '../faults';
import { readRM, signExtend } from '../operands';

/** Unsigned 32x32 product as [high, low]. */
export function multiplyUnsigned(a: number, b: number): [number, number] {
  const aLow = a & 0xffff, aHigh = a >>> 16, bLow = b & 0xffff, bHigh = b >>> 16;
  const low = aLow * bLow;
  const middle = aHigh * bLow + aLow * bHigh + (low >>> 16);
  const lowWord = ((middle & 0xffff) << 16 | (low & 0xffff)) >>> 0;
  const high = (aHigh * bHigh + Math.floor(middle / 0x10000)) >>> 0;
  return [high, lowWord];
}

/** Signed 32x32 product as [high, low], both as unsigned 32-bit words. */
export function multiplySigned(a: number, b: number): [number, number] {
  let [high, low] = multiplyUnsigned(a >>> 0, b >>> 0);
  if ((a | 0) < 0) high -= b >>> 0;
  if ((b | 0) < 0) high -= a >>> 0;
  return [high >>> 0, low];
}

// SF, ZF, AF and PF are undefined after multiplication; we set SF/ZF/PF from
// the low half of the result.
function productFlags(cpu: Cpu, low: number, size: number, overflow: boolean): void {
  setFlags(cpu, ARITH, (overflow ? CF | OF : 0) | parityOf(low) | ((low & MASK[size]) === 0 ? ZF : 0) |
    (low & SIGN[size] ? SF : 0));
}

/** MUL (variant 4) and IMUL (variant 5) of the accumulator by r/m. */
export function multiplyAccumulator(cpu: Cpu, d: Decoded): void {
  const size = d.size, source = readRM(cpu, d, size), signed = d.variant === 5;
  if (size === 1) {
    const al = cpu.r8[0];
    const product = signed ? signExtend(al, 1) * signExtend(source, 1) : al * source;
    cpu.r16[0] = product;
    productFlags(cpu, product, 1, signed ? product !== signExtend(product & 0xff, 1) : (product & 0xff00) !== 0);
  } else if (size === 2) {
    const ax = cpu.r16[0];
    const product = signed ? signExtend(ax, 2) * signExtend(source, 2) : ax * source;
    cpu.r16[0] = product; cpu.r16[4] = product >> 16;
    productFlags(cpu, product, 2, signed ? product !== signExtend(product & 0xffff, 2) : (product >>> 16 & 0xffff) !== 0);
  } else {
    const [high, low] = signed ? multiplySigned(cpu.r32[0], source) : multiplyUnsigned(cpu.r32[0] >>> 0, source);
    cpu.r32[0] = low; cpu.r32[2] = high;
    productFlags(cpu, low, 4, signed ? high !== ((low | 0) < 0 ? 0xffffffff : 0) : high !== 0);
  }
}

/** IMUL reg, r/m (imm2 = 0) and IMUL reg, r/m, imm (imm2 = 1). */
export function multiplySignedInto(cpu: Cpu, d: Decoded): void {
  const size = d.size;
  const a = readRM(cpu, d, size), b = d.imm2 ? d.imm : cpu.readRegister(size, d.reg);
  let low: number, overflow: boolean;
  if (size === 4) {
    const [high, l] = multiplySigned(a, b);
    low = l; overflow = high !== ((low | 0) < 0 ? 0xffffffff : 0);
  } else {
    const product = signExtend(a, 2) * signExtend(b, 2);
    low = product & 0xffff; overflow = product !== signExtend(low, 2);
  }
  cpu.writeRegister(size, d.reg, low);
  productFlags(cpu, low, size, overflow);
}

/** DIV (variant 6) and IDIV (variant 7); flags are undefined and left unchanged. */
export function divideAccumulator(cpu: Cpu, d: Decoded): void {
  const size = d.size, divisor = readRM(cpu, d, size), signed = d.variant === 7;
  if (divisor === 0) fault(DE);
  if (size === 4) {
    const dividend = (BigInt(cpu.r32[2] >>> 0) << 32n) | BigInt(cpu.r32[0] >>> 0);
    let quotient: bigint, remainder: bigint;
    if (signed) {
      const n = BigInt.asIntN(64, dividend), m = BigInt(divisor | 0);
      quotient = n / m; remainder = n % m;
      if (quotient > 0x7fffffffn || quotient < -0x80000000n) fault(DE);
    } else {
      quotient = dividend / BigInt(divisor); remainder = dividend % BigInt(divisor);
      if (quotient > 0xffffffffn) fault(DE);
    }
    cpu.r32[0] = Number(BigInt.asIntN(32, quotient)); cpu.r32[2] = Number(BigInt.asIntN(32, remainder));
    return;
  }
  const bits = size * 8;
  const dividend = size === 1 ? cpu.r16[0] : (cpu.r16[4] << 16 | cpu.r16[0]) >>> 0;
  let quotient: number, remainder: number;
  if (signed) {
    const n = size === 1 ? signExtend(dividend, 2) : dividend | 0, m = signExtend(divisor, size);
    quotient = Math.trunc(n / m); remainder = n % m;
    if (quotient > 2 ** (bits - 1) - 1 || quotient < -(2 ** (bits - 1))) fault(DE);
  } else {
    quotient = Math.floor(dividend / divisor); remainder = dividend % divisor;
    if (quotient > MASK[size]) fault(DE);
  }
  if (size === 1) { cpu.r8[0] = quotient; cpu.r8[1] = remainder; }
  else { cpu.r16[0] = quotient; cpu.r16[4] = remainder; }
}
