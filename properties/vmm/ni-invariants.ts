// The VMM invariants checked on a step of one of several guests, in any
// memory mode: the single-guest checkers of invariants.ts for the guest
// that stepped, the other guests' frames untouched by it, and, for a guest
// in direct mode, VMM.RES in the form that mode gives it (MEM.RES.1).
import { readPhysical } from '../../model/cpu/memory';
import { CR4_PSE, PDE_LARGE, PTE_PRESENT, PTE_WRITABLE } from '../../model/cpu/paging';
import { Frame, frameMachine, inPartition, type VmmConfig } from '../../model/vmm/config';
import { checkIsolation, checkResources, checkRing, checkSegments, type Violation } from './invariants';
import type { World } from '../../model/vmm/state';
import type { GuestsStep, GuestsWorld } from '../../model/vmm/guests/world';
import { guestWorld } from '../../model/vmm/guests/world';

/**
 * [MEM.RES.1] Direct mode's VMM.RES: the real CR0, GDTR, IDTR and TR keep
 * their boot values; the real CR3 is the monitor's directory or a guest
 * directory inside the partition; every present entry below the VMM base
 * maps partition frames; the VMM slot holds the monitor's entry; and no
 * entry lets the guest write a page-table page.
 */
export function checkDirectResources(boot: World, world: World): Violation | null {
  const a = boot.machine, b = world.machine, cfg = world.vmm.config;
  const same = a.cr0 === b.cr0 && a.gdtr.base === b.gdtr.base && a.gdtr.limit === b.gdtr.limit && a.idtr.base === b.idtr.base && a.tr.base === b.tr.base;
  if (!same) return { rule: 'VMM.RES', message: 'a real control or table register changed' };
  if (b.cr3 === frameMachine(cfg, Frame.shadowDirectory)) return checkResources({ ...boot, machine: { ...a, cr4: b.cr4 } }, world, true);
  const dir = b.cr3 & 0xfffff000;
  if (!inPartition(cfg, dir, 4096)) return { rule: 'VMM.RES', message: `real CR3 0x${dir.toString(16)} is outside the partition` };
  return scanDirect(world, cfg, dir);
}

function scanDirect(world: World, cfg: VmmConfig, dir: number): Violation | null {
  const m = world.machine.memory;
  const tables = new Set([dir]);
  const writable: Array<[number, number, boolean]> = [];
  const vmmSlot = cfg.vmmBase >>> 22;
  for (let i = 0; i < 1024; i++) {
    const pde = readPhysical(m, dir + 4 * i, 4);
    if ((pde & PTE_PRESENT) === 0) continue;
    if (i >= vmmSlot) {
      if (i === vmmSlot && (pde & 0xfffff000) === frameMachine(cfg, Frame.monitorTable) && (pde & 4) === 0) continue;
      return { rule: 'VMM.RES', message: `directory entry ${i} maps the VMM region` };
    }
    if ((world.machine.cr4 & CR4_PSE) !== 0 && (pde & PDE_LARGE) !== 0) {
      if (!inPartition(cfg, pde & 0xffc00000, 0x400000)) return { rule: 'VMM.RES', message: `4 MiB entry ${i} maps outside the partition` };
      if (pde & PTE_WRITABLE) writable.push([pde & 0xffc00000, 0x400000, true]);
      continue;
    }
    const table = pde & 0xfffff000;
    if (!inPartition(cfg, table, 4096)) return { rule: 'VMM.RES', message: `page table of slot ${i} is outside the partition` };
    tables.add(table);
    for (let j = 0; j < 1024; j++) {
      const pte = readPhysical(m, table + 4 * j, 4);
      if ((pte & PTE_PRESENT) === 0) continue;
      if (!inPartition(cfg, pte & 0xfffff000, 4096)) return { rule: 'VMM.RES', message: `entry for 0x${(((i << 22) | (j << 12)) >>> 0).toString(16)} maps machine 0x${(pte >>> 0).toString(16)}, outside the partition` };
      if (pde & pte & PTE_WRITABLE) writable.push([pte & 0xfffff000, 4096, false]);
    }
  }
  for (const [frame, size] of writable) {
    for (const t of tables) if (t >= frame && t < frame + size) return { rule: 'VMM.RES', message: `page-table page 0x${t.toString(16)} is mapped writable` };
  }
  return null;
}

/** Every invariant after one step of guest `s.guest`, in the mode of that guest. */
export function checkModeStep(boot: World, s: GuestsStep, after: GuestsWorld): Violation | null {
  const exit = s.step.kind === 'exit';
  const w = s.after;
  const direct = w.vmm.memory?.kind === 'direct';
  const own = checkRing(w) ?? checkSegments(w, exit) ?? checkIsolation(s.before, w, s.step)
    ?? (direct ? (exit || s.step.kind === 'monitor' ? checkDirectResources(boot, w) : null) : checkResources(boot, w, exit));
  if (own !== null) return own;
  // [VMM.NI] [MEM.GUESTS.1] A guest step leaves every other guest's monitor frames as they were.
  if (s.step.kind !== 'guest') return null;
  for (let i = 0; i < after.guests.length; i++) {
    if (i === s.guest) continue;
    const other = guestWorld(after, i);
    const v = checkIsolation({ ...s.before, vmm: other.vmm }, { ...w, vmm: other.vmm }, s.step);
    if (v !== null) return { rule: 'VMM.ISO', message: `guest ${s.guest} changed guest ${i}'s monitor frames: ${v.message}` };
  }
  return null;
}
