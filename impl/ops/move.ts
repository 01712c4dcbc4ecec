// Data movement: MOV, MOVZX/MOVSX, XCHG, LEA, PUSH/POP, PUSHA/POPA, CBW/CWD
// families, BSWAP, XADD, CMPXCHG, XLAT, ENTER/LEAVE, CMOVcc, SETcc, and the
// far-pointer loads LDS/LES/LSS/LFS/LGS.
import { type Cpu, type Decoded, DS, SS } from '../cpu';
import { condition, setFlags, ZF } from '../flags';
import { ud } from '../faults';
import { pop, probeWrite, push, readMemory, linearAddress, readLinear, writeLinear } from '../access';
import { destination, effectiveOffset, readDestination, readRM, signExtend, writeDestination, writeRM } from '../operands';
import { alu } from './alu';
import { loadDataSegment } from '../segmentation';

export const moveRmReg = (cpu: Cpu, d: Decoded): void => writeRM(cpu, d, d.size, cpu.readRegister(d.size, d.reg));
export const moveRegRm = (cpu: Cpu, d: Decoded): void => cpu.writeRegister(d.size, d.reg, readRM(cpu, d, d.size));
export const moveRmImm = (cpu: Cpu, d: Decoded): void => writeRM(cpu, d, d.size, d.imm);

/** MOVZX (variant 0) / MOVSX (variant 1); imm2 is the source size in bytes. */
export function moveExtend(cpu: Cpu, d: Decoded): void {
  const value = readRM(cpu, d, d.imm2);
  cpu.writeRegister(d.size, d.reg, d.variant === 1 ? signExtend(value, d.imm2) >>> 0 : value);
}

/** XCHG r/m, reg (a memory operand is checked for writing first). */
export function exchange(cpu: Cpu, d: Decoded): void {
  const size = d.size, at = destination(cpu, d, size);
  const old = readDestination(cpu, d, at, size);
  writeDestination(cpu, d, at, size, cpu.readRegister(size, d.reg));
  cpu.writeRegister(size, d.reg, old);
}

export function loadEffectiveAddress(cpu: Cpu, d: Decoded): void {
  if (d.mod === 3) ud();
  cpu.writeRegister(d.size, d.reg, effectiveOffset(cpu, d));
}

export const pushRegister = (cpu: Cpu, d: Decoded): void => push(cpu, d.size, cpu.readRegister(d.size, d.reg));
export const pushImmediate = (cpu: Cpu, d: Decoded): void => push(cpu, d.size, d.imm);
export const pushRM = (cpu: Cpu, d: Decoded): void => push(cpu, d.size, readRM(cpu, d, d.size));
export const popRegister = (cpu: Cpu, d: Decoded): void => {
  const value = pop(cpu, d.size);
  cpu.writeRegister(d.size, d.reg, value);
};
/** POP r/m: an ESP-based address is computed after ESP is incremented. */
export function popRM(cpu: Cpu, d: Decoded): void {
  const esp = cpu.r32[4];
  const value = pop(cpu, d.size);
  try {
    writeRM(cpu, d, d.size, value);
  } catch (e) {
    cpu.r32[4] = esp;
    throw e;
  }
}

export function pushAll(cpu: Cpu, d: Decoded): void {
  const size = d.size, esp = cpu.r32[4];
  const values = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => cpu.readRegister(size, r));
  // Check every slot first (segment, then pages), each at its own offset as
  // the model's eight pushes are (a frame may wrap past offset 0), so that a
  // fault leaves ESP and memory unchanged.
  for (let i = 1; i <= 8; i++) probeWrite(cpu, linearAddress(cpu, SS, (esp - i * size) >>> 0, size, true), size, cpu.cpl === 3);
  try {
    for (const value of values) push(cpu, size, value);
  } catch (e) {
    cpu.r32[4] = esp;
    throw e;
  }
}

export function popAll(cpu: Cpu, d: Decoded): void {
  const size = d.size, esp = cpu.r32[4] >>> 0;
  const values: number[] = [];
  for (let i = 0; i < 8; i++) values.push(readMemory(cpu, SS, (esp + i * size) >>> 0, size));
  for (let i = 0; i < 8; i++) if (i !== 3) cpu.writeRegister(size, 7 - i, values[i]); // ESP skipped
  cpu.r32[4] = esp + 8 * size;
}

/** CBW/CWDE (variant 0) and CWD/CDQ (variant 1), by operand size. */
export function convert(cpu: Cpu, d: Decoded): void {
  if (d.variant === 0) {
    if (d.size === 4) cpu.r32[0] = signExtend(cpu.r16[0], 2);
    else cpu.r16[0] = signExtend(cpu.r8[0], 1);
  } else if (d.size === 4) cpu.r32[2] = cpu.r32[0] >> 31;
  else cpu.r16[4] = (cpu.r16[0] << 16) >> 31;
}

export function byteSwap(cpu: Cpu, d: Decoded): void {
  const v = cpu.r32[d.reg];
  // With a 16-bit operand the result is undefined; we swap the whole register.
  cpu.r32[d.reg] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

export function exchangeAndAdd(cpu: Cpu, d: Decoded): void {
  const size = d.size, at = destination(cpu, d, size);
  const a = readDestination(cpu, d, at, size), b = cpu.readRegister(size, d.reg);
  const sum = alu(cpu, 0, a, b, size);
  cpu.writeRegister(size, d.reg, a);
  writeDestination(cpu, d, at, size, sum);
}

/** CMPXCHG r/m, reg: compare with the accumulator; the destination is
 * always written (with its own value on a mismatch), as the manual says. */
export function compareExchange(cpu: Cpu, d: Decoded): void {
  const size = d.size, at = destination(cpu, d, size);
  const old = readDestination(cpu, d, at, size);
  alu(cpu, 7, cpu.readRegister(size, 0), old, size);
  if (old === cpu.readRegister(size, 0)) writeDestination(cpu, d, at, size, cpu.readRegister(size, d.reg));
  else {
    writeDestination(cpu, d, at, size, old);
    cpu.writeRegister(size, 0, old);
  }
}

/** CMPXCHG8B m64: EDX:EAX against m64; ECX:EBX in when equal, else m64 into EDX:EAX and written back. */
export function compareExchange8(cpu: Cpu, d: Decoded): void {
  if (d.mod === 3) ud();
  const user = cpu.cpl === 3, offset = effectiveOffset(cpu, d);
  // Each half checked for writing (segment, then page) before anything is read, low half first.
  const low = linearAddress(cpu, d.segment, offset, 4, true);
  probeWrite(cpu, low, 4, user);
  const high = linearAddress(cpu, d.segment, (offset + 4) >>> 0, 4, true);
  probeWrite(cpu, high, 4, user);
  const oldLow = readLinear(cpu, low, 4, user), oldHigh = readLinear(cpu, high, 4, user);
  const equal = oldLow === cpu.r32[0] >>> 0 && oldHigh === cpu.r32[2] >>> 0;
  writeLinear(cpu, low, 4, equal ? cpu.r32[3] : oldLow, user);
  writeLinear(cpu, high, 4, equal ? cpu.r32[1] : oldHigh, user);
  if (!equal) { cpu.r32[0] = oldLow; cpu.r32[2] = oldHigh; }
  setFlags(cpu, ZF, equal ? ZF : 0);
}

export function translateByte(cpu: Cpu, d: Decoded): void {
  const segment = d.override >= 0 ? d.override : DS;
  // DS:[EBX + AL], or DS:[BX + AL] wrapping at 64 KiB with the address-size prefix.
  cpu.r8[0] = readMemory(cpu, segment, ((cpu.r32[3] + cpu.r8[0]) & d.addressMask) >>> 0, 1);
}

export function enter(cpu: Cpu, d: Decoded): void {
  const size = d.size, level = d.imm2 & 31, esp = cpu.r32[4], ebp = cpu.r32[5];
  try {
    push(cpu, size, cpu.readRegister(size, 5));
    const frame = cpu.r32[4];
    let framePointer = ebp;
    for (let i = 1; i < level; i++) {
      framePointer = (framePointer - size) | 0;
      push(cpu, size, readMemory(cpu, SS, framePointer >>> 0, size));
    }
    if (level > 0) push(cpu, size, frame >>> 0);
    const newEsp = (cpu.r32[4] - d.imm) >>> 0;
    // The final ESP is touched as a write of one unit (segment and pages; the
    // host CPU faults there), though nothing is stored (INS.STACK.7).
    if (d.imm > 0) probeWrite(cpu, linearAddress(cpu, SS, newEsp, size, true), size, cpu.cpl === 3);
    cpu.writeRegister(size, 5, frame);
    cpu.r32[4] = newEsp;
  } catch (e) {
    cpu.r32[4] = esp; cpu.r32[5] = ebp;
    throw e;
  }
}

export function leave(cpu: Cpu, d: Decoded): void {
  const ebp = cpu.r32[5] >>> 0;
  const value = readMemory(cpu, SS, ebp, d.size);
  cpu.r32[4] = ebp + d.size;
  cpu.writeRegister(d.size, 5, value);
}

/** CMOVcc: the source is read (and may fault) even when the condition is false. */
export function conditionalMove(cpu: Cpu, d: Decoded): void {
  const value = readRM(cpu, d, d.size);
  if (condition(cpu, d.variant)) cpu.writeRegister(d.size, d.reg, value);
}

export const setOnCondition = (cpu: Cpu, d: Decoded): void => writeRM(cpu, d, 1, condition(cpu, d.variant) ? 1 : 0);

/** LES LSS LDS LFS LGS: imm2 names the segment register. */
export function loadFarPointer(cpu: Cpu, d: Decoded): void {
  if (d.mod === 3) ud();
  const offsetAddress = effectiveOffset(cpu, d);
  const offset = readMemory(cpu, d.segment, offsetAddress, d.size);
  const selector = readMemory(cpu, d.segment, (offsetAddress + d.size) >>> 0, 2);
  loadDataSegment(cpu, d.imm2, selector);
  cpu.writeRegister(d.size, d.reg, offset);
}

