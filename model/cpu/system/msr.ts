// The time-stamp counter, the model-specific registers and the fast system
// calls: RDTSC, RDMSR, WRMSR, SYSENTER, SYSEXIT (spec/system.md, SYS.TSC.*,
// SYS.MSR.*, SYS.SYSENTER.*). The machine has exactly four MSRs.
import type { ModelSpecificRegisters } from '../../machine';
import type { Handler } from '../outcome';
import { gp } from '../outcome';
import { cpl, readRegister, writeRegister } from '../context';
import { update, type MachineState, type SegmentRegister } from '../state';
import { IF, RF, VM } from '../eflags';
import { next, privileged } from './common';

export const MSR_TSC = 0x10;
export const MSR_SYSENTER_CS = 0x174;
export const MSR_SYSENTER_ESP = 0x175;
export const MSR_SYSENTER_EIP = 0x176;
/** CR4.TSD: RDTSC only at CPL 0. */
export const CR4_TSD = 1 << 2;

const TWO_TO_64 = 1n << 64n;
const TWO_TO_32 = 1n << 32n;

/** [SYS.TSC.1] The time-stamp counter: instructions retired before this
 * one, plus the offset WRMSR set, mod 2^64, as [high, low]. */
export function timeStampCounter(state: MachineState): [number, number] {
  const offset = (BigInt(state.msrs.tscOffsetHigh) << 32n) | BigInt(state.msrs.tscOffsetLow);
  const tsc = (BigInt(state.instructionCount) + offset) % TWO_TO_64;
  return [Number(tsc >> 32n), Number(tsc % TWO_TO_32)];
}

/** The offset that makes the counter read `high:low` now. */
function offsetFor(state: MachineState, high: number, low: number): Pick<ModelSpecificRegisters, 'tscOffsetHigh' | 'tscOffsetLow'> {
  const wanted = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  const offset = (((wanted - BigInt(state.instructionCount)) % TWO_TO_64) + TWO_TO_64) % TWO_TO_64;
  return { tscOffsetHigh: Number(offset >> 32n), tscOffsetLow: Number(offset % TWO_TO_32) };
}

const withEdxEax = (state: MachineState, high: number, low: number): MachineState =>
  writeRegister(writeRegister(state, 32, 2, high), 32, 0, low);

/** [SYS.TSC.2] RDTSC loads EDX:EAX with the counter; with CR4.TSD set it is
 * #GP(0) at CPL > 0. */
const rdtsc: Handler = (state, _instr, nextEip) => {
  if ((state.cr4 & CR4_TSD) !== 0 && cpl(state) > 0) return gp(0, 'SYS.TSC.2');
  const [high, low] = timeStampCounter(state);
  return next(withEdxEax(state, high, low), nextEip);
};

/** [SYS.MSR.2] RDMSR (CPL 0, else #GP(0)) reads MSR ECX into EDX:EAX: the
 * TSC, or a SYSENTER register with EDX = 0. Any other MSR number: #GP(0). */
const rdmsr: Handler = privileged((state, _instr, nextEip) => {
  const msr = readRegister(state, 32, 1);
  if (msr === MSR_TSC) {
    const [high, low] = timeStampCounter(state);
    return next(withEdxEax(state, high, low), nextEip);
  }
  const value = msrValue(state.msrs, msr);
  return value === null ? gp(0, 'SYS.MSR.2') : next(withEdxEax(state, 0, value), nextEip);
});

function msrValue(msrs: ModelSpecificRegisters, msr: number): number | null {
  switch (msr) {
    case MSR_SYSENTER_CS: return msrs.sysenterCs;
    case MSR_SYSENTER_ESP: return msrs.sysenterEsp;
    case MSR_SYSENTER_EIP: return msrs.sysenterEip;
    default: return null;
  }
}

/** [SYS.MSR.3] WRMSR (CPL 0, else #GP(0)) writes EDX:EAX to MSR ECX. The TSC
 * takes all 64 bits; the SYSENTER registers keep EAX (EDX is ignored: the
 * manual gives them 32 meaningful bits on an IA-32 processor). Any other MSR
 * number: #GP(0). */
const wrmsr: Handler = privileged((state, _instr, nextEip) => {
  const msr = readRegister(state, 32, 1);
  const [high, low] = [readRegister(state, 32, 2), readRegister(state, 32, 0)];
  const set = (msrs: Partial<ModelSpecificRegisters>) => next(update(state, { msrs: { ...state.msrs, ...msrs } }), nextEip);
  switch (msr) {
    case MSR_TSC: return set(offsetFor(state, high, low));
    case MSR_SYSENTER_CS: return set({ sysenterCs: low });
    case MSR_SYSENTER_ESP: return set({ sysenterEsp: low });
    case MSR_SYSENTER_EIP: return set({ sysenterEip: low });
    default: return gp(0, 'SYS.MSR.3');
  }
});

/** A flat 4 GiB segment cache as SYSENTER/SYSEXIT load it, without reading a
 * descriptor: code execute/read accessed (type 11) or data read/write
 * accessed (type 3), 32-bit, page-granular, present. */
function fastSegment(selector: number, code: boolean, dpl: 0 | 3): SegmentRegister {
  return { selector, base: 0, limit: 0xffffffff, attributes: 0xc000 | 0x80 | (dpl << 5) | 0x10 | (code ? 0xb : 0x3), valid: true };
}

/**
 * [SYS.SYSENTER.1] SYSENTER: #GP(0) when SYSENTER_CS (bits 15:2) is null.
 * Otherwise VM, IF and RF are cleared, CS is loaded with SYSENTER_CS (RPL
 * cleared) and SS with SYSENTER_CS + 8, both as flat ring-0 segments without
 * reading the GDT, ESP with SYSENTER_ESP and EIP with SYSENTER_EIP. Nothing
 * is saved: the return address is the caller's business. Allowed at every CPL.
 */
const sysenter: Handler = (state) => {
  const cs = state.msrs.sysenterCs & 0xffff;
  if ((cs & 0xfffc) === 0) return gp(0, 'SYS.SYSENTER.1');
  const regs = state.regs.slice();
  regs[4] = state.msrs.sysenterEsp;
  return {
    kind: 'ok',
    state: update(state, {
      regs,
      eip: state.msrs.sysenterEip,
      eflags: (state.eflags & ~(VM | IF | RF)) >>> 0,
      segments: { ...state.segments, cs: fastSegment(cs & 0xfffc, true, 0), ss: fastSegment((cs + 8) & 0xfffc, false, 0) },
    }),
  };
};

/**
 * [SYS.SYSEXIT.1] SYSEXIT: #GP(0) at CPL > 0 or when SYSENTER_CS is null.
 * Otherwise CS is loaded with SYSENTER_CS + 16 and SS with SYSENTER_CS + 24,
 * both with RPL 3 and as flat ring-3 segments without reading the GDT, ESP
 * with ECX and EIP with EDX. EFLAGS is unchanged.
 */
const sysexit: Handler = (state) => {
  const cs = state.msrs.sysenterCs & 0xffff;
  if (cpl(state) !== 0 || (cs & 0xfffc) === 0) return gp(0, 'SYS.SYSEXIT.1');
  const regs = state.regs.slice();
  regs[4] = regs[1]!;
  return {
    kind: 'ok',
    state: update(state, {
      regs,
      eip: regs[2]!,
      segments: { ...state.segments, cs: fastSegment(((cs + 16) & 0xfffc) | 3, true, 3), ss: fastSegment(((cs + 24) & 0xfffc) | 3, false, 3) },
    }),
  };
};

export const msrHandlers: Record<string, Handler> = { rdtsc, rdmsr, wrmsr, sysenter, sysexit };
