// Direct paging: the processor walks the guest's own page tables. The
// monitor validates them whenever the guest points CR3 at them (and after
// every write to one of their pages), so the hardware never sees an entry
// that reaches beyond the guest's partition, and keeps them read-only to
// the guest so that no write escapes validation.
//
// [MEM.DIRECT.1] Guest-physical address p is machine address p: direct
// mode needs a partition that starts at machine 0 (`DIRECT_CONFIG`), so the
// guest's tables already hold machine frame numbers and the guest needs no
// translation and no patch to find its frames. (reconstructed: Xen instead
// gives a para-virtual guest its machine frame numbers and makes it call
// mmu_update; the identity partition is the smallest honest alternative,
// and it allows one direct guest per machine.)
import { readPhysical, writePhysical, type PhysicalMemory } from '../../cpu/memory';
import { CR0_PG, CR4_PSE, PDE_LARGE, PTE_PRESENT, PTE_WRITABLE } from '../../cpu/paging';
import { CR4_TSD } from '../../cpu/system/msr';
import { TF } from '../../cpu/eflags';
import { emptyTlb, tlbInvalidate } from '../../cpu/tlb';
import { step } from '../../cpu/step';
import { Frame, frameMachine, MONITOR_FRAMES, PAGE, type VmmConfig } from '../config';
import { handleShadowFault } from '../shadow';
import { guestView } from '../emulate';
import type { TrapFrame } from '../frame';
import type { VirtualCpu, World } from '../state';
import type { DirectState } from './types';
import type { ModeFault } from './dispatch';

/** The layout direct mode runs with: partition at machine 0, the monitor's frames just above it. */
export const DIRECT_CONFIG: VmmConfig = { vmmBase: 0xfc000000, monitorBase: 0x01000000, partitionBase: 0, partitionSize: 0x01000000 };

const monitorPde = (config: VmmConfig): number => (frameMachine(config, Frame.monitorTable) | PTE_PRESENT | PTE_WRITABLE) >>> 0;
const inside = (config: VmmConfig, machine: number, bytes: number): boolean =>
  machine >= config.partitionBase && machine + bytes <= config.partitionBase + config.partitionSize;

export type Validation =
  | { readonly kind: 'ok'; readonly memory: PhysicalMemory; readonly tables: ReadonlySet<number>; readonly demoted: ReadonlySet<number> }
  | { readonly kind: 'refuse'; readonly reason: string };

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/**
 * [MEM.DIRECT.2] Validate the guest's tables under `cr3`: the directory
 * and every page table it names lie inside the partition; every present
 * entry maps a frame (or a 4 MiB page) inside the partition; no entry at
 * or above the VMM base is present except the monitor's own, which the
 * monitor writes into slot vmmBase >> 22 of the guest's directory.
 * [MEM.DIRECT.3] Then every mapping that would let the guest write one of
 * these page-table pages loses its R/W bit (the monitor clears it in the
 * guest's entry and remembers that it did).
 */
export function validateTables(memory: PhysicalMemory, config: VmmConfig, cr3: number, cr4: number, s: DirectState): Validation {
  const dir = (cr3 & 0xfffff000) >>> 0;
  if (!inside(config, dir, PAGE)) return { kind: 'refuse', reason: `page directory ${hex(dir)} is outside the partition` };
  const vmmSlot = config.vmmBase >>> 22;
  const tables = new Set<number>([dir]);
  const mappings: Array<{ at: number; frame: number; large: boolean }> = [];
  for (let slot = 0; slot < 1024; slot++) {
    const pde = readPhysical(memory, dir + 4 * slot, 4);
    if ((pde & PTE_PRESENT) === 0) continue;
    if (slot >= vmmSlot) {
      if (slot === vmmSlot && (pde & ~0x60) >>> 0 === monitorPde(config)) continue; // the processor may have set A (and D)
      return { kind: 'refuse', reason: `directory entry ${slot} maps the VMM region` };
    }
    if ((cr4 & CR4_PSE) !== 0 && (pde & PDE_LARGE) !== 0) {
      const frame = (pde & 0xffc00000) >>> 0;
      if (!inside(config, frame, 0x400000)) return { kind: 'refuse', reason: `4 MiB page ${hex(frame)} (slot ${slot}) is outside the partition` };
      if ((pde & PTE_WRITABLE) !== 0) mappings.push({ at: dir + 4 * slot, frame, large: true });
      continue;
    }
    const table = (pde & 0xfffff000) >>> 0;
    if (!inside(config, table, PAGE)) return { kind: 'refuse', reason: `page table ${hex(table)} (slot ${slot}) is outside the partition` };
    // A directory that names itself as a page table (a recursive mapping)
    // would show the monitor's entry, written into the directory below, as
    // a page-table entry mapping the monitor's page table: refused.
    if (table === dir) return { kind: 'refuse', reason: `directory entry ${slot} names the directory itself as a page table` };
    tables.add(table);
    for (let i = 0; i < 1024; i++) {
      const pte = readPhysical(memory, table + 4 * i, 4);
      if ((pte & PTE_PRESENT) === 0) continue;
      const frame = (pte & 0xfffff000) >>> 0;
      if (!inside(config, frame, PAGE)) return { kind: 'refuse', reason: `page ${hex(((slot << 22) | (i << 12)) >>> 0)} maps ${hex(frame)}, outside the partition` };
      if ((pde & pte & PTE_WRITABLE) !== 0) mappings.push({ at: table + 4 * i, frame, large: false });
    }
  }
  let m = memory;
  const demoted = new Set(s.demoted);
  if (s.rules.protectTables) {
    for (const { at, frame, large } of mappings) {
      const hits = large ? [...tables].some((t) => t >= frame && t < frame + 0x400000) : tables.has(frame);
      if (!hits) continue;
      m = writePhysical(m, at, 4, (readPhysical(m, at, 4) & ~PTE_WRITABLE) >>> 0);
      demoted.add(at);
    }
  }
  m = writePhysical(m, dir + 4 * vmmSlot, 4, monitorPde(config));
  return { kind: 'ok', memory: m, tables, demoted };
}

/** [MEM.DIRECT.4] A write to the guest's paging registers: with its paging
 * off the guest runs on the monitor's own (single-shadow) directory; with
 * its paging on, the tables under its CR3 are validated and the real CR3
 * becomes the guest's directory. A refusal stops the guest. */
export function directPagingWrite(world: World, s: DirectState, _previous: VirtualCpu): World | string {
  const { config, vcpu } = world.vmm;
  const machine = world.machine;
  if ((vcpu.cr0 & CR0_PG) === 0) {
    const cr3 = frameMachine(config, Frame.shadowDirectory);
    // The monitor's directory holds only identity fills of the partition (VMM.SHADOW.2): they stay valid.
    return { machine: { ...machine, cr3, tlb: emptyTlb }, vmm: { ...world.vmm, memory: { ...s, tables: new Set() } } };
  }
  const v = validateTables(machine.memory, config, vcpu.cr3, vcpu.cr4, s);
  if (v.kind === 'refuse') return `direct paging: ${v.reason}`;
  return {
    machine: { ...machine, memory: v.memory, cr3: (vcpu.cr3 & 0xfffff000) >>> 0, cr4: vcpu.cr4 & (CR4_PSE | CR4_TSD), tlb: emptyTlb },
    vmm: { ...world.vmm, memory: { ...s, tables: v.tables, demoted: v.demoted } },
  };
}

/**
 * [MEM.DIRECT.5] A page fault with the guest's paging on. If the entry
 * that refused a write is one the monitor demoted (MEM.DIRECT.3): when it
 * maps a page-table page, the monitor emulates the write (it executes the
 * guest's one instruction on a copy of the machine with the entry writable
 * again) and validates the tables afterwards; a write that breaks a rule of
 * MEM.DIRECT.2 stops the guest. When it no longer maps a page-table page,
 * its R/W bit is given back and the guest retries. Every other fault is the
 * guest's own: reflected with the processor's error code and address.
 * With the guest's paging off, the monitor's directory is filled as in
 * single-shadow.
 */
export function directPageFault(world: World, s: DirectState, frame: TrapFrame, linear: number, errorCode: number): ModeFault {
  const { config, vcpu } = world.vmm;
  const memory = world.machine.memory;
  linear >>>= 0;
  if (linear >= config.vmmBase) return { kind: 'stop', reason: `page fault at ${hex(linear)} inside the VMM region` };
  if ((vcpu.cr0 & CR0_PG) === 0) {
    const d = handleShadowFault(memory, config, world.vmm.shadow, vcpu, linear, errorCode, world.vmm.rules.shadow);
    if (d.kind !== 'filled') return d;
    return { kind: 'filled', world: { machine: { ...world.machine, memory: d.memory, tlb: tlbInvalidate(world.machine.tlb, linear) }, vmm: { ...world.vmm, shadow: d.shadow } } };
  }
  const reflect: ModeFault = { kind: 'reflect', errorCode, address: linear };
  if ((errorCode & 3) !== 3) return reflect;
  const dir = (vcpu.cr3 & 0xfffff000) >>> 0;
  const pdeAt = dir + 4 * (linear >>> 22);
  const pde = readPhysical(memory, pdeAt, 4);
  const large = (vcpu.cr4 & CR4_PSE) !== 0 && (pde & PDE_LARGE) !== 0;
  const pteAt = large ? null : (pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2);
  const ours = [pdeAt, ...(pteAt === null ? [] : [pteAt])].filter((a) => s.demoted.has(a));
  if (ours.length === 0) return reflect;
  const target = large ? ((pde & 0xffc00000) | (linear & 0x3ff000)) >>> 0 : (readPhysical(memory, pteAt!, 4) & 0xfffff000) >>> 0;
  let opened = memory;
  for (const a of ours) opened = writePhysical(opened, a, 4, (readPhysical(opened, a, 4) | PTE_WRITABLE) >>> 0);
  if (!s.tables.has(target)) {
    const demoted = new Set(s.demoted);
    for (const a of ours) demoted.delete(a);
    return { kind: 'filled', world: { machine: { ...world.machine, memory: opened, tlb: emptyTlb }, vmm: { ...world.vmm, memory: { ...s, demoted } } } };
  }
  // Emulate: run the guest's instruction once, on a copy, with the page
  // writable. [MEM.DIRECT.6] With TF clear: a guest that single-steps gets
  // its trap through its own IDT once the instruction is done.
  const guest = guestView(world, frame);
  const stepping = (frame.eflags & TF) !== 0;
  const r = step({ ...guest, eflags: (guest.eflags & ~TF) >>> 0, memory: opened, tlb: emptyTlb, halted: false });
  if (r.event.kind !== 'retired') return { kind: 'stop', reason: `direct paging: the write to page-table page ${hex(target)} could not be emulated (${r.event.kind})` };
  const v = validateTables(r.state.memory, config, vcpu.cr3, vcpu.cr4, s);
  if (v.kind === 'refuse') return { kind: 'stop', reason: `direct paging: ${v.reason}` };
  const regs = r.state.regs.slice();
  const newFrame: TrapFrame = { ...frame, eip: r.state.eip, eflags: (r.state.eflags | (frame.eflags & TF)) >>> 0, esp: regs[4]! };
  regs[4] = world.machine.regs[4]!;
  return {
    kind: 'resume', frame: newFrame, trap: stepping,
    world: {
      machine: { ...world.machine, memory: v.memory, regs, devices: r.state.devices, tlb: emptyTlb },
      vmm: { ...world.vmm, memory: { ...s, tables: v.tables, demoted: v.demoted } },
    },
  };
}

export const directInvlpg = (world: World, linear: number): World =>
  ((world.vmm.vcpu.cr0 & CR0_PG) === 0 ? world : { ...world, machine: { ...world.machine, tlb: tlbInvalidate(world.machine.tlb, linear) } });

/** Is a machine frame one of the monitor's? (for the invariant: the guest's tables never name them) */
export const monitorFrame = (config: VmmConfig, machine: number): boolean =>
  machine >= config.monitorBase && machine < config.monitorBase + MONITOR_FRAMES * PAGE;
