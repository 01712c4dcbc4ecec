// RDTSC, RDMSR, WRMSR, SYSENTER, SYSEXIT (spec/system.md SYS.TSC.*, SYS.MSR.*,
// SYS.SYSENTER.1, SYS.SYSEXIT.1). The TSC is the retired-instruction count
// plus an offset, mod 2^64; the SYSENTER MSRs keep their low 32 bits.
import { type Cpu, CS, SS } from '../cpu';
import { gp } from '../faults';
import { IF, RF, VM, readEflags, writeEflags } from '../flags';
import { setSegmentCache } from '../segmentation';

export const CR4_TSD = 0x4;
const TWO_64 = 1n << 64n, TWO_32 = 1n << 32n;

function counter(cpu: Cpu): bigint {
  return (BigInt(cpu.instructionCount) + ((BigInt(cpu.tscOffsetHigh) << 32n) | BigInt(cpu.tscOffsetLow))) % TWO_64;
}

function loadEdxEax(cpu: Cpu, value: bigint): void {
  cpu.r32[2] = Number(value >> 32n);
  cpu.r32[0] = Number(value % TWO_32);
}

export function readTimeStampCounter(cpu: Cpu): void {
  if (cpu.cr4 & CR4_TSD && cpu.cpl > 0) gp(0);
  loadEdxEax(cpu, counter(cpu));
}

export function readModelSpecific(cpu: Cpu): void {
  if (cpu.cpl !== 0) gp(0);
  switch (cpu.r32[1] >>> 0) {
    case 0x10: loadEdxEax(cpu, counter(cpu)); return;
    case 0x174: loadEdxEax(cpu, BigInt(cpu.sysenterCs)); return;
    case 0x175: loadEdxEax(cpu, BigInt(cpu.sysenterEsp)); return;
    case 0x176: loadEdxEax(cpu, BigInt(cpu.sysenterEip)); return;
    default: gp(0);
  }
}

export function writeModelSpecific(cpu: Cpu): void {
  if (cpu.cpl !== 0) gp(0);
  const low = cpu.r32[0] >>> 0;
  switch (cpu.r32[1] >>> 0) {
    case 0x10: {
      const wanted = (BigInt(cpu.r32[2] >>> 0) << 32n) | BigInt(low);
      const offset = (((wanted - BigInt(cpu.instructionCount)) % TWO_64) + TWO_64) % TWO_64;
      cpu.tscOffsetHigh = Number(offset >> 32n);
      cpu.tscOffsetLow = Number(offset % TWO_32);
      return;
    }
    case 0x174: cpu.sysenterCs = low; return;
    case 0x175: cpu.sysenterEsp = low; return;
    case 0x176: cpu.sysenterEip = low; return;
    default: gp(0);
  }
}

/** Flat 4 GiB code (type 11) or data (type 3) cache, 32-bit, present, at `dpl`. */
const flat = (code: boolean, dpl: number): number => 0xc000 | 0x80 | (dpl << 5) | 0x10 | (code ? 0xb : 0x3);

export function fastSystemCall(cpu: Cpu): void {
  const cs = cpu.sysenterCs & 0xfffc;
  if (cs === 0) gp(0);
  writeEflags(cpu, readEflags(cpu) & ~(VM | IF | RF));
  setSegmentCache(cpu, CS, cs, 0, 0xffffffff, flat(true, 0), true);
  setSegmentCache(cpu, SS, (cs + 8) & 0xfffc, 0, 0xffffffff, flat(false, 0), true);
  cpu.r32[4] = cpu.sysenterEsp;
  cpu.next = cpu.sysenterEip >>> 0;
}

export function fastSystemReturn(cpu: Cpu): void {
  const cs = cpu.sysenterCs & 0xfffc;
  if (cpu.cpl !== 0 || cs === 0) gp(0);
  setSegmentCache(cpu, CS, ((cs + 16) & 0xfffc) | 3, 0, 0xffffffff, flat(true, 3), true);
  setSegmentCache(cpu, SS, ((cs + 24) & 0xfffc) | 3, 0, 0xffffffff, flat(false, 3), true);
  cpu.r32[4] = cpu.r32[1];
  cpu.next = cpu.r32[2] >>> 0;
}
