// Linear -> physical translation with a software TLB.
//
// The TLB is a flat Int32Array indexed by linear page number. An entry is
// 0 when empty, else the physical frame address with permission bits in the
// low 12 bits. Entries are filled by a page walk and trusted until INVLPG, a
// CR3 write, or a page fault on that page (SDM vol. 3 §4.10.4.1: a #PF
// invalidates the entries for the faulting address) — so a page table edited
// without a flush keeps its old translation, as on the hardware.
import type { Cpu } from './cpu';
import { CpuFault, PF } from './faults';
import { mutated } from './mutants';

export const TLB_VALID = 1, TLB_USER = 2, TLB_WRITABLE = 4, TLB_DIRTY = 8, TLB_LARGE = 0x10;
export const CR0_PE = 1, CR0_TS = 8, CR0_WP = 0x10000, CR0_PG = 0x80000000;
export const CR4_PSE = 0x10;

const PRESENT = 1, WRITABLE = 2, USER = 4, ACCESSED = 0x20, DIRTY = 0x40, LARGE = 0x80;

export function flushTlb(cpu: Cpu): void {
  cpu.fetchPage = -1;
  const filled = cpu.tlbFilled, count = cpu.tlbFilledCount;
  if (count > filled.length) cpu.tlb.fill(0);
  else for (let i = 0; i < count; i++) cpu.tlb[filled[i]] = 0;
  cpu.tlbFilledCount = 0;
}

/** Fill the TLB entry of linear page `page`, noting the page for the next flush. */
export function setTlbEntry(cpu: Cpu, page: number, entry: number): void {
  if (cpu.tlb[page] === 0) {
    const count = cpu.tlbFilledCount;
    if (count < cpu.tlbFilled.length) cpu.tlbFilled[count] = page;
    cpu.tlbFilledCount = count + 1;
  }
  cpu.tlb[page] = entry;
}

/** The linear pages whose TLB entries are filled now. */
export function filledPages(cpu: Cpu): number[] {
  const pages: number[] = [];
  if (cpu.tlbFilledCount > cpu.tlbFilled.length) {
    for (let page = 0; page < cpu.tlb.length; page++) if (cpu.tlb[page] !== 0) pages.push(page);
    return pages;
  }
  const seen = new Set<number>();
  for (let i = 0; i < cpu.tlbFilledCount; i++) {
    const page = cpu.tlbFilled[i];
    if (cpu.tlb[page] !== 0 && !seen.has(page)) { seen.add(page); pages.push(page); }
  }
  return pages;
}

/** INVLPG: drop the page's entry, and for a 4 MiB page every entry of its
 * 4 MiB region (the TLB holds a large page as 1024 small entries). */
export function invalidatePage(cpu: Cpu, linear: number): void {
  cpu.fetchPage = -1;
  const page = linear >>> 12;
  cpu.tlb[page] = 0;
  const first = page & ~0x3ff;
  for (let p = first; p < first + 0x400; p++) if (cpu.tlb[p] & TLB_LARGE) cpu.tlb[p] = 0;
}

/**
 * Translate a linear address. `user` is true for accesses made at CPL 3
 * (descriptor-table and TSS accesses are supervisor accesses whatever the
 * CPL, and their callers pass false).
 */
export function translate(cpu: Cpu, linear: number, write: boolean, user: boolean): number {
  if (!(cpu.cr0 & CR0_PG)) return linear >>> 0;
  const page = linear >>> 12;
  const entry = cpu.tlb[page];
  if (entry !== 0) {
    if (allowed(cpu, entry, write, user)) {
      if (!write || entry & TLB_DIRTY) return ((entry & ~0xfff) | (linear & 0xfff)) >>> 0;
      // A write through a clean entry walks again to set the dirty bit.
    } else {
      if (cpu.logWalks) logUndo(cpu, 1, page, entry);
      cpu.tlb[page] = 0;
      cpu.fetchPage = -1;
      pageFault(cpu, linear, true, write, user);
    }
  }
  return walk(cpu, linear, write, user);
}

/** Whether a TLB entry grants the access (the rights check translate() makes). */
export function allowed(cpu: Cpu, entry: number, write: boolean, user: boolean): boolean {
  if (user) return (entry & TLB_USER) !== 0 && (!write || (entry & TLB_WRITABLE) !== 0);
  return !write || (entry & TLB_WRITABLE) !== 0 || !(cpu.cr0 & CR0_WP) || mutated('write-protect-ignored');
}

/** The #PF error code: P (a protection fault, not a missing page), W/R, U/S. */
function faultCode(present: boolean, write: boolean, user: boolean): number {
  const userBit = user && !mutated('page-fault-without-user-bit') ? 4 : 0;
  return (present ? 1 : 0) | (write ? 2 : 0) | userBit;
}

function pageFault(_cpu: Cpu, linear: number, present: boolean, write: boolean, user: boolean): never {
  throw new CpuFault(PF, faultCode(present, write, user), linear >>> 0);
}

/** The walk of translate() (walkOrFault), throwing its page fault. */
function walk(cpu: Cpu, linear: number, write: boolean, user: boolean): number {
  const physical = walkOrFault(cpu, linear, write, user);
  if (physical < 0) throw new CpuFault(PF, ~physical, linear >>> 0);
  return physical;
}

/**
 * Two-level walk (4 MiB pages when CR4.PSE and PDE.PS); sets A and D and
 * fills the TLB entry. Returns the physical address, or, when the access
 * faults, the complement (~) of its #PF error code, a negative number, with
 * nothing changed: callers that must not throw (fast-access.ts walkAhead)
 * take the fault as a value.
 */
export function walkOrFault(cpu: Cpu, linear: number, write: boolean, user: boolean): number {
  const memory = cpu.memory;
  const pdeAddress = ((cpu.cr3 & 0xfffff000) + ((linear >>> 22) << 2)) >>> 0;
  const pde = memory.read32(pdeAddress);
  if (!(pde & PRESENT)) return ~faultCode(false, write, user);
  let frame: number, permissions: number, pteAddress = -1, pte = 0;
  if (pde & LARGE && cpu.cr4 & CR4_PSE) {
    frame = ((pde & 0xffc00000) | (linear & 0x3ff000)) >>> 0;
    permissions = pde;
  } else {
    pteAddress = ((pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
    pte = memory.read32(pteAddress);
    if (!(pte & PRESENT)) return ~faultCode(false, write, user);
    frame = (pte & 0xfffff000) >>> 0;
    permissions = pde & pte;
  }
  let entry = frame | TLB_VALID | (permissions & USER ? TLB_USER : 0) | (permissions & WRITABLE ? TLB_WRITABLE : 0);
  if (!allowed(cpu, entry, write, user)) return ~faultCode(true, write, user);
  // Accessed and dirty bits are written back only for a successful access.
  const log = cpu.logWalks;
  if (pteAddress < 0) {
    const updated = pde | ACCESSED | (write ? DIRTY : 0);
    if (updated !== pde) { if (log) logUndo(cpu, 0, pdeAddress, pde); memory.write32(pdeAddress, updated); }
    if (updated & DIRTY) entry |= TLB_DIRTY;
    entry |= TLB_LARGE;
  } else {
    if (!(pde & ACCESSED)) { if (log) logUndo(cpu, 0, pdeAddress, pde); memory.write32(pdeAddress, pde | ACCESSED); }
    const updated = pte | ACCESSED | (write ? DIRTY : 0);
    if (updated !== pte) { if (log) logUndo(cpu, 0, pteAddress, pte); memory.write32(pteAddress, updated); }
    if (updated & DIRTY) entry |= TLB_DIRTY;
  }
  const page = linear >>> 12;
  if (log) logUndo(cpu, 1, page, cpu.tlb[page]);
  setTlbEntry(cpu, page, entry);
  if (page === cpu.fetchPage) cpu.fetchPage = -1;
  return ((frame | (linear & 0xfff)) >>> 0);
}

/**
 * Take back what the logged page walks changed (accessed/dirty bits, TLB
 * entries), newest first. A faulting instruction leaves the state as it was
 * after its fetch (the model's EXC.FAULT.1), a faulting fetch as before it,
 * and a delivery that faults as before that delivery. With `since`, only
 * the entries logged after that point (one REP element's walks).
 */
export function undoWalks(cpu: Cpu, since = 0): void {
  const log = cpu.undoLog;
  for (let i = cpu.undoTop - 3; i >= since; i -= 3) {
    if (log[i] === 0) cpu.memory.write32(log[i + 1] >>> 0, log[i + 2]);
    else { cpu.tlb[log[i + 1]] = log[i + 2]; cpu.fetchPage = -1; }
  }
  cpu.undoTop = since;
}

/** Append an entry to the walk log (kind 0: page-table dword address, old
 * value; kind 1: TLB page, old entry), doubling the log when it is full
 * (a REP string instruction over many pages logs every element's walks). */
function logUndo(cpu: Cpu, kind: number, where: number, old: number): void {
  let log = cpu.undoLog;
  const top = cpu.undoTop;
  if (top + 3 > log.length) {
    const bigger = new Int32Array(log.length * 2);
    bigger.set(log);
    cpu.undoLog = log = bigger;
  }
  log[top] = kind; log[top + 1] = where; log[top + 2] = old;
  cpu.undoTop = top + 3;
}
