// Multiple-shadow paging: one shadow per guest address space (keyed by the
// guest's CR3), kept while the guest runs in other spaces. A shadow that
// outlives a CR3 switch can go stale only if the guest rewrites a page
// table it was built from, so the monitor watches exactly those pages: the
// guest's page-table pages are mapped read-only in every shadow, a write
// to one is a #PF exit, and the exit drops the shadow entries derived from
// that page before letting the write through.
import { readBytes, readPhysical, writeBytes, writePhysical, type PhysicalMemory } from '../../cpu/memory';
import { CR0_PG, CR4_PSE, PDE_LARGE, PTE_PRESENT, PTE_USER, PTE_WRITABLE } from '../../cpu/paging';
import { emptyTlb, tlbInvalidate } from '../../cpu/tlb';
import { Frame, frameMachine, MONITOR_FRAMES, PAGE, type VmmConfig } from '../config';
import { guestToMachine, translateGuest, type GuestPagingRegisters } from '../guest-paging';
import type { VirtualCpu, World } from '../state';
import type { Dependent, MultiShadowState, WritableMapping } from './types';
import type { ModeFault } from './dispatch';

const POOL_FIRST = Frame.shadowPool;
const POOL_SIZE = MONITOR_FRAMES - Frame.shadowPool;

const realDirectory = (config: VmmConfig): number => frameMachine(config, Frame.shadowDirectory);
const guestSlots = (config: VmmConfig): number => config.vmmBase >>> 22;

/** [MEM.MULTI.1] The key of the guest's current address space: its CR3's
 * page, or -1 while its paging is off. */
export const spaceKey = (v: GuestPagingRegisters): number => ((v.cr0 & CR0_PG) !== 0 ? (v.cr3 & 0xfffff000) >>> 0 : -1);

/** Where a space's directory entries are now: the real directory for the active space, its saved frame otherwise. */
function directoryOf(s: MultiShadowState, config: VmmConfig, key: number): number | null {
  if (key === s.active) return realDirectory(config);
  return s.spaces.find((sp) => sp.key === key)?.saved ?? null;
}

const protectedFrame = (s: MultiShadowState, gpFrame: number): boolean => s.covered.has(gpFrame) && !unsynced(s).has(gpFrame);

const unsynced = (s: MultiShadowState): ReadonlySet<number> => s.unsynced;
const withUnsynced = (s: MultiShadowState, frames: ReadonlySet<number>): MultiShadowState => ({ ...s, unsynced: frames });

interface Working { memory: PhysicalMemory; state: MultiShadowState; flushTlb: boolean; tlbPages: number[] }

/** [MEM.MULTI.6] Empty every shadow: all spaces forgotten, the pool starts over. */
function flushAll(w: Working, config: VmmConfig): Working {
  return {
    memory: writeBytes(w.memory, realDirectory(config), new Uint8Array(guestSlots(config) * 4)),
    state: { ...w.state, spaces: [{ key: w.state.active, saved: null }], poolUsed: 0, covered: new Map(), writable: new Map(), unsynced: new Set() },
    flushTlb: true, tlbPages: [],
  };
}

/** Take a zeroed frame from the pool (null when the pool is exhausted). */
function allocate(w: Working, config: VmmConfig): { w: Working; frame: number } | null {
  if (w.state.poolUsed >= POOL_SIZE) return null;
  const frame = frameMachine(config, POOL_FIRST + w.state.poolUsed);
  return { w: { ...w, memory: writeBytes(w.memory, frame, new Uint8Array(PAGE)), state: { ...w.state, poolUsed: w.state.poolUsed + 1 } }, frame };
}

/** Drop one derived set of entries (a slot, or a whole space). */
function dropDependent(w: Working, config: VmmConfig, d: Dependent): Working {
  const dir = directoryOf(w.state, config, d.space);
  if (dir === null) return w;
  const memory = d.slot < 0
    ? writeBytes(w.memory, dir, new Uint8Array(guestSlots(config) * 4))
    : writePhysical(w.memory, dir + 4 * d.slot, 4, 0);
  return { ...w, memory, flushTlb: w.flushTlb || d.space === w.state.active };
}

/** [MEM.MULTI.4] Drop every shadow entry derived from a guest page-table page; the page is no longer covered. */
function dropDerived(w: Working, config: VmmConfig, gpFrame: number): Working {
  let x = w;
  if (x.state.rules.dropOnTableWrite) for (const d of x.state.covered.get(gpFrame) ?? []) x = dropDependent(x, config, d);
  const covered = new Map(x.state.covered);
  covered.delete(gpFrame);
  return { ...x, state: { ...x.state, covered } };
}

/** [MEM.MULTI.3] Record that shadow entries derive from a guest page-table
 * page; a page covered for the first time loses every writable shadow
 * mapping of it, so the guest's next write to it exits. */
function cover(w: Working, config: VmmConfig, gpFrame: number, d: Dependent): Working {
  const s = w.state;
  const was = s.covered.get(gpFrame);
  if (was?.some((x) => x.space === d.space && x.slot === d.slot)) return w;
  const covered = new Map(s.covered);
  covered.set(gpFrame, [...(was ?? []), d]);
  let x: Working = { ...w, state: { ...s, covered } };
  if (was === undefined && !unsynced(s).has(gpFrame)) {
    for (const m of s.writable.get(gpFrame) ?? []) x = readOnly(x, config, m);
    const writable = new Map(x.state.writable);
    writable.delete(gpFrame);
    x = { ...x, state: { ...x.state, writable } };
  }
  return x;
}

/** Clear the R/W bit of one shadow entry (if it is still there). */
function readOnly(w: Working, config: VmmConfig, m: WritableMapping): Working {
  const dir = directoryOf(w.state, config, m.space);
  if (dir === null) return w;
  const pde = readPhysical(w.memory, dir + 4 * (m.linear >>> 22), 4);
  if ((pde & PTE_PRESENT) === 0) return w;
  const at = (pde & 0xfffff000) + (((m.linear >>> 12) & 0x3ff) << 2);
  const pte = readPhysical(w.memory, at, 4);
  if ((pte & PTE_WRITABLE) === 0) return w;
  const active = m.space === w.state.active;
  return { ...w, memory: writePhysical(w.memory, at, 4, (pte & ~PTE_WRITABLE) >>> 0), tlbPages: active ? [...w.tlbPages, m.linear] : w.tlbPages };
}

/** Install one entry in the active space, taking a table from the pool if needed. */
function install(w: Working, config: VmmConfig, linear: number, entry: number): Working | null {
  const pdeAt = realDirectory(config) + 4 * (linear >>> 22);
  let x = w;
  let pde = readPhysical(x.memory, pdeAt, 4);
  if ((pde & PTE_PRESENT) === 0) {
    const a = allocate(x, config);
    if (a === null) return null;
    pde = (a.frame | PTE_PRESENT | PTE_WRITABLE | PTE_USER) >>> 0;
    x = { ...a.w, memory: writePhysical(a.w.memory, pdeAt, 4, pde) };
  }
  return { ...x, memory: writePhysical(x.memory, (pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2), 4, entry >>> 0), tlbPages: [...x.tlbPages, linear] };
}

function finish(world: World, w: Working): World {
  let tlb = w.flushTlb ? emptyTlb : world.machine.tlb;
  if (!w.flushTlb) for (const p of w.tlbPages) tlb = tlbInvalidate(tlb, p);
  return { machine: { ...world.machine, memory: w.memory, tlb }, vmm: { ...world.vmm, memory: w.state } };
}

/**
 * [MEM.MULTI.2] A page fault: walk the guest's tables (as single-shadow
 * does, VMM.SHADOW.1/3/6), record which guest page-table pages the new
 * entry derives from (the directory for the whole space, the page table for
 * its slot), and install it; the entry is writable only if single-shadow
 * would make it so and its frame is not a protected page-table page.
 * [MEM.MULTI.4] A write that faults on a protected page-table page (the
 * guest's own mapping allows it) first drops the entries derived from that
 * page, then maps it writable until the guest next flushes (MEM.MULTI.5).
 */
export function multiPageFault(world: World, s: MultiShadowState, linear: number, hardwareErrorCode: number): ModeFault {
  const { config, vcpu } = world.vmm;
  linear >>>= 0;
  if (linear >= config.vmmBase) return { kind: 'stop', reason: `page fault at 0x${linear.toString(16)} inside the VMM region` };
  const access = { write: (hardwareErrorCode & 2) !== 0, user: (hardwareErrorCode & 4) !== 0 };
  const t = translateGuest(world.machine.memory, config, vcpu, linear, access);
  if (t.kind === 'outside') return { kind: 'stop', reason: t.reason };
  if (t.kind === 'guest-fault') return { kind: 'reflect', errorCode: t.errorCode, address: linear };
  const mapping = t.mapping;
  const gpFrame = (mapping.guestPhysical & 0xfffff000) >>> 0;
  let w: Working = { memory: mapping.memory, state: s, flushTlb: false, tlbPages: [] };
  if (access.write && protectedFrame(s, gpFrame)) {
    w = dropDerived(w, config, gpFrame);
    const un = new Set(unsynced(w.state));
    un.add(gpFrame);
    w = { ...w, state: withUnsynced(w.state, un) };
  }
  const key = spaceKey(vcpu);
  if (key >= 0) {
    const slot = linear >>> 22;
    const pde = readPhysical(w.memory, guestToMachine(config, key + 4 * slot), 4);
    w = cover(w, config, key, { space: key, slot: -1 });
    const large = (vcpu.cr4 & CR4_PSE) !== 0 && (pde & PDE_LARGE) !== 0;
    if (!large) w = cover(w, config, (pde & 0xfffff000) >>> 0, { space: key, slot });
  }
  let writable = mapping.writable && mapping.dirty;
  if (access.write && !access.user && !mapping.writable) {
    if (mapping.user) return { kind: 'stop', reason: 'a kernel write to a read-only user page with CR0.WP clear cannot be shadowed' };
    writable = true;
  }
  writable = writable && !protectedFrame(w.state, gpFrame);
  const entry = (guestToMachine(config, gpFrame) | PTE_PRESENT | (writable ? PTE_WRITABLE : 0) | (mapping.user ? PTE_USER : 0)) >>> 0;
  let installed = install(w, config, linear, entry);
  if (installed === null) {
    // [MEM.MULTI.6] The pool is exhausted: flush everything and fill again from scratch.
    return multiPageFault(finish(world, flushAll(w, config)), flushAll(w, config).state, linear, hardwareErrorCode);
  }
  if (writable) {
    const writableMap = new Map(installed.state.writable);
    writableMap.set(gpFrame, [...(writableMap.get(gpFrame) ?? []), { space: key, linear: (linear & 0xfffff000) >>> 0 }]);
    installed = { ...installed, state: { ...installed.state, writable: writableMap } };
  }
  return { kind: 'filled', world: finish(world, installed) };
}

/**
 * [MEM.MULTI.5] A write to the guest's paging registers (the virtual CPU
 * already holds the new values). A change of CR0.PG, CR0.WP or CR4.PSE
 * flushes every shadow (MEM.MULTI.6). Otherwise the guest's flush is
 * honoured where the shadows can be stale: the entries derived from pages
 * the guest wrote since their first write exit are dropped; then the
 * current space's directory is saved in a pool frame, and the new space's
 * saved directory (if the monitor has one) is copied into the real one.
 * The real CR3 never changes. The TLB is flushed, as the guest's CR3 load
 * would have flushed it.
 */
export function multiPagingWrite(world: World, s: MultiShadowState, previous: VirtualCpu): World {
  const { config, vcpu } = world.vmm;
  let w: Working = { memory: world.machine.memory, state: s, flushTlb: true, tlbPages: [] };
  const modeChanged = ((previous.cr0 ^ vcpu.cr0) & (CR0_PG | 0x10000)) !== 0 || ((previous.cr4 ^ vcpu.cr4) & CR4_PSE) !== 0;
  if (modeChanged) {
    w = flushAll(w, config);
    return finish(world, { ...w, state: { ...w.state, active: spaceKey(vcpu), spaces: [{ key: spaceKey(vcpu), saved: null }] } });
  }
  for (const f of unsynced(w.state)) w = dropDerived(w, config, f);
  w = { ...w, state: withUnsynced(w.state, new Set()) };
  const next = spaceKey(vcpu);
  if (next === w.state.active) return finish(world, w);
  // Save the active directory.
  const old = w.state.spaces.find((sp) => sp.key === w.state.active);
  let saved = old?.saved ?? null;
  if (saved === null) {
    const a = allocate(w, config);
    if (a === null) {
      w = flushAll(w, config);
      return finish(world, { ...w, state: { ...w.state, active: next, spaces: [{ key: next, saved: null }] } });
    }
    w = a.w;
    saved = a.frame;
  }
  const slots = guestSlots(config) * 4;
  w = { ...w, memory: writeBytes(w.memory, saved, readBytes(w.memory, realDirectory(config), slots)) };
  const spaces = w.state.spaces.filter((sp) => sp.key !== w.state.active && sp.key !== next);
  spaces.push({ key: w.state.active, saved });
  const target = w.state.spaces.find((sp) => sp.key === next);
  const incoming = target?.saved ?? null;
  w = {
    ...w,
    memory: writeBytes(w.memory, realDirectory(config), incoming === null ? new Uint8Array(slots) : readBytes(w.memory, incoming, slots)),
  };
  spaces.push({ key: next, saved: incoming });
  return finish(world, { ...w, state: { ...w.state, spaces, active: next } });
}

/** [MEM.MULTI.7] A guest INVLPG drops the one entry of the active space and its TLB entry. */
export function multiInvlpg(world: World, s: MultiShadowState, linear: number): World {
  const { config } = world.vmm;
  if (linear >>> 0 >= config.vmmBase) return world;
  const pde = readPhysical(world.machine.memory, realDirectory(config) + 4 * (linear >>> 22), 4);
  if ((pde & PTE_PRESENT) === 0) return { ...world, machine: { ...world.machine, tlb: tlbInvalidate(world.machine.tlb, linear) } };
  const memory = writePhysical(world.machine.memory, (pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2), 4, 0);
  return { machine: { ...world.machine, memory, tlb: tlbInvalidate(world.machine.tlb, linear) }, vmm: { ...world.vmm, memory: s } };
}
