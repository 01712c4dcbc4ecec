// Memory accesses through a segment: the segment check (type and limit,
// expand-down included), then paging. The segment cache keeps the valid
// offset range precomputed (segLow..segHigh), so a flat segment's check is
// the same two comparisons as any other — the fast path still honours limits.
import { type Cpu, SS, SEG_READ, SEG_WRITE } from './cpu';
import { fault, GP, SS as SS_FAULT } from './faults';
import { CR0_PG, TLB_USER, TLB_VALID, translate } from './paging';

function segmentFault(segment: number): never {
  return fault(segment === SS ? SS_FAULT : GP, 0);
}

/** Check an access of `size` bytes at `offset` and return its linear address. */
export function linearAddress(cpu: Cpu, segment: number, offset: number, size: number, write: boolean): number {
  if (!(cpu.segAccess[segment] & (write ? SEG_WRITE : SEG_READ))) segmentFault(segment);
  if (offset < cpu.segLow[segment] || offset + size - 1 > cpu.segHigh[segment]) segmentFault(segment);
  return (cpu.segBase[segment] + offset) >>> 0;
}

/**
 * The physical address of SS:`offset` when reads of the `bytes` bytes from
 * there through SS can neither fault nor change anything: SS readable and
 * every byte within its range, all in one page, and that page either
 * unpaged or in a TLB entry that grants the read at the current CPL (so
 * translate() would return it without a walk). Otherwise -1, and the
 * caller reads slot by slot with every check. IRET pops its frame this way.
 */
export function quietStackRead(cpu: Cpu, offset: number, bytes: number): number {
  if (!(cpu.segAccess[SS] & SEG_READ)) return -1;
  if (offset < cpu.segLow[SS] || offset + bytes - 1 > cpu.segHigh[SS]) return -1;
  const linear = (cpu.segBase[SS] + offset) >>> 0;
  if ((linear & 0xfff) + bytes > 0x1000) return -1;
  if (!(cpu.cr0 & CR0_PG)) return linear;
  const entry = cpu.tlb[linear >>> 12];
  if (!(entry & TLB_VALID) || (cpu.cpl === 3 && !(entry & TLB_USER))) return -1;
  return ((entry & ~0xfff) | (linear & 0xfff)) >>> 0;
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
