// The interface that both machines (the pure model in model/cpu and the fast
// imperative machine in impl/) present to everything above them: commands,
// properties and tests. It is deliberately plain data so two machines'
// states can be compared field by field and written to replay files.

import type { SegmentName } from './isa/ast';

/** A segment register: its visible selector and its hidden descriptor cache. */
export interface SegmentRegister {
  readonly selector: number;
  readonly base: number;
  /** Effective limit in bytes (already scaled by the G bit). */
  readonly limit: number;
  /** Descriptor bytes 5 and 6 as in the descriptor's high dword bits 8..23
   * (type, S, DPL, P, AVL, D/B, G), i.e. (high >>> 8) & 0xf0ff. */
  readonly attributes: number;
  /** False for a null selector loaded into DS/ES/FS/GS (the cache is unusable). */
  readonly valid: boolean;
}

export interface TableRegister {
  readonly base: number;
  readonly limit: number;
}

export interface GeneralRegisters {
  readonly eax: number; readonly ecx: number; readonly edx: number; readonly ebx: number;
  readonly esp: number; readonly ebp: number; readonly esi: number; readonly edi: number;
}

/**
 * [SYS.MSR.1] The model-specific registers the machine has: the time-stamp
 * counter, kept as an offset from the count of retired instructions (TSC =
 * instructionCount + offset, mod 2^64; the offset as two unsigned 32-bit
 * halves so the state stays plain JSON), and the three SYSENTER registers
 * (their low 32 bits; see spec/system.md).
 */
export interface ModelSpecificRegisters {
  readonly tscOffsetHigh: number;
  readonly tscOffsetLow: number;
  readonly sysenterCs: number;
  readonly sysenterEsp: number;
  readonly sysenterEip: number;
}

/** [SYS.DR.1] The debug registers as MOV from DRn reads them: DR0-DR3, DR6, DR7. */
export interface DebugRegisters {
  readonly dr0: number; readonly dr1: number; readonly dr2: number; readonly dr3: number;
  readonly dr6: number; readonly dr7: number;
}

/** After reset: DR6 has its always-one bits, DR7 its bit 10. */
export const RESET_DEBUG: DebugRegisters = { dr0: 0, dr1: 0, dr2: 0, dr3: 0, dr6: 0xffff0ff0, dr7: 0x400 };

/** The MSRs after reset: TSC = retired instructions, SYSENTER_CS null. */
export const RESET_MSRS: ModelSpecificRegisters = { tscOffsetHigh: 0, tscOffsetLow: 0, sysenterCs: 0, sysenterEsp: 0, sysenterEip: 0 };

/** The architectural state shared by model and impl (memory aside). All
 * numbers are unsigned 32-bit. */
export interface CommonState {
  readonly regs: GeneralRegisters;
  readonly eip: number;
  readonly eflags: number;
  readonly segments: Readonly<Record<SegmentName, SegmentRegister>>;
  readonly cr0: number; readonly cr2: number; readonly cr3: number; readonly cr4: number;
  readonly gdtr: TableRegister;
  readonly idtr: TableRegister;
  readonly ldtr: SegmentRegister;
  readonly tr: SegmentRegister;
  readonly halted: boolean;
  readonly instructionCount: number;
  /** Absent in states written before the MSRs existed: RESET_MSRS. */
  readonly msrs?: ModelSpecificRegisters;
  /** Absent in states written before the debug registers existed: RESET_DEBUG. */
  readonly debug?: DebugRegisters;
}

/** What one step did. */
export type StepEvent =
  | { readonly kind: 'retired' }
  /** `rule`: the id of the spec rule that raised the exception (model only;
   * impl leaves it out and comparisons of the two machines ignore it). */
  | { readonly kind: 'exception'; readonly vector: number; readonly errorCode: number | null; readonly rule?: string }
  | { readonly kind: 'interrupt'; readonly vector: number }
  | { readonly kind: 'halted' }
  | { readonly kind: 'shutdown'; readonly reason: string }
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'model-error'; readonly message: string };

/**
 * A machine as everything above model/ and impl/ drives it. The model is
 * wrapped in a small facade that holds its current immutable state
 * (properties/machines/model.ts); impl implements it directly.
 * Images are loaded machine-agnostically: a loader computes the bytes to
 * write and the entry state, then calls writePhysical and setState.
 */
export interface Machine {
  readonly name: 'model' | 'impl';
  /** Bytes of physical memory (RAM starts at 0). */
  readonly memorySize: number;
  state(): CommonState;
  /** Replace the architectural state (also empties the TLB). */
  setState(state: CommonState): void;
  readPhysical(address: number, length: number): Uint8Array;
  writePhysical(address: number, bytes: Uint8Array): void;
  /** Execute one instruction, or deliver one pending interrupt. On an
   * exception the returned state is the one after delivery (the handler's
   * first instruction is next), as on a real processor. */
  step(): StepEvent;
  /** Every byte the guest has written to the debug console port 0xE9. */
  consoleOutput(): Uint8Array;
  /** Optional: like readPhysical but without a copy; the view may change
   * with the next step or write, so read it at once. */
  viewPhysical?(address: number, length: number): Uint8Array;
  /** Optional: the machine will not be used again, and may hand its
   * buffers to the next machine created (a campaign makes thousands). */
  release?(): void;
  /** Optional: the physical addresses of the 4 KiB pages of RAM written
   * since the machine was made, in ascending order, when the machine was
   * made to record them (else null). Every other page is still zero, as
   * the machine's RAM was when made. A differential comparison reads only
   * those (properties/diff/lockstep.ts, DIFF.MEMORY.1). */
  writtenPages?(): readonly number[] | null;
}
