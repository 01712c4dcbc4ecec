// [VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] over random hostile ring-1 guests,
// checked after every step; and each monitor mutant is caught.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyParams } from '../../properties/seed';
import { bootGuest } from '../../model/vmm/boot';
import { runWorld } from '../../model/vmm/run';
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import { DEFAULT_CONFIG } from '../../model/vmm/config';
import { checkStep, type Violation } from '../../properties/vmm/invariants';
import { hostileGuest, hostileImage, type HostileGuest } from '../../properties/vmm/hostile';
import { MUTANTS } from '../../properties/vmm/mutants';

const STEPS = 400;

/** Run a hostile guest under the monitor; the first violated invariant, or null. */
function firstViolation(guest: HostileGuest, rules: VmmRules): Violation | null {
  const boot = bootGuest(hostileImage(guest), DEFAULT_CONFIG, rules);
  if (boot.kind !== 'ok') throw new Error(boot.message);
  let found: Violation | null = null;
  const initial = boot.world;
  runWorld(initial, STEPS, (before, after, step) => {
    if (found === null) found = checkStep(initial, before, after, step);
  });
  return found;
}

const invariantsHold = (rules: VmmRules) => fc.property(hostileGuest, (guest) => {
  const v = firstViolation(guest, rules);
  if (v !== null) throw new Error(`[${v.rule}] ${v.message}`);
});

describe('the monitor keeps hostile guests in their place', () => {
  it('[VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] hold on every step of random ring-1 guests (default rules)', () => {
    fc.assert(invariantsHold(defaultRules), propertyParams(60));
  });

  // The VMM.EQ mutants are killed by the equivalence property (test/vmm/mutants.test.ts).
  for (const mutant of MUTANTS.filter((m) => m.killedBy !== 'VMM.EQ')) {
    it(`the property kills the mutant "${mutant.name}" through [${mutant.killedBy}]`, () => {
      const r = fc.check(invariantsHold(mutant.rules), propertyParams(200));
      expect(r.failed).toBe(true);
      expect(String(r.errorInstance)).toContain(mutant.killedBy);
    });
  }
});
