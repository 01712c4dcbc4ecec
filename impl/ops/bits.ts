// BT BTS BTR BTC, BSF BSR, and the BCD adjustments DAA DAS AAA AAS AAM AAD.
import type { Cpu, Decoded } from '../cpu';
import { AF, ARITH, CF, MASK, SF, ZF, flag, parityOf, readEflags, setFlags } from '../flags';
import { DE, fault } from '../faults';
import { effectiveOffset, readRM } from '../operands';
import { linearAddress, probeWrite, readLinear, writeLinear } from '../access';

/**
 * BT (variant 4), BTS (5), BTR (6), BTC (7), as in group 8. With a register
 * bit offset (imm2 = 0) and a memory operand the offset is signed and may
 * reach outside the operand: the byte address moves by offset >> 3, in units
 * of the operand size.
 */
export function bitTest(cpu: Cpu, d: Decoded): void {
  const size = d.size, bits = size * 8;
  let offset = d.imm2 ? d.imm : cpu.readRegister(size, d.reg);
  const writes = d.variant !== 4;
  if (d.mod === 3) {
    offset &= bits - 1;
    const value = cpu.readRegister(size, d.rm);
    setFlags(cpu, CF, (value >>> offset) & 1 ? CF : 0);
    if (writes) cpu.writeRegister(size, d.rm, update(d.variant, value, offset));
    return;
  }
  let address = effectiveOffset(cpu, d);
  if (d.imm2) offset &= bits - 1;
  else {
    const signed = size === 2 ? (offset << 16) >> 16 : offset | 0;
    address = (address + Math.floor(signed / bits) * size) >>> 0;
    offset = ((signed % bits) + bits) % bits;
  }
  const linear = linearAddress(cpu, d.segment, address, size, writes);
  const user = cpu.cpl === 3;
  if (writes) probeWrite(cpu, linear, size, user);
  const value = readLinear(cpu, linear, size, user);
  setFlags(cpu, CF, (value >>> offset) & 1 ? CF : 0);
  if (writes) writeLinear(cpu, linear, size, update(d.variant, value, offset), user);
}

function update(variant: number, value: number, offset: number): number {
  const bit = 1 << offset;
  return (variant === 5 ? value | bit : variant === 6 ? value & ~bit : value ^ bit) >>> 0;
}

/** BSF (variant 0) and BSR (variant 1). A zero source sets ZF and leaves the
 * destination unchanged (the manual says undefined; hardware keeps it). */
export function bitScan(cpu: Cpu, d: Decoded): void {
  const size = d.size, value = readRM(cpu, d, size) & MASK[size];
  if (value === 0) { setFlags(cpu, ZF, ZF); return; }
  const index = d.variant === 0 ? 31 - Math.clz32(value & -value) : 31 - Math.clz32(value);
  cpu.writeRegister(size, d.reg, index);
  setFlags(cpu, ZF, 0);
}

function byteResultFlags(r: number): number {
  return parityOf(r) | ((r & 0xff) === 0 ? ZF : 0) | (r & 0x80 ? SF : 0);
}

/** DAA (variant 0) and DAS (variant 1), per the SDM pseudo-code. */
export function decimalAdjust(cpu: Cpu, d: Decoded): void {
  const oldAl = cpu.r8[0], oldCf = flag(cpu, CF);
  let al = oldAl, cf = 0, af = 0;
  if ((al & 0xf) > 9 || flag(cpu, AF)) {
    af = 1;
    if (d.variant === 0) { cf = oldCf | (al + 6 > 0xff ? 1 : 0); al = (al + 6) & 0xff; }
    else { cf = oldCf | (al < 6 ? 1 : 0); al = (al - 6) & 0xff; }
  }
  if (oldAl > 0x99 || oldCf) {
    al = d.variant === 0 ? (al + 0x60) & 0xff : (al - 0x60) & 0xff;
    cf = 1;
  }
  cpu.r8[0] = al;
  setFlags(cpu, ARITH, byteResultFlags(al) | (cf ? CF : 0) | (af ? AF : 0)); // OF undefined: 0
}

/** AAA (variant 0) and AAS (variant 1). */
export function asciiAdjust(cpu: Cpu, d: Decoded): void {
  let adjust = 0;
  if ((cpu.r8[0] & 0xf) > 9 || flag(cpu, AF)) {
    adjust = 1;
    if (d.variant === 0) { cpu.r16[0] = (cpu.r16[0] + 0x106) & 0xffff; }
    else { cpu.r16[0] = (cpu.r16[0] - 6) & 0xffff; cpu.r8[1] = (cpu.r8[1] - 1) & 0xff; }
  }
  cpu.r8[0] &= 0xf;
  const r = cpu.r8[0];
  setFlags(cpu, ARITH, byteResultFlags(r) | (adjust ? CF | AF : 0));
}

/** AAM imm8: AH = AL / imm, AL = AL % imm; imm 0 is #DE. */
export function asciiAdjustMultiply(cpu: Cpu, d: Decoded): void {
  if (d.imm === 0) fault(DE);
  const al = cpu.r8[0];
  cpu.r8[1] = Math.floor(al / d.imm);
  cpu.r8[0] = al % d.imm;
  setFlags(cpu, ARITH, byteResultFlags(cpu.r8[0]));
}

/** AAD imm8: AL = AL + AH * imm, AH = 0. */
export function asciiAdjustDivide(cpu: Cpu, d: Decoded): void {
  const al = (cpu.r8[0] + cpu.r8[1] * d.imm) & 0xff;
  cpu.r16[0] = al;
  setFlags(cpu, ARITH, byteResultFlags(al));
}

export function setCarry(cpu: Cpu, d: Decoded): void {
  // variant: 0 CLC, 1 STC, 2 CMC
  const cf = d.variant === 0 ? 0 : d.variant === 1 ? CF : flag(cpu, CF) ? 0 : CF;
  setFlags(cpu, CF, cf);
}

export function loadFlagsIntoAH(cpu: Cpu): void {
  cpu.r8[1] = (readEflags(cpu) & 0xd5) | 2;
}
export function storeAHIntoFlags(cpu: Cpu): void {
  setFlags(cpu, CF | 4 | AF | ZF | SF, cpu.r8[1]);
}
