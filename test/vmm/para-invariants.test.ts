// [VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] under the para interface: random
// hostile guests whose instruction streams include hypercalls, booted as para
// guests, checked after every step; the page-table invariants of the
// para interface are checked after every hypercall.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyParams } from '../../properties/seed';
import { runWorld } from '../../model/vmm/run';
import { bootParaGuest } from '../../model/vmm/para/boot';
import type { World } from '../../model/vmm/state';
import { checkStep, type Violation } from '../../properties/vmm/invariants';
import { hostileImage, type HostileGuest } from '../../properties/vmm/hostile';
import { paraHostileGuest } from '../../properties/vmm/para-hostile';
import { tableViolation } from '../../properties/vmm/para';

const STEPS = 400;
const coverage = { hypercalls: 0, refusedFromRing3: 0, mmuApplied: 0, mmuRefused: 0 };

function firstViolation(guest: HostileGuest): Violation | null {
  const boot = bootParaGuest(hostileImage(guest));
  if (boot.kind !== 'ok') throw new Error(boot.message);
  const initial: World = boot.world;
  let found: Violation | null = null;
  const end = runWorld(initial, STEPS, (before, after, step) => {
    if (found !== null) return;
    found = checkStep(initial, before, after, step);
    const calls = (w: World) => Object.entries(w.vmm.exits).filter(([k]) => k.startsWith('hypercall')).reduce((n, [, v]) => n + v, 0);
    if (found === null && calls(after) !== calls(before)) {
      const t = tableViolation(after);
      if (t !== null) found = { rule: 'PARA.MMU', message: t };
    }
  }).world;
  const exits = Object.entries(end.vmm.exits);
  coverage.hypercalls += exits.filter(([k]) => k.startsWith('hypercall')).reduce((n, [, v]) => n + v, 0);
  coverage.refusedFromRing3 += end.vmm.exits['refused hypercall'] ?? 0;
  coverage.mmuApplied += end.vmm.para?.mmuApplied ?? 0;
  coverage.mmuRefused += end.vmm.para?.mmuRefused ?? 0;
  return found;
}

describe('the monitor keeps hostile para guests in their place', () => {
  it('[PARA.EXIT.1] [PARA.CALL.5] [VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] hold on every step of random guests with hypercalls in their streams', () => {
    fc.assert(fc.property(paraHostileGuest, (guest) => {
      const v = firstViolation(guest);
      if (v !== null) throw new Error(`[${v.rule}] ${v.message}`);
    }), propertyParams(80));
    console.log(`para hostile coverage: ${JSON.stringify(coverage)}`);
    // Not hollow: hypercalls ran, some from ring 3 were refused, mmu_update both applied and refused requests.
    expect(coverage.hypercalls).toBeGreaterThan(50);
    expect(coverage.refusedFromRing3).toBeGreaterThan(5);
    expect(coverage.mmuRefused).toBeGreaterThan(5);
    expect(coverage.mmuApplied).toBeGreaterThan(2);
  }, 300_000);
});
