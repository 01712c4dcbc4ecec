// The machine state of the pure model: one immutable value holding
// everything the processor and its devices remember between instructions.
// Every function in model/cpu takes a MachineState and returns a new one;
// nothing is ever mutated.
import type { SegmentName } from '../isa/ast';
import type { CommonState, DebugRegisters, ModelSpecificRegisters, SegmentRegister, TableRegister } from '../machine';
import { RESET_DEBUG, RESET_MSRS } from '../machine';
import { emptyMemory, type PhysicalMemory } from './memory';
import { emptyTlb, type Tlb } from './tlb';
import { initialDevices, type Devices } from './devices';
import { RESERVED_ONE } from './eflags';

export type { SegmentRegister, TableRegister } from '../machine';

/** General registers in encoding order: eax ecx edx ebx esp ebp esi edi. */
export const REGISTER_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

export interface MachineState {
  /** General registers, unsigned 32-bit, indexed in encoding order (EAX = 0). */
  readonly regs: readonly number[];
  readonly eip: number;
  readonly eflags: number;
  /** Segment registers with their hidden descriptor caches. */
  readonly segments: Readonly<Record<SegmentName, SegmentRegister>>;
  readonly cr0: number;
  /** Linear address of the last page fault (written when a #PF is delivered). */
  readonly cr2: number;
  readonly cr3: number;
  readonly cr4: number;
  readonly gdtr: TableRegister;
  readonly idtr: TableRegister;
  readonly ldtr: SegmentRegister;
  readonly tr: SegmentRegister;
  /** Physical RAM, persistent (unchanged pages shared between states). */
  readonly memory: PhysicalMemory;
  /** Translation lookaside buffer: cached translations, deliberately allowed
   * to go stale until INVLPG or a CR3 write (see spec/paging.md). */
  readonly tlb: Tlb;
  /** Console, exit port, timer and interrupt controller. */
  readonly devices: Devices;
  /** Instructions retired so far (exceptions and interrupt deliveries do not count). */
  readonly instructionCount: number;
  /** The time-stamp counter's offset and the SYSENTER registers (SYS.MSR.1). */
  readonly msrs: ModelSpecificRegisters;
  /** DR0-DR3, DR6, DR7 (SYS.DR.1); no breakpoint is ever armed. */
  readonly debug: DebugRegisters;
  /** True after HLT until an interrupt is delivered. */
  readonly halted: boolean;
  /** Why the processor shut down (a triple fault), or null while it runs.
   * A shut-down processor does nothing more (only RESET or NMI would wake it,
   * and neither exists here). */
  readonly shutdown: string | null;
  /** Set by an STI that changed IF from 0 to 1: interrupts are not
   * recognised before the next instruction completes. */
  readonly interruptShadow: boolean;
  /** Ghost: EFLAGS bits left architecturally undefined by the most recent
   * flag-writing instructions (see eflags.ts withFlags). Absent from impl. */
  readonly undefinedFlags: number;
  /** Ghost: bit r is set while general register r holds a value the manual
   * leaves undefined (INS.RESULT.1). Absent from impl. */
  readonly undefinedRegisters: number;
}

/**
 * `{ ...state, ...changes }`: a new state, equal to `state` but for the
 * fields `changes` gives. Every state change in model/cpu goes through here,
 * but for the frequent ones, which have their own functions below: the two
 * of nearly every instruction (updateResult, countRetired), a store
 * (withMemory), a stack pointer (withRegisters), a far transfer or event
 * delivery (withSegments) and a page walk (withTranslation). It is written as one object literal naming every field (to which the
 * changes are then assigned, before anyone else can see the new object)
 * rather than as a spread only for speed: V8 (Node 20) spreads an object of
 * this size in about 0.7 µs, the literal takes a tenth of that, and the
 * model copies its state a few times per instruction (bench/README.md,
 * "The model's speed"). Neither argument is changed.
 */
export function update(state: MachineState, changes: Partial<MachineState>): MachineState {
  const s = state;
  const copy: { -readonly [K in keyof MachineState]: MachineState[K] } = {
    regs: s.regs, eip: s.eip, eflags: s.eflags, segments: s.segments,
    cr0: s.cr0, cr2: s.cr2, cr3: s.cr3, cr4: s.cr4,
    gdtr: s.gdtr, idtr: s.idtr, ldtr: s.ldtr, tr: s.tr,
    memory: s.memory, tlb: s.tlb, devices: s.devices,
    instructionCount: s.instructionCount, msrs: s.msrs, debug: s.debug,
    halted: s.halted, shutdown: s.shutdown, interruptShadow: s.interruptShadow,
    undefinedFlags: s.undefinedFlags, undefinedRegisters: s.undefinedRegisters,
  };
  return Object.assign(copy, changes);
}

/** The five fields an ordinary instruction writes: its register results,
 * its flags and EIP (with their ghost marks). */
export interface InstructionResult {
  readonly regs: readonly number[];
  readonly undefinedRegisters: number;
  readonly eflags: number;
  readonly undefinedFlags: number;
  readonly eip: number;
}

/**
 * `update(state, result)` with all five fields of an instruction's result
 * given (unchanged ones passed through). Written out in full because it is
 * the state change of nearly every instruction (instructions/common.ts), and
 * update()'s Object.assign over change records of many shapes took a fifth of
 * the model's time, where one record of one shape costs little
 * (bench/README.md, "The model's speed").
 */
export function updateResult(state: MachineState, r: InstructionResult): MachineState {
  return withResult(state, r, 0);
}

/**
 * updateResult, and the instruction counted as retired: the state an
 * ordinary instruction retires with (the retire helpers of
 * instructions/common.ts), made as one new state instead of two (the cycle
 * counts every other instruction with countRetired, cycle.ts). At an
 * instruction's two state copies a step, the second was a sixth of what the
 * model allocated.
 */
export function retiredResult(state: MachineState, r: InstructionResult): MachineState {
  return withResult(state, r, 1);
}

function withResult(state: MachineState, r: InstructionResult, retired: 0 | 1): MachineState {
  const s = state;
  return {
    regs: r.regs, eip: r.eip, eflags: r.eflags, segments: s.segments,
    cr0: s.cr0, cr2: s.cr2, cr3: s.cr3, cr4: s.cr4,
    gdtr: s.gdtr, idtr: s.idtr, ldtr: s.ldtr, tr: s.tr,
    memory: s.memory, tlb: s.tlb, devices: s.devices,
    instructionCount: s.instructionCount + retired, msrs: s.msrs, debug: s.debug,
    halted: s.halted, shutdown: s.shutdown, interruptShadow: s.interruptShadow,
    undefinedFlags: r.undefinedFlags, undefinedRegisters: r.undefinedRegisters,
  };
}

/** `update(state, { instructionCount: + 1, devices })`: the state once an
 * instruction retires, counted (unless `alreadyCounted`: its handler's state
 * counts it, retiredResult), with the devices after its clock tick
 * (cycle.ts). Written out in full for the same reason as updateResult. */
export function countRetired(state: MachineState, devices: Devices, alreadyCounted = false): MachineState {
  const s = state;
  return {
    regs: s.regs, eip: s.eip, eflags: s.eflags, segments: s.segments,
    cr0: s.cr0, cr2: s.cr2, cr3: s.cr3, cr4: s.cr4,
    gdtr: s.gdtr, idtr: s.idtr, ldtr: s.ldtr, tr: s.tr,
    memory: s.memory, tlb: s.tlb, devices,
    instructionCount: alreadyCounted ? s.instructionCount : s.instructionCount + 1, msrs: s.msrs, debug: s.debug,
    halted: s.halted, shutdown: s.shutdown, interruptShadow: s.interruptShadow,
    undefinedFlags: s.undefinedFlags, undefinedRegisters: s.undefinedRegisters,
  };
}

/** `update(state, { memory })`: the state after a store. Written out in full
 * for the same reason as updateResult: a store is the state change of every
 * push and of every instruction with a memory destination. */
export function withMemory(state: MachineState, memory: PhysicalMemory): MachineState {
  const s = state;
  return {
    regs: s.regs, eip: s.eip, eflags: s.eflags, segments: s.segments,
    cr0: s.cr0, cr2: s.cr2, cr3: s.cr3, cr4: s.cr4,
    gdtr: s.gdtr, idtr: s.idtr, ldtr: s.ldtr, tr: s.tr,
    memory, tlb: s.tlb, devices: s.devices,
    instructionCount: s.instructionCount, msrs: s.msrs, debug: s.debug,
    halted: s.halted, shutdown: s.shutdown, interruptShadow: s.interruptShadow,
    undefinedFlags: s.undefinedFlags, undefinedRegisters: s.undefinedRegisters,
  };
}

/** `update(state, { regs })`: the state with new general registers and
 * everything else (the ghost marks included) as it was. For the stack
 * pointer's changes (context.ts withStackPointer), as updateResult is for
 * an instruction's result. */
export function withRegisters(state: MachineState, regs: readonly number[]): MachineState {
  const s = state;
  return {
    regs, eip: s.eip, eflags: s.eflags, segments: s.segments,
    cr0: s.cr0, cr2: s.cr2, cr3: s.cr3, cr4: s.cr4,
    gdtr: s.gdtr, idtr: s.idtr, ldtr: s.ldtr, tr: s.tr,
    memory: s.memory, tlb: s.tlb, devices: s.devices,
    instructionCount: s.instructionCount, msrs: s.msrs, debug: s.debug,
    halted: s.halted, shutdown: s.shutdown, interruptShadow: s.interruptShadow,
    undefinedFlags: s.undefinedFlags, undefinedRegisters: s.undefinedRegisters,
  };
}

/** `update(state, { segments, eip })`: the state after a far transfer or an
 * event delivery has loaded CS (and maybe SS) and EIP. Written out in full
 * for the same reason as updateResult: two of these are made for every
 * exception or system call and its IRET (privilege.ts, interrupts.ts). */
export function withSegments(state: MachineState, segments: MachineState['segments'], eip: number): MachineState {
  const s = state;
  return {
    regs: s.regs, eip, eflags: s.eflags, segments,
    cr0: s.cr0, cr2: s.cr2, cr3: s.cr3, cr4: s.cr4,
    gdtr: s.gdtr, idtr: s.idtr, ldtr: s.ldtr, tr: s.tr,
    memory: s.memory, tlb: s.tlb, devices: s.devices,
    instructionCount: s.instructionCount, msrs: s.msrs, debug: s.debug,
    halted: s.halted, shutdown: s.shutdown, interruptShadow: s.interruptShadow,
    undefinedFlags: s.undefinedFlags, undefinedRegisters: s.undefinedRegisters,
  };
}

/** `update(state, { memory, tlb })`: the state after a page walk, with the
 * accessed and dirty bits it set and the translation it cached (paging.ts).
 * Written out in full as updateResult is: a walk follows every TLB miss. */
export function withTranslation(state: MachineState, memory: PhysicalMemory, tlb: Tlb): MachineState {
  const s = state;
  return {
    regs: s.regs, eip: s.eip, eflags: s.eflags, segments: s.segments,
    cr0: s.cr0, cr2: s.cr2, cr3: s.cr3, cr4: s.cr4,
    gdtr: s.gdtr, idtr: s.idtr, ldtr: s.ldtr, tr: s.tr,
    memory, tlb, devices: s.devices,
    instructionCount: s.instructionCount, msrs: s.msrs, debug: s.debug,
    halted: s.halted, shutdown: s.shutdown, interruptShadow: s.interruptShadow,
    undefinedFlags: s.undefinedFlags, undefinedRegisters: s.undefinedRegisters,
  };
}

/** `{ ...segments, [name]: register }` written out (the segment registers
 * are copied on every far transfer and event delivery). */
export function withSegment(segments: MachineState['segments'], name: SegmentName, register: SegmentRegister): MachineState['segments'] {
  const g = segments;
  return {
    es: name === 'es' ? register : g.es, cs: name === 'cs' ? register : g.cs, ss: name === 'ss' ? register : g.ss,
    ds: name === 'ds' ? register : g.ds, fs: name === 'fs' ? register : g.fs, gs: name === 'gs' ? register : g.gs,
  };
}

/** [STATE.RESET.1] A null segment register as after reset into our subset. */
export const NULL_SEGMENT: SegmentRegister = { selector: 0, base: 0, limit: 0, attributes: 0, valid: false };

/** A flat 4 GiB segment: code (execute/read, 32-bit) or data (read/write). */
export function flatSegment(selector: number, code: boolean, dpl = 0): SegmentRegister {
  const type = code ? 0xb : 0x3; // accessed bit set, as after a load
  return { selector, base: 0, limit: 0xffffffff, attributes: 0xc000 | 0x80 | (dpl << 5) | 0x10 | type, valid: true };
}

/**
 * [STATE.RESET.2] The state the model starts from: all registers zero,
 * EFLAGS = 2, protected mode with flat ring-0 segments (CS selector 0x08,
 * the others 0x10) but paging off. The manual's reset state is real mode,
 * which is outside our subset; we choose the state a Multiboot loader leaves,
 * minus the loader's registers.
 */
export function initialState(memorySize: number): MachineState {
  const data = flatSegment(0x10, false);
  return {
    regs: [0, 0, 0, 0, 0, 0, 0, 0],
    eip: 0,
    eflags: RESERVED_ONE,
    segments: { es: data, cs: flatSegment(0x08, true), ss: data, ds: data, fs: data, gs: data },
    cr0: 0x11, // PE and ET
    cr2: 0, cr3: 0, cr4: 0,
    gdtr: { base: 0, limit: 0xffff },
    idtr: { base: 0, limit: 0xffff },
    ldtr: NULL_SEGMENT,
    tr: NULL_SEGMENT,
    memory: emptyMemory(memorySize),
    tlb: emptyTlb,
    devices: initialDevices,
    instructionCount: 0,
    msrs: RESET_MSRS,
    debug: RESET_DEBUG,
    halted: false,
    shutdown: null,
    interruptShadow: false,
    undefinedFlags: 0,
    undefinedRegisters: 0,
  };
}

/** The architectural part of the state, as both machines present it. */
export function toCommon(state: MachineState): CommonState {
  const r = state.regs;
  return {
    regs: { eax: r[0]!, ecx: r[1]!, edx: r[2]!, ebx: r[3]!, esp: r[4]!, ebp: r[5]!, esi: r[6]!, edi: r[7]! },
    eip: state.eip,
    eflags: state.eflags,
    segments: state.segments,
    cr0: state.cr0, cr2: state.cr2, cr3: state.cr3, cr4: state.cr4,
    gdtr: state.gdtr, idtr: state.idtr, ldtr: state.ldtr, tr: state.tr,
    halted: state.halted,
    instructionCount: state.instructionCount,
    msrs: state.msrs,
    debug: state.debug,
  };
}

/** Replace the architectural part of `state` by `common`; memory and devices
 * are kept, the TLB is emptied, and no flag is undefined any more. */
export function fromCommon(state: MachineState, common: CommonState): MachineState {
  const g = common.regs;
  // Literals of the shape every segment register and segment record has
  // (a copy by spread, or a record filled name by name, has another shape,
  // and each place that reads a segment would then see two).
  const copy = (r: SegmentRegister): SegmentRegister => ({ selector: r.selector, base: r.base, limit: r.limit, attributes: r.attributes, valid: r.valid });
  const c = common.segments;
  const segments = { es: copy(c.es), cs: copy(c.cs), ss: copy(c.ss), ds: copy(c.ds), fs: copy(c.fs), gs: copy(c.gs) };
  return update(state, {
    regs: [g.eax >>> 0, g.ecx >>> 0, g.edx >>> 0, g.ebx >>> 0, g.esp >>> 0, g.ebp >>> 0, g.esi >>> 0, g.edi >>> 0],
    eip: common.eip >>> 0,
    eflags: (common.eflags | RESERVED_ONE) >>> 0,
    segments,
    cr0: common.cr0 >>> 0, cr2: common.cr2 >>> 0, cr3: common.cr3 >>> 0, cr4: common.cr4 >>> 0,
    gdtr: common.gdtr, idtr: common.idtr, ldtr: common.ldtr, tr: common.tr,
    tlb: emptyTlb,
    halted: common.halted,
    shutdown: null,
    interruptShadow: false,
    instructionCount: common.instructionCount,
    msrs: { ...(common.msrs ?? RESET_MSRS) },
    debug: { ...(common.debug ?? RESET_DEBUG) },
    undefinedFlags: 0,
    undefinedRegisters: 0,
  });
}
