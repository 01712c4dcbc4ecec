// The guest's own view of memory: its virtual paging (virtual CR0/CR3/CR4)
// over its guest-physical memory, which is the partition. The monitor walks
// the guest's page tables here in software, both to fill the shadow tables
// and to read or write guest memory on the guest's behalf (descriptor
// tables, the TSS, the frames of reflected exceptions).
import { readPhysical, writePhysical, type PhysicalMemory } from '../cpu/memory';
import {
  CR0_PG, CR0_WP, CR4_PSE, PDE_LARGE, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_USER, PTE_WRITABLE,
} from '../cpu/paging';
import { inPartition, type VmmConfig } from './config';

/** The guest's paging registers (its virtual CR0, CR3, CR4). */
export interface GuestPagingRegisters {
  readonly cr0: number;
  readonly cr3: number;
  readonly cr4: number;
}

export interface GuestAccess {
  readonly write: boolean;
  /** A user-mode (CPL 3) access; the guest kernel's accesses are supervisor. */
  readonly user: boolean;
}

/** A guest-linear address the guest's mapping allows for this access. */
export interface GuestMapping {
  readonly guestPhysical: number;
  /** Both levels allow user access. */
  readonly user: boolean;
  /** Both levels allow writes. */
  readonly writable: boolean;
  /** The mapping's dirty bit after this access (true when paging is off). */
  readonly dirty: boolean;
  /** Memory with the guest's accessed/dirty bits updated. */
  readonly memory: PhysicalMemory;
}

export type GuestTranslation =
  | { readonly kind: 'mapped'; readonly mapping: GuestMapping }
  /** The guest's tables refuse the access: a #PF for the guest. */
  | { readonly kind: 'guest-fault'; readonly errorCode: number }
  /** The guest names memory it does not own: the monitor stops it. */
  | { readonly kind: 'outside'; readonly reason: string };

export const guestToMachine = (config: VmmConfig, guestPhysical: number): number => (config.partitionBase + guestPhysical) >>> 0;

/** Read a guest-physical dword, or null when it lies outside the partition. */
function readGuestPhysical(memory: PhysicalMemory, config: VmmConfig, gp: number): number | null {
  const machine = guestToMachine(config, gp);
  return gp + 4 <= config.partitionSize && inPartition(config, machine, 4) ? readPhysical(memory, machine, 4) : null;
}

/**
 * [VMM.SHADOW.3] Walk the guest's page tables the way the processor would
 * walk them at the guest's privilege (its kernel's accesses are supervisor,
 * its user programs' are user), honouring its CR4.PSE and CR0.WP, and set
 * the guest's accessed and dirty bits as the processor would. Every table
 * and every frame the guest names must lie in its partition; otherwise the
 * guest is stopped (a native kernel would reach memory that is not its own).
 * [VMM.SHADOW.2] With its paging off, guest-linear is guest-physical.
 */
export function translateGuest(memory: PhysicalMemory, config: VmmConfig, regs: GuestPagingRegisters, linear: number, access: GuestAccess): GuestTranslation {
  linear >>>= 0;
  if ((regs.cr0 & CR0_PG) === 0) {
    if (linear >= config.partitionSize) return { kind: 'outside', reason: `guest-physical ${hexOf(linear)} is beyond the partition` };
    return { kind: 'mapped', mapping: { guestPhysical: linear, user: true, writable: true, dirty: true, memory } };
  }
  const fault = (present: boolean): GuestTranslation => ({
    kind: 'guest-fault', errorCode: (present ? 1 : 0) | (access.write ? 2 : 0) | (access.user ? 4 : 0),
  });
  const pdeAddress = ((regs.cr3 & 0xfffff000) + ((linear >>> 22) << 2)) >>> 0;
  const pde = readGuestPhysical(memory, config, pdeAddress);
  if (pde === null) return { kind: 'outside', reason: `guest page directory at ${hexOf(pdeAddress)} is beyond the partition` };
  if ((pde & PTE_PRESENT) === 0) return fault(false);

  if ((regs.cr4 & CR4_PSE) !== 0 && (pde & PDE_LARGE) !== 0) {
    const rights = { user: (pde & PTE_USER) !== 0, writable: (pde & PTE_WRITABLE) !== 0 };
    if (!allows(rights, access, regs.cr0)) return fault(true);
    const frame = ((pde & 0xffc00000) | (linear & 0x003ff000)) >>> 0;
    if (frame + 4096 > config.partitionSize) return { kind: 'outside', reason: `guest frame ${hexOf(frame)} is beyond the partition` };
    const updated = (pde | PTE_ACCESSED | (access.write ? PTE_DIRTY : 0)) >>> 0;
    const m = updated === pde ? memory : writePhysical(memory, guestToMachine(config, pdeAddress), 4, updated);
    return { kind: 'mapped', mapping: { guestPhysical: (frame | (linear & 0xfff)) >>> 0, ...rights, dirty: (updated & PTE_DIRTY) !== 0, memory: m } };
  }

  const pteAddress = ((pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
  const pte = readGuestPhysical(memory, config, pteAddress);
  if (pte === null) return { kind: 'outside', reason: `guest page table at ${hexOf(pteAddress)} is beyond the partition` };
  if ((pte & PTE_PRESENT) === 0) return fault(false);
  const rights = { user: (pde & pte & PTE_USER) !== 0, writable: (pde & pte & PTE_WRITABLE) !== 0 };
  if (!allows(rights, access, regs.cr0)) return fault(true);
  const frame = (pte & 0xfffff000) >>> 0;
  if (frame + 4096 > config.partitionSize) return { kind: 'outside', reason: `guest frame ${hexOf(frame)} is beyond the partition` };
  let m = memory;
  const newPde = (pde | PTE_ACCESSED) >>> 0;
  if (newPde !== pde) m = writePhysical(m, guestToMachine(config, pdeAddress), 4, newPde);
  const newPte = (pte | PTE_ACCESSED | (access.write ? PTE_DIRTY : 0)) >>> 0;
  if (newPte !== pte) m = writePhysical(m, guestToMachine(config, pteAddress), 4, newPte);
  return { kind: 'mapped', mapping: { guestPhysical: (frame | (linear & 0xfff)) >>> 0, ...rights, dirty: (newPte & PTE_DIRTY) !== 0, memory: m } };
}

/** The protection rule of the manual (user needs U/S; writes need R/W,
 * supervisor writes only when CR0.WP is set), applied to the guest's view. */
function allows(rights: { user: boolean; writable: boolean }, access: GuestAccess, cr0: number): boolean {
  if (access.user) return rights.user && (!access.write || rights.writable);
  return !access.write || rights.writable || (cr0 & CR0_WP) === 0;
}

const hexOf = (n: number): string => `0x${(n >>> 0).toString(16)}`;

// ---------------------------------------------------------------- copies

export type GuestCopy<T> =
  | { readonly kind: 'ok'; readonly value: T; readonly memory: PhysicalMemory }
  | { readonly kind: 'guest-fault'; readonly errorCode: number; readonly address: number }
  | { readonly kind: 'outside'; readonly reason: string };

/** Read `length` bytes of guest-linear memory, byte by byte through the guest's paging. */
export function readGuest(memory: PhysicalMemory, config: VmmConfig, regs: GuestPagingRegisters, linear: number, length: number, user = false): GuestCopy<Uint8Array> {
  const out = new Uint8Array(length);
  let m = memory;
  for (let i = 0; i < length; i++) {
    const address = (linear + i) >>> 0;
    const t = translateGuest(m, config, regs, address, { write: false, user });
    if (t.kind === 'guest-fault') return { kind: 'guest-fault', errorCode: t.errorCode, address };
    if (t.kind === 'outside') return t;
    m = t.mapping.memory;
    out[i] = readPhysical(m, guestToMachine(config, t.mapping.guestPhysical), 1);
  }
  return { kind: 'ok', value: out, memory: m };
}

/** Write bytes to guest-linear memory; every page is checked before any byte is written. */
export function writeGuest(memory: PhysicalMemory, config: VmmConfig, regs: GuestPagingRegisters, linear: number, bytes: ArrayLike<number>, user = false): GuestCopy<null> {
  let m = memory;
  const machine: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const address = (linear + i) >>> 0;
    const t = translateGuest(m, config, regs, address, { write: true, user });
    if (t.kind === 'guest-fault') return { kind: 'guest-fault', errorCode: t.errorCode, address };
    if (t.kind === 'outside') return t;
    m = t.mapping.memory;
    machine.push(guestToMachine(config, t.mapping.guestPhysical));
  }
  for (let i = 0; i < bytes.length; i++) m = writePhysical(m, machine[i]!, 1, bytes[i]!);
  return { kind: 'ok', value: null, memory: m };
}

export const dwordAt = (bytes: Uint8Array, offset: number): number =>
  (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
export const wordAt = (bytes: Uint8Array, offset: number): number => bytes[offset]! | (bytes[offset + 1]! << 8);
export const dwordBytes = (value: number): number[] => [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
