// Memory accesses through a segment: the segment check (type and limit,
// expand-down included), then paging. The segment cache keeps the valid
// offset range precomputed (segLow..segHigh), so a flat segment's check is
// the same two comparisons as any other — the fast path still honours limits.
import { type Cpu, SS, SEG_READ, SEG_WRITE } from './cpu';
import { fault, GP, SS as SS_FAULT } from './faults';
import { translate } from './paging';

function segmentFault(segment: number): never {
  return fault(segment === SS ? SS_FAULT : GP, 0);
}

/** Check an access of `size` bytes at `offset` and return its linear address. */
export function linearAddress(cpu: Cpu, segment: number, offset: number, size: number, write: boolean): number {
  if (!(cpu.segAccess[segment] & (write ? SEG_WRITE : SEG_READ))) segmentFault(segment);
  if (offset < cpu.segLow[segment] || offset + size - 1 > cpu.segHigh[segment]) segmentFault(segment);
  return (cpu.segBase[segment] + offset) >>> 0;
}

/** Read at a linear address with the privilege of `user` (CPL 3). */
export function readLinear(cpu: Cpu, linear: number, size: number, user: boolean): number {
  if ((linear & 0xfff) + size <= 0x1000) return cpu.memory.read(translate(cpu, linear, false, user), size);
  let value = 0;
  for (let i = 0; i < size; i++) value |= cpu.memory.read8(translate(cpu, (linear + i) >>> 0, false, user)) << (8 * i);
  return value >>> 0;
}

/** Write at a linear address; a write crossing a page checks both pages first. */
export function writeLinear(cpu: Cpu, linear: number, size: number, value: number, user: boolean): void {
  if ((linear & 0xfff) + size <= 0x1000) {
    cpu.memory.write(translate(cpu, linear, true, user), size, value);
    return;
  }
  // Both pages are checked first; CR2 names the first byte of the page that faults.
  translate(cpu, linear, true, user);
  translate(cpu, ((linear | 0xfff) + 1) >>> 0, true, user);
  for (let i = 0; i < size; i++) {
    cpu.memory.write8(translate(cpu, (linear + i) >>> 0, true, user), (value >>> (8 * i)) & 0xff);
  }
}

/** Make sure a write of `size` bytes at `linear` will succeed (both pages). */
export function probeWrite(cpu: Cpu, linear: number, size: number, user: boolean): void {
  translate(cpu, linear, true, user);
  if ((linear & 0xfff) + size > 0x1000) translate(cpu, ((linear | 0xfff) + 1) >>> 0, true, user);
}

export function readMemory(cpu: Cpu, segment: number, offset: number, size: number): number {
  return readLinear(cpu, linearAddress(cpu, segment, offset, size, false), size, cpu.cpl === 3);
}

export function writeMemory(cpu: Cpu, segment: number, offset: number, size: number, value: number): void {
  writeLinear(cpu, linearAddress(cpu, segment, offset, size, true), size, value, cpu.cpl === 3);
}

/** Supervisor (implicit) accesses: descriptor tables, the TSS, the IDT. */
export const readSystem = (cpu: Cpu, linear: number, size: number): number => readLinear(cpu, linear, size, false);
export const writeSystem = (cpu: Cpu, linear: number, size: number, value: number): void =>
  writeLinear(cpu, linear, size, value, false);

/** The stack is 32-bit (SS.B = 1) in this machine; see CHOICES.md. */
export function push(cpu: Cpu, size: number, value: number): void {
  const esp = (cpu.r32[4] - size) >>> 0;
  writeMemory(cpu, SS, esp, size, value);
  cpu.r32[4] = esp;
}

export function pop(cpu: Cpu, size: number): number {
  const esp = cpu.r32[4] >>> 0;
  const value = readMemory(cpu, SS, esp, size);
  cpu.r32[4] = esp + size;
  return value;
}

/** Read the stack `depth` bytes above ESP without popping. */
export function peek(cpu: Cpu, depth: number, size: number): number {
  return readMemory(cpu, SS, (cpu.r32[4] + depth) >>> 0, size);
}
