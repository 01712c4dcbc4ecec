// Near control transfers: JMP, Jcc, CALL, RET, LOOP family, JECXZ. A target
// outside the CS limit is #GP(0) with nothing changed (the push of CALL
// included). With a 16-bit operand size the target is truncated to 16 bits.
import { type Cpu, type Decoded, CS } from '../cpu';
import { condition, flag, ZF } from '../flags';
import { gp } from '../faults';
import { pop, push, peek } from '../access';
import { readRM } from '../operands';

function jumpTo(cpu: Cpu, d: Decoded, target: number): void {
  if (d.operandSize === 2) target &= 0xffff;
  target >>>= 0;
  if (target > cpu.segLimit[CS]) gp(0);
  cpu.next = target;
}
const relative = (cpu: Cpu, d: Decoded): number => (cpu.next + d.imm) >>> 0;

export const jumpRelative = (cpu: Cpu, d: Decoded): void => jumpTo(cpu, d, relative(cpu, d));
export const jumpIndirect = (cpu: Cpu, d: Decoded): void => jumpTo(cpu, d, readRM(cpu, d, d.size));
export function jumpConditional(cpu: Cpu, d: Decoded): void {
  if (condition(cpu, d.variant)) jumpTo(cpu, d, relative(cpu, d));
}

function callTo(cpu: Cpu, d: Decoded, target: number): void {
  if (d.operandSize === 2) target &= 0xffff;
  if (target >>> 0 > cpu.segLimit[CS]) gp(0);
  push(cpu, d.size, cpu.next);
  cpu.next = target >>> 0;
}
export const callRelative = (cpu: Cpu, d: Decoded): void => callTo(cpu, d, relative(cpu, d));
export const callIndirect = (cpu: Cpu, d: Decoded): void => callTo(cpu, d, readRM(cpu, d, d.size));

/** RET and RET imm16 (imm = bytes released after the return address). */
export function nearReturn(cpu: Cpu, d: Decoded): void {
  const target = peek(cpu, 0, d.size);
  if (target > cpu.segLimit[CS]) gp(0);
  pop(cpu, d.size);
  cpu.r32[4] += d.imm;
  cpu.next = target;
}

/** LOOPNE (variant 0), LOOPE (1), LOOP (2), JECXZ (3); the counter is CX
 * with the address-size prefix (d.addressMask 0xffff, spec INS.ADDR16.1). */
export function loop(cpu: Cpu, d: Decoded): void {
  const mask = d.addressMask, ecx = cpu.r32[1];
  if (d.variant === 3) {
    if ((ecx & mask) === 0) jumpTo(cpu, d, relative(cpu, d));
    return;
  }
  const count = (ecx & ~mask) | ((ecx - 1) & mask);
  let taken = (count & mask) !== 0;
  if (d.variant === 0) taken &&= flag(cpu, ZF) === 0;
  else if (d.variant === 1) taken &&= flag(cpu, ZF) === 1;
  if (taken) jumpTo(cpu, d, relative(cpu, d));
  cpu.r32[1] = count;
}
