// VMM.ISO, VMM.SEG, VMM.RING and VMM.RES checked on a monitor's *real*
// state, read out of machine memory the way the processor reads it: the
// GDT and LDT through GDTR and LDTR, translated by the real page tables
// under CR3. Nothing here knows where a monitor keeps its tables, so the
// same checker serves gandalf (any Machine) and model/vmm (a World, through
// worldView).
import type { CommonState, Machine } from '../../model/machine';
import type { World } from '../../model/vmm/state';
import { readBytes } from '../../model/cpu/memory';
import { toCommon } from '../../model/cpu/state';
import { endsBelowBase, type RawDescriptor } from '../../model/vmm/descriptors';
import { realEntrySafe } from '../../model/vmm/check';
import { FIRST_GUEST_RESERVED } from './layout';
import { ImplMachine } from '../../impl/machine';

/** What the checker needs of a machine. */
export interface RealView {
  state(): CommonState;
  read(address: number, length: number): Uint8Array;
  /** CPL and EIP, cheaply (called after every step). */
  position(): { cpl: number; eip: number };
}

export interface MonitorBounds {
  readonly vmmBase: number;
  readonly partitionBase: number;
  readonly partitionSize: number;
}

export interface Violation { readonly rule: 'VMM.ISO' | 'VMM.SEG' | 'VMM.RING' | 'VMM.RES'; readonly message: string }

export function machineView(m: Machine): RealView {
  const impl = m instanceof ImplMachine ? m : null;
  return {
    state: () => m.state(),
    read: (a, n) => m.readPhysical(a, n),
    position: () => (impl !== null ? { cpl: impl.cpu.segSelector[1]! & 3, eip: impl.cpu.eip >>> 0 } : { cpl: m.state().segments.cs.selector & 3, eip: m.state().eip }),
  };
}

export function worldView(get: () => World): RealView {
  return {
    state: () => toCommon(get().machine),
    read: (a, n) => readBytes(get().machine.memory, a, n),
    position: () => ({ cpl: get().machine.segments.cs.selector & 3, eip: get().machine.eip >>> 0 }),
  };
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const dword = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/** A linear address translated by the real paging (null: not mapped). */
export function realPhysical(view: RealView, s: CommonState, linear: number): number | null {
  if ((s.cr0 & 0x80000000) === 0) return linear >>> 0;
  const pde = dword(view.read(((s.cr3 & 0xfffff000) + ((linear >>> 22) << 2)) >>> 0, 4), 0);
  if ((pde & 1) === 0) return null;
  if ((s.cr4 & 0x10) !== 0 && (pde & 0x80) !== 0) return ((pde & 0xffc00000) | (linear & 0x3fffff)) >>> 0;
  const pte = dword(view.read(((pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0, 4), 0);
  if ((pte & 1) === 0) return null;
  return ((pte & 0xfffff000) | (linear & 0xfff)) >>> 0;
}

/** Read `length` bytes at a linear address through the real paging. */
function readLinear(view: RealView, s: CommonState, linear: number, length: number): Uint8Array | null {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 8) {
    const p = realPhysical(view, s, (linear + i) >>> 0);
    if (p === null) return null;
    out.set(view.read(p, Math.min(8, length - i)), i);
  }
  return out;
}

/** [VMM.RING] CPL 0 only in the monitor's region. */
export function checkRealRing(view: RealView, bounds: MonitorBounds): Violation | null {
  const p = view.position();
  if (p.cpl === 0 && p.eip < bounds.vmmBase) return { rule: 'VMM.RING', message: `CPL 0 at EIP ${hex(p.eip)}, below the VMM base` };
  return null;
}

/** The descriptor a segment cache was loaded from (enough for its range). */
function cacheAsDescriptor(c: CommonState['segments']['cs']): RawDescriptor {
  const granular = (c.attributes & 0x8000) !== 0;
  const limitField = granular ? c.limit >>> 12 : c.limit;
  const high = ((c.base & 0xff000000) | ((c.base >>> 16) & 0xff) | ((c.attributes & 0xf0ff) << 8) | (limitField & 0xf0000)) >>> 0;
  return { low: (((c.base & 0xffff) << 16) | (limitField & 0xffff)) >>> 0, high };
}

/** [VMM.SEG] The segment registers loaded at CPL > 0. */
export function checkRealSegments(view: RealView, bounds: MonitorBounds, s: CommonState = view.state()): Violation | null {
  if ((s.segments.cs.selector & 3) === 0) return null;
  for (const [name, c] of Object.entries(s.segments)) {
    if (!c.valid || (c.selector & 0xfffc) === 0) continue;
    if (((c.attributes >>> 5) & 3) < 1) return { rule: 'VMM.SEG', message: `${name} holds a DPL-0 segment at CPL ${s.segments.cs.selector & 3}` };
    if (!endsBelowBase(cacheAsDescriptor(c), bounds.vmmBase)) return { rule: 'VMM.SEG', message: `${name} (base ${hex(c.base)}, limit ${hex(c.limit)}) reaches the VMM base` };
  }
  return null;
}

/** [VMM.SEG] Every entry of the real GDT (but the monitor's slots) and LDT the guest can name. */
export function checkRealTables(view: RealView, bounds: MonitorBounds, s: CommonState = view.state()): Violation | null {
  const gdtEntries = Math.min(FIRST_GUEST_RESERVED, (s.gdtr.limit + 1) >>> 3);
  const gdt = readLinear(view, s, s.gdtr.base, gdtEntries * 8);
  if (gdt === null) return { rule: 'VMM.SEG', message: `the real GDT at ${hex(s.gdtr.base)} is not mapped` };
  const ldtEntries = s.ldtr.valid ? (s.ldtr.limit + 1) >>> 3 : 0;
  const ldt = ldtEntries === 0 ? new Uint8Array(0) : readLinear(view, s, s.ldtr.base, ldtEntries * 8);
  if (ldt === null) return { rule: 'VMM.SEG', message: `the real LDT at ${hex(s.ldtr.base)} is not mapped` };
  const entry = (table: Uint8Array, i: number): RawDescriptor => ({ low: dword(table, 8 * i), high: dword(table, 8 * i + 4) });
  const lookup = (selector: number): RawDescriptor | null => {
    const i = selector >>> 3;
    if ((selector & 0xfffc) === 0) return null;
    if ((selector & 4) !== 0) return i < ldtEntries ? entry(ldt, i) : null;
    if (i < gdtEntries) return entry(gdt, i);
    const far = readLinear(view, s, (s.gdtr.base + 8 * i) >>> 0, 8);
    return far === null || 8 * i + 7 > s.gdtr.limit ? null : entry(far, 0);
  };
  for (const [name, table, count] of [['GDT', gdt, gdtEntries], ['LDT', ldt, ldtEntries]] as const) {
    for (let i = 1; i < count; i++) {
      const problem = realEntrySafe(entry(table, i), bounds.vmmBase, lookup);
      if (problem !== null) return { rule: 'VMM.SEG', message: `real ${name} entry ${i}: ${problem}` };
    }
  }
  return null;
}

/** [VMM.RES] The real control and table registers keep their values; the
 * real page tables map nothing below the VMM base outside the partition. */
export function checkRealResources(view: RealView, bounds: MonitorBounds, boot: CommonState, s: CommonState = view.state()): Violation | null {
  const same = s.cr0 === boot.cr0 && s.cr3 === boot.cr3 && s.cr4 === boot.cr4 && s.gdtr.base === boot.gdtr.base && s.gdtr.limit === boot.gdtr.limit
    && s.idtr.base === boot.idtr.base && s.idtr.limit === boot.idtr.limit && s.tr.selector === boot.tr.selector && s.tr.base === boot.tr.base;
  if (!same) return { rule: 'VMM.RES', message: 'a real control or table register changed while the guest ran' };
  const inPartition = (frame: number, bytes: number): boolean => frame >= bounds.partitionBase && frame + bytes <= bounds.partitionBase + bounds.partitionSize;
  const dir = view.read(s.cr3 & 0xfffff000, 4096);
  for (let i = 0; i < bounds.vmmBase >>> 22; i++) {
    const pde = dword(dir, 4 * i);
    if ((pde & 1) === 0) continue;
    if ((s.cr4 & 0x10) !== 0 && (pde & 0x80) !== 0) {
      if (!inPartition(pde & 0xffc00000, 0x400000)) return { rule: 'VMM.RES', message: `real PDE ${i} maps a 4 MiB page outside the partition` };
      continue;
    }
    const table = pde & 0xfffff000;
    if (inPartition(table, 4096)) return { rule: 'VMM.RES', message: `real PDE ${i} names a page table inside the guest's partition` };
    const entries = view.read(table, 4096);
    for (let j = 0; j < 1024; j++) {
      const pte = dword(entries, 4 * j);
      if ((pte & 1) !== 0 && !inPartition(pte & 0xfffff000, 4096)) {
        return { rule: 'VMM.RES', message: `real entry for ${hex(((i << 22) | (j << 12)) >>> 0)} maps machine ${hex(pte)}, outside the partition` };
      }
    }
  }
  return null;
}

/**
 * [MEM.RES.1] VMM.RES in direct mode, on the real state: the real CR0,
 * GDTR, IDTR and TR keep their values; the real CR3 is the monitor's own
 * directory (then checked as in the shadow modes) or a guest directory
 * inside the partition whose present entries below the VMM base map
 * partition frames, whose VMM slot holds only a supervisor entry naming
 * no partition frame, and which maps none of its page-table pages writable.
 */
export function checkRealDirectResources(view: RealView, bounds: MonitorBounds, monitorDirectory: number, boot: CommonState, s: CommonState = view.state()): Violation | null {
  const same = s.cr0 === boot.cr0 && s.gdtr.base === boot.gdtr.base && s.gdtr.limit === boot.gdtr.limit
    && s.idtr.base === boot.idtr.base && s.idtr.limit === boot.idtr.limit && s.tr.selector === boot.tr.selector && s.tr.base === boot.tr.base;
  if (!same) return { rule: 'VMM.RES', message: 'a real control or table register changed while the guest ran' };
  const dir = (s.cr3 & 0xfffff000) >>> 0;
  if (dir === monitorDirectory) return checkRealResources(view, bounds, { ...boot, cr3: s.cr3, cr4: s.cr4 }, s);
  const inPartition = (frame: number, bytes: number): boolean => frame >= bounds.partitionBase && frame + bytes <= bounds.partitionBase + bounds.partitionSize;
  if (!inPartition(dir, 4096)) return { rule: 'VMM.RES', message: `real CR3 ${hex(dir)} is neither the monitor's directory nor inside the partition` };
  const d = view.read(dir, 4096);
  const tables = new Set<number>([dir]);
  const writable: Array<[number, number]> = [];
  const vmmSlot = bounds.vmmBase >>> 22;
  for (let i = 0; i < 1024; i++) {
    const pde = dword(d, 4 * i);
    if ((pde & 1) === 0) continue;
    if (i >= vmmSlot) {
      if (i === vmmSlot && (pde & 4) === 0 && !inPartition(pde & 0xfffff000, 4096)) continue;
      return { rule: 'VMM.RES', message: `real PDE ${i} maps the VMM region` };
    }
    if ((s.cr4 & 0x10) !== 0 && (pde & 0x80) !== 0) {
      if (!inPartition(pde & 0xffc00000, 0x400000)) return { rule: 'VMM.RES', message: `real PDE ${i} maps a 4 MiB page outside the partition` };
      if (pde & 2) writable.push([pde & 0xffc00000, 0x400000]);
      continue;
    }
    const table = (pde & 0xfffff000) >>> 0;
    if (!inPartition(table, 4096)) return { rule: 'VMM.RES', message: `real PDE ${i} names a page table outside the partition` };
    tables.add(table);
    const entries = view.read(table, 4096);
    for (let j = 0; j < 1024; j++) {
      const pte = dword(entries, 4 * j);
      if ((pte & 1) === 0) continue;
      if (!inPartition(pte & 0xfffff000, 4096)) return { rule: 'VMM.RES', message: `real entry for ${hex(((i << 22) | (j << 12)) >>> 0)} maps machine ${hex(pte)}, outside the partition` };
      if (pde & pte & 2) writable.push([(pte & 0xfffff000) >>> 0, 4096]);
    }
  }
  for (const [frame, size] of writable) {
    for (const t of tables) if (t >= frame && t < frame + size) return { rule: 'VMM.RES', message: `page-table page ${hex(t)} is mapped writable` };
  }
  return null;
}

/**
 * [VMM.ISO] The monitor's memory is unchanged by guest steps: `monitorMemory`
 * snapshots the machine memory outside the partition that the monitor owns
 * (the given ranges), with the accessed and dirty bits of page-table frames
 * masked (the processor's own writes); the caller compares the snapshot
 * taken when the guest was entered with the one when the monitor is entered
 * next. Reads: every access at CPL > 0 goes through a segment register,
 * which VMM.SEG keeps below the VMM base.
 */
export function monitorMemory(view: RealView, ranges: readonly (readonly [number, number, boolean])[]): Uint8Array {
  const total = ranges.reduce((n, [, len]) => n + len, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const [start, len, paging] of ranges) {
    const b = view.read(start, len);
    if (paging) for (let i = 0; i < len; i += 4) b[i] = b[i]! & 0x9f;
    out.set(b, at);
    at += len;
  }
  return out;
}
