// The monitor's state and the world it runs in. The World pairs the real
// machine (model/cpu) with what the monitor remembers: the guest's virtual
// CPU registers, the shadow allocation, and a ghost log of what happened.
import type { MachineState, TableRegister } from '../cpu/state';
import type { VmmConfig } from './config';
import type { ShadowState } from './shadow';
import type { VmmRules } from './rules';
import type { ParaState } from './para/interface';
import type { MemoryState } from './memory/types';

/** The guest's view of the registers the monitor virtualizes. */
export interface VirtualCpu {
  readonly cr0: number;
  readonly cr2: number;
  readonly cr3: number;
  readonly cr4: number;
  readonly gdtr: TableRegister;
  readonly idtr: TableRegister;
  /** Selectors the guest last loaded with LLDT and LTR. */
  readonly ldtr: number;
  readonly tr: number;
  /** The guest's SYSENTER_CS/ESP/EIP as it wrote them with WRMSR (absent: all zero). */
  readonly sysenter?: { readonly cs: number; readonly esp: number; readonly eip: number };
}

export interface VmmState {
  readonly config: VmmConfig;
  readonly rules: VmmRules;
  readonly vcpu: VirtualCpu;
  readonly shadow: ShadowState;
  /** The memory mode and its state (spec/memory.md); absent means shadow-single. */
  readonly memory?: MemoryState;
  /** Why the guest was stopped, or null while it runs. */
  readonly stopped: string | null;
  /** Set by an emulated HLT / STI: applied when the monitor's IRET completes. */
  readonly afterReturn: { readonly halt: boolean; readonly interruptShadow: boolean };
  /** Ghost: exits counted by reason. */
  readonly exits: Readonly<Record<string, number>>;
  /** Ghost: descriptors refused and ports refused, most recent last (at most 64 kept). */
  readonly refusals: readonly string[];
  /** Present for a para-virtual guest (spec/para.md): its hypercall state. */
  readonly para?: ParaState;
}

export interface World {
  readonly machine: MachineState;
  readonly vmm: VmmState;
}

export const countExit = (vmm: VmmState, reason: string): VmmState =>
  ({ ...vmm, exits: { ...vmm.exits, [reason]: (vmm.exits[reason] ?? 0) + 1 } });

export const recordRefusal = (vmm: VmmState, what: string): VmmState =>
  ({ ...vmm, refusals: [...vmm.refusals.slice(-63), what] });
