// Linear-to-physical translation: the two-level page walk, 4 MiB pages when
// CR4.PSE is set, protection by U/S and R/W (with CR0.WP for supervisor
// writes), accessed and dirty bits written back, and the TLB.
import { withTranslation, type MachineState } from './state';
import { readPhysical, writePhysical } from './memory';
import { tlbInsert, tlbLookup, type TlbEntry } from './tlb';
import { fault, Vector, type Fault } from './outcome';
import { applied, explaining, hexNote } from './applied';

export const CR0_PE = 1 << 0;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_WP = 1 << 16;
export const CR0_PG = 1 << 31;
export const CR4_PSE = 1 << 4;

export const PTE_PRESENT = 1 << 0;
export const PTE_WRITABLE = 1 << 1;
export const PTE_USER = 1 << 2;
export const PTE_ACCESSED = 1 << 5;
export const PTE_DIRTY = 1 << 6;
export const PDE_LARGE = 1 << 7;

/** How an access is made: `user` is true for accesses at CPL 3, except the
 * implicit supervisor accesses (descriptor tables, TSS), which pass false. */
export interface Access {
  readonly write: boolean;
  readonly user: boolean;
}

/** The four kinds of access, one object each (an access is passed to every
 * translation: made once, not per call). */
const ACCESSES: readonly Access[] = [
  { write: false, user: false }, { write: false, user: true },
  { write: true, user: false }, { write: true, user: true },
];

/** The access `{ write, user }`. */
export const accessOf = (write: boolean, user: boolean): Access => ACCESSES[(write ? 2 : 0) + (user ? 1 : 0)]!;

/** A translation's answer: the physical address and the state after the
 * walk (its accessed bits and TLB fill), or the fault. One record rather
 * than a Result of a record: a translation is made for every fetch and every
 * memory access. */
export type Translation = { readonly kind: 'ok'; readonly physical: number; readonly state: MachineState } | Fault;

/** [PAGE.FAULT.1] The #PF error code: bit 0 P (1 = protection violation,
 * 0 = not present), bit 1 W/R (1 = write), bit 2 U/S (1 = user-mode access). */
export function pageFault(linear: number, present: boolean, access: Access): Fault {
  const errorCode = (present ? 1 : 0) | (access.write ? 2 : 0) | (access.user ? 4 : 0);
  return fault(Vector.PF, errorCode, 'PAGE.FAULT.1', linear >>> 0);
}

/** [PAGE.PROT.1] User accesses need U/S set at both levels; user writes also
 * need R/W at both levels. [PAGE.PROT.2] Supervisor reads are always
 * allowed; supervisor writes need R/W at both levels only when CR0.WP is set. */
function allowed(entry: { user: boolean; writable: boolean }, access: Access, cr0: number): boolean {
  if (access.user) return entry.user && (!access.write || entry.writable);
  return !access.write || entry.writable || (cr0 & CR0_WP) === 0;
}

const accessName = (access: Access): string => `${access.user ? 'user' : 'supervisor'} ${access.write ? 'write' : 'read'}`;

/** Report the protection rule an allowed access passed (explanations only). */
function explainRights(entry: { user: boolean; writable: boolean }, access: Access): void {
  const rights = `${entry.user ? 'user' : 'supervisor'}, ${entry.writable ? 'writable' : 'read-only'} page`;
  if (access.user) applied('PAGE.PROT.1', `${accessName(access)} allowed: ${rights}`);
  else applied('PAGE.PROT.2', `${accessName(access)} allowed: ${rights}${access.write && !entry.writable ? ' (CR0.WP clear)' : ''}`);
}

/**
 * Translate a linear address. With CR0.PG clear, linear = physical.
 * The result state differs from the input only by the TLB and by the
 * accessed/dirty bits of the page tables.
 */
export function translate(state: MachineState, linear: number, access: Access): Translation {
  linear >>>= 0;
  if ((state.cr0 & CR0_PG) === 0) return { kind: 'ok', physical: linear, state };
  const cached = tlbLookup(state.tlb, linear);
  if (cached !== undefined) {
    // [PAGE.TLB.1] A cached translation is used without looking at the page
    // tables again, even when they have changed since; a protection check
    // failing on a cached entry faults without a new walk (the manual allows
    // either; we choose not to re-walk).
    if (!allowed(cached, access, state.cr0)) return pageFault(linear, true, access);
    if (explaining()) explainRights(cached, access);
    if (!access.write || cached.dirty) {
      if (explaining()) applied('PAGE.TLB.1', `${accessName(access)} of ${hexNote(linear)} → ${hexNote(cached.frame | (linear & 0xfff))} from the TLB`);
      return { kind: 'ok', physical: (cached.frame | (linear & 0xfff)) >>> 0, state };
    }
    // [PAGE.AD.3] The first write through a clean cached entry walks again
    // to set the dirty bit.
    if (explaining()) applied('PAGE.AD.3', `write through the clean cached entry of ${hexNote(linear)}: walk again`);
  }
  return walk(state, linear, access);
}

function walk(state: MachineState, linear: number, access: Access): Translation {
  // [PAGE.WALK.1] The directory entry is at CR3[31:12] + 4 * linear[31:22].
  const pdeAddress = ((state.cr3 & 0xfffff000) + ((linear >>> 22) << 2)) >>> 0;
  const pde = readPhysical(state.memory, pdeAddress, 4);
  if (explaining()) applied('PAGE.WALK.1', `${accessName(access)} of ${hexNote(linear)}: PDE at ${hexNote(pdeAddress)} = ${hexNote(pde)}${pde & PTE_PRESENT ? '' : ' (not present)'}`);
  if ((pde & PTE_PRESENT) === 0) return pageFault(linear, false, access);

  // [PAGE.PSE.1] With CR4.PSE set, a directory entry with PS (bit 7) maps a
  // 4 MiB page at PDE[31:22] directly. Without CR4.PSE the bit is ignored.
  if ((state.cr4 & CR4_PSE) !== 0 && (pde & PDE_LARGE) !== 0) {
    const rights = { user: (pde & PTE_USER) !== 0, writable: (pde & PTE_WRITABLE) !== 0 };
    if (explaining()) applied('PAGE.PSE.1', `a 4 MiB page at ${hexNote(pde & 0xffc00000)}`);
    if (!allowed(rights, access, state.cr0)) return pageFault(linear, true, access);
    if (explaining()) explainRights(rights, access);
    // [PAGE.AD.1] Accessed (and on a write dirty) bits are set in the entry
    // that maps the page.
    const updated = (pde | PTE_ACCESSED | (access.write ? PTE_DIRTY : 0)) >>> 0;
    const memory = updated === pde ? state.memory : writePhysical(state.memory, pdeAddress, 4, updated);
    const frame = ((pde & 0xffc00000) | (linear & 0x003ff000)) >>> 0;
    const entry: TlbEntry = { frame, user: rights.user, writable: rights.writable, dirty: (updated & PTE_DIRTY) !== 0, large: true };
    if (explaining()) {
      if (updated !== pde) applied('PAGE.AD.1', `PDE ${hexNote(pde)} → ${hexNote(updated)}`);
      applied('PAGE.TLB.2', `${hexNote(linear & 0xfffff000)} → ${hexNote(frame)}`);
    }
    return { kind: 'ok', physical: (frame | (linear & 0xfff)) >>> 0, state: withTranslation(state, memory, tlbInsert(state.tlb, linear, entry)) };
  }

  // [PAGE.WALK.2] The table entry is at PDE[31:12] + 4 * linear[21:12].
  const pteAddress = ((pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
  const pte = readPhysical(state.memory, pteAddress, 4);
  if (explaining()) applied('PAGE.WALK.2', `PTE at ${hexNote(pteAddress)} = ${hexNote(pte)}${pte & PTE_PRESENT ? '' : ' (not present)'}`);
  if ((pte & PTE_PRESENT) === 0) return pageFault(linear, false, access);
  // [PAGE.PROT.3] The effective rights are the stricter of the two levels.
  const rights = { user: (pde & pte & PTE_USER) !== 0, writable: (pde & pte & PTE_WRITABLE) !== 0 };
  if (explaining()) applied('PAGE.PROT.3', `effective: ${rights.user ? 'user' : 'supervisor'}, ${rights.writable ? 'writable' : 'read-only'}`);
  if (!allowed(rights, access, state.cr0)) return pageFault(linear, true, access);
  if (explaining()) explainRights(rights, access);

  // [PAGE.AD.2] A successful walk sets A in both entries and, for a write,
  // D in the table entry. A walk that faults changes nothing (the manual is
  // silent about a faulting walk's accessed bits; we choose no write-back).
  let memory = state.memory;
  const newPde = (pde | PTE_ACCESSED) >>> 0;
  if (newPde !== pde) memory = writePhysical(memory, pdeAddress, 4, newPde);
  const newPte = (pte | PTE_ACCESSED | (access.write ? PTE_DIRTY : 0)) >>> 0;
  if (newPte !== pte) memory = writePhysical(memory, pteAddress, 4, newPte);

  const frame = (pte & 0xfffff000) >>> 0;
  // [PAGE.TLB.2] Every successful walk fills the TLB.
  const entry: TlbEntry = { frame, user: rights.user, writable: rights.writable, dirty: (newPte & PTE_DIRTY) !== 0, large: false };
  if (explaining()) {
    if (newPde !== pde || newPte !== pte) applied('PAGE.AD.2', `PDE ${hexNote(pde)} → ${hexNote(newPde)}, PTE ${hexNote(pte)} → ${hexNote(newPte)}`);
    applied('PAGE.TLB.2', `${hexNote(linear & 0xfffff000)} → ${hexNote(frame)}`);
  }
  return { kind: 'ok', physical: (frame | (linear & 0xfff)) >>> 0, state: withTranslation(state, memory, tlbInsert(state.tlb, linear, entry)) };
}
