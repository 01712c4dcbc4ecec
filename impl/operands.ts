// Operand access for decoded instructions: effective addresses, r/m reads
// and writes, and read-modify-write destinations.
import type { Cpu, Decoded } from './cpu';
import { linearAddress, probeWrite, readLinear, readMemory, writeLinear, writeMemory } from './access';

export function effectiveOffset(cpu: Cpu, d: Decoded): number {
  let address = d.disp;
  if (d.base >= 0) address += cpu.r32[d.base];
  if (d.index >= 0) address += cpu.r32[d.index] << d.scale;
  return (address & d.addressMask) >>> 0;
}

export function readRM(cpu: Cpu, d: Decoded, size: number): number {
  if (d.mod === 3) return cpu.readRegister(size, d.rm);
  return readMemory(cpu, d.segment, effectiveOffset(cpu, d), size);
}

export function writeRM(cpu: Cpu, d: Decoded, size: number, value: number): void {
  if (d.mod === 3) cpu.writeRegister(size, d.rm, value);
  else writeMemory(cpu, d.segment, effectiveOffset(cpu, d), size, value);
}

/**
 * For a read-modify-write destination: check the write in full (segment and
 * every page) before anything is read, so a fault leaves nothing changed.
 * Returns the linear address, or -1 when the destination is a register.
 */
export function destination(cpu: Cpu, d: Decoded, size: number): number {
  if (d.mod === 3) return -1;
  const linear = linearAddress(cpu, d.segment, effectiveOffset(cpu, d), size, true);
  probeWrite(cpu, linear, size, cpu.cpl === 3);
  return linear;
}

export function readDestination(cpu: Cpu, d: Decoded, linear: number, size: number): number {
  return linear < 0 ? cpu.readRegister(size, d.rm) : readLinear(cpu, linear, size, cpu.cpl === 3);
}

export function writeDestination(cpu: Cpu, d: Decoded, linear: number, size: number, value: number): void {
  if (linear < 0) cpu.writeRegister(size, d.rm, value);
  else writeLinear(cpu, linear, size, value, cpu.cpl === 3);
}

/** Sign-extend a size-byte value to a signed 32-bit number. */
export function signExtend(value: number, size: number): number {
  return size === 4 ? value | 0 : size === 2 ? (value << 16) >> 16 : (value << 24) >> 24;
}
