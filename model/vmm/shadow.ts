// Single-shadow paging. The processor's CR3 always points at the monitor's
// shadow page directory; the guest's own page tables (under its virtual
// CR3) are only read by the monitor. The shadow starts empty and is filled
// one page at a time on page faults, so it behaves like a large software TLB
// of the guest's mappings, flushed when the guest flushes its own TLB.
import { readPhysical, writeBytes, writePhysical, type PhysicalMemory } from '../cpu/memory';
import { PTE_PRESENT, PTE_USER, PTE_WRITABLE } from '../cpu/paging';
import { Frame, frameMachine, MONITOR_FRAMES, PAGE, type VmmConfig } from './config';
import { guestToMachine, translateGuest, type GuestAccess, type GuestMapping, type GuestPagingRegisters } from './guest-paging';

/** Allocation state of the pool of shadow page tables. */
export interface ShadowState {
  /** Pool frames handed out since the last flush. */
  readonly tablesInUse: number;
}

export const emptyShadow: ShadowState = { tablesInUse: 0 };
export const SHADOW_POOL_SIZE = MONITOR_FRAMES - Frame.shadowPool;

/** The shadow rules; mutants replace one. */
export interface ShadowRules {
  /** The machine frame that backs a guest-physical frame. */
  readonly machineFrame: (config: VmmConfig, guestPhysicalFrame: number) => number;
  /** Is the shadow entry writable, given the guest's mapping after the access? */
  readonly writable: (mapping: GuestMapping) => boolean;
  /** Does a guest CR3 write empty the shadow? */
  readonly flushOnCr3Write: boolean;
  /** Does a guest INVLPG drop the shadow entry? */
  readonly flushOnInvlpg: boolean;
}

export const defaultShadowRules: ShadowRules = {
  // [VMM.SHADOW.4] Guest-physical frame f is machine frame partitionBase + f.
  machineFrame: (config, frame) => guestToMachine(config, frame),
  // [VMM.SHADOW.5] A shadow entry is writable only when the guest's mapping
  // is writable *and* already dirty: a clean page is mapped read-only, so
  // the guest's first write to it faults and the monitor can set the
  // guest's dirty bit, as the processor would have.
  writable: (mapping) => mapping.writable && mapping.dirty,
  // [VMM.SHADOW.7] A guest CR3 write (and a change of the guest's CR0.PG,
  // CR0.WP or CR4.PSE) empties the shadow of guest mappings and the TLB.
  flushOnCr3Write: true,
  // [VMM.SHADOW.8] A guest INVLPG drops the one shadow entry and its TLB entry.
  flushOnInvlpg: true,
};

const shadowDirectory = (config: VmmConfig): number => frameMachine(config, Frame.shadowDirectory);
const pdeAddress = (config: VmmConfig, linear: number): number => shadowDirectory(config) + ((linear >>> 22) << 2);

/**
 * [VMM.SHADOW.9] The shadow directory's entries from the VMM base up belong
 * to the monitor: the first maps the monitor's frames (supervisor, so only
 * through segments that reach the region, which the guest has none of); the
 * rest are empty. Built once at boot and never touched by a flush.
 */
export function buildMonitorMappings(memory: PhysicalMemory, config: VmmConfig): PhysicalMemory {
  const table = frameMachine(config, Frame.monitorTable);
  const entries = new Uint8Array(PAGE);
  const view = new DataView(entries.buffer);
  for (let i = 0; i < MONITOR_FRAMES; i++) view.setUint32(4 * i, (frameMachine(config, i) | PTE_PRESENT | PTE_WRITABLE) >>> 0, true);
  let m = writeBytes(memory, table, entries);
  m = writeBytes(m, shadowDirectory(config), new Uint8Array(PAGE));
  return writePhysical(m, pdeAddress(config, config.vmmBase), 4, (table | PTE_PRESENT | PTE_WRITABLE) >>> 0);
}

/** Empty every shadow entry below the VMM base; the pool starts over. */
export function flushShadow(memory: PhysicalMemory, config: VmmConfig): { memory: PhysicalMemory; shadow: ShadowState } {
  const guestEntries = config.vmmBase >>> 22;
  return { memory: writeBytes(memory, shadowDirectory(config), new Uint8Array(guestEntries * 4)), shadow: emptyShadow };
}

/** Drop the shadow entry of one page (nothing if there is none). */
export function invalidateShadowPage(memory: PhysicalMemory, config: VmmConfig, linear: number): PhysicalMemory {
  if (linear >>> 0 >= config.vmmBase) return memory;
  const pde = readPhysical(memory, pdeAddress(config, linear), 4);
  if ((pde & PTE_PRESENT) === 0) return memory;
  return writePhysical(memory, (pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2), 4, 0);
}

/** The shadow entry that maps `linear`, or 0. */
export function shadowEntry(memory: PhysicalMemory, config: VmmConfig, linear: number): number {
  const pde = readPhysical(memory, pdeAddress(config, linear), 4);
  if ((pde & PTE_PRESENT) === 0) return 0;
  return readPhysical(memory, (pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2), 4);
}

/** Install a shadow entry for one page, taking a page table from the pool
 * if its directory slot is empty. [VMM.SHADOW.10] When the pool runs out,
 * the whole shadow is flushed first (reconstructed: the simplest policy that
 * is always correct, as the shadow is only a cache). */
function installEntry(memory: PhysicalMemory, config: VmmConfig, shadow: ShadowState, linear: number, entry: number): { memory: PhysicalMemory; shadow: ShadowState } {
  let m = memory, s = shadow;
  let pde = readPhysical(m, pdeAddress(config, linear), 4);
  if ((pde & PTE_PRESENT) === 0) {
    if (s.tablesInUse >= SHADOW_POOL_SIZE) ({ memory: m, shadow: s } = flushShadow(m, config));
    const table = frameMachine(config, Frame.shadowPool + s.tablesInUse);
    m = writeBytes(m, table, new Uint8Array(PAGE));
    // Permissions live in the page-table entries; the directory allows all.
    pde = (table | PTE_PRESENT | PTE_WRITABLE | PTE_USER) >>> 0;
    m = writePhysical(m, pdeAddress(config, linear), 4, pde);
    s = { tablesInUse: s.tablesInUse + 1 };
  }
  m = writePhysical(m, (pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2), 4, entry >>> 0);
  return { memory: m, shadow: s };
}

export type PageFaultDecision =
  /** The shadow now maps the page: the guest retries the instruction. */
  | { readonly kind: 'filled'; readonly memory: PhysicalMemory; readonly shadow: ShadowState }
  /** The guest's own tables refuse the access: a #PF for the guest. */
  | { readonly kind: 'reflect'; readonly errorCode: number; readonly address: number }
  | { readonly kind: 'stop'; readonly reason: string };

/**
 * [VMM.SHADOW.1] A page fault the guest causes (the processor's CR2 and
 * error code give the address and the access) is first looked up in the
 * guest's own tables. [VMM.SHADOW.6] If they refuse the access, the guest
 * gets the #PF it would have had natively: its error code (present bit from
 * its own entries) and the address in its virtual CR2. Otherwise the shadow
 * entry is filled and the guest's accessed/dirty bits are set.
 */
export function handleShadowFault(
  memory: PhysicalMemory, config: VmmConfig, shadow: ShadowState, regs: GuestPagingRegisters,
  linear: number, hardwareErrorCode: number, rules: ShadowRules = defaultShadowRules,
): PageFaultDecision {
  linear >>>= 0;
  if (linear >= config.vmmBase) return { kind: 'stop', reason: `page fault at ${hex(linear)} inside the VMM region` };
  const access: GuestAccess = { write: (hardwareErrorCode & 2) !== 0, user: (hardwareErrorCode & 4) !== 0 };
  const t = translateGuest(memory, config, regs, linear, access);
  if (t.kind === 'outside') return { kind: 'stop', reason: t.reason };
  if (t.kind === 'guest-fault') return { kind: 'reflect', errorCode: t.errorCode, address: linear };
  const mapping = t.mapping;
  let writable = rules.writable(mapping);
  if (access.write && !access.user && !mapping.writable) {
    // The guest allowed a kernel write to a read-only page: its CR0.WP is clear.
    if (mapping.user) return { kind: 'stop', reason: 'a kernel write to a read-only user page with CR0.WP clear cannot be shadowed' };
    writable = true;
  }
  const frame = rules.machineFrame(config, mapping.guestPhysical & 0xfffff000);
  const entry = frame | PTE_PRESENT | (writable ? PTE_WRITABLE : 0) | (mapping.user ? PTE_USER : 0);
  const installed = installEntry(mapping.memory, config, shadow, linear, entry);
  return { kind: 'filled', ...installed };
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
