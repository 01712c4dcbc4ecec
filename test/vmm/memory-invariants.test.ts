// [VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] [MEM.RES.1] The monitor's
// invariants in every memory mode with one guest: the random hostile guests
// of hostile.ts (ring 1 and 3, timer interrupts) and the hostile paged
// guests of ni-guests.ts, each run alone, checked on every step.
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { propertyParams } from '../../properties/seed';
import { hostileGuest, hostileImage } from '../../properties/vmm/hostile';
import { hostilePagedGuest, hostilePagedImage } from '../../properties/vmm/ni-guests';
import { checkModeStep } from '../../properties/vmm/ni-invariants';
import { bootGuests, guestWorld, runGuests } from '../../model/vmm/guests/world';
import { MEMORY_MODES, type MemoryModeName } from '../../model/vmm/memory/types';

function checkAlone(image: Uint8Array, mode: MemoryModeName, steps: number): void {
  const b = bootGuests([{ name: 'hostile', image }], mode);
  if (b.kind !== 'ok') throw new Error(b.message);
  const boot = guestWorld(b.world, 0);
  runGuests(b.world, steps, (s, w) => {
    const v = checkModeStep(boot, s, w);
    if (v !== null) throw new Error(`[${v.rule}] ${mode}: ${v.message}`);
  });
}

describe('invariants in every memory mode, one guest', () => {
  for (const mode of MEMORY_MODES) {
    it(`${mode}: 40 hostile guests (hostile.ts)`, () => {
      fc.assert(fc.property(hostileGuest, (g) => checkAlone(hostileImage(g), mode, 600)), propertyParams(40));
    }, 120_000);
    it(`${mode}: 20 hostile paged guests (ni-guests.ts)`, () => {
      fc.assert(fc.property(hostilePagedGuest, (g) => checkAlone(hostilePagedImage(g), mode, 1500)), propertyParams(20));
    }, 120_000);
  }
});
