// The para-virtual interface (spec/para.md): what a Xen-style guest kernel
// and the monitor agree on. The guest runs at ring 1 like a meso guest, but
// asks for privileged operations with hypercalls instead of executing the
// privileged instructions and letting them trap.

/** [PARA.CALL.1] The hypercall vector: `int 0x82`, through a real IDT gate
 * of DPL 1 (ring 1 may use it, ring 3 may not), the same vector Xen uses on
 * x86-32. EAX = operation, EBX and ECX = arguments; the result is left in
 * EAX (0 or a count on success, -1 on refusal). */
export const HYPERCALL_VECTOR = 0x82;

/** The operations (EAX). */
export const Hypercall = {
  /** set_trap_table(EBX = linear base of an IDT-format table, ECX = its limit). */
  setTrapTable: 0,
  /** set_gdt(EBX = linear base, ECX = limit). */
  setGdt: 1,
  /** stack_switch(EBX = ring-1 SS, ECX = ring-1 ESP). */
  stackSwitch: 2,
  /** mmu_update(EBX = linear address of requests, ECX = count) -> requests done. */
  mmuUpdate: 3,
  /** new_baseptr(EBX = guest-physical page directory). */
  newBaseptr: 4,
  /** register_shared(EBX = guest-physical shared page). */
  registerShared: 5,
  /** iret: the guest pushed EAX over an IRET frame and called with EAX = 6. */
  iret: 6,
  /** console_write(EBX = linear buffer, ECX = length). */
  consoleWrite: 7,
} as const;

export const HYPERCALL_NAMES: readonly string[] = ['set_trap_table', 'set_gdt', 'stack_switch', 'mmu_update', 'new_baseptr', 'register_shared', 'iret', 'console_write'];

/** [PARA.SHARED.1] The shared page: bytes the guest and the monitor both
 * read and write without an exit. */
export const Shared = {
  /** Byte: the virtual IF (1 = interrupts on). */
  virtualIf: 0,
  /** Byte: 1 when an interrupt is waiting for the guest. */
  pending: 1,
  /** Dword: the address of the last page fault reflected (the guest's CR2). */
  cr2: 4,
} as const;

/** [PARA.MMU.0] mmu_update request: two dwords, `ptr` (guest-physical
 * address of the entry, its low two bits the command) and `val` (the new
 * entry). Command 0 writes an entry of a page table, 1 of a page directory. */
export const MmuCommand = { tableEntry: 0, directoryEntry: 1 } as const;

/** The rules of the para interface; a mutant replaces one. */
export interface ParaRules {
  /** Are mmu_update requests validated (PARA.MMU.1..5)? */
  readonly validateMmu: boolean;
  /** The DPL of the hypercall gate, and whether the monitor checks the caller's ring. */
  readonly hypercallFromRing3: boolean;
}

export const defaultParaRules: ParaRules = { validateMmu: true, hypercallFromRing3: false };

/** What the monitor keeps about a para guest (plain data). */
export interface ParaState {
  readonly rules: ParaRules;
  /** Guest-physical address of the shared page, or null before register_shared. */
  readonly shared: number | null;
  /** Frames the monitor knows as page tables: frame number -> 1 (table) or 2 (directory). */
  readonly tables: Readonly<Record<number, 1 | 2>>;
  /** The vector of an interrupt held back while the virtual IF was 0. */
  readonly pending: number | null;
  /** Ghost: mmu_update requests applied and refused. */
  readonly mmuApplied: number;
  readonly mmuRefused: number;
}

export const initialParaState = (rules: ParaRules = defaultParaRules): ParaState =>
  ({ rules, shared: null, tables: {}, pending: null, mmuApplied: 0, mmuRefused: 0 });
