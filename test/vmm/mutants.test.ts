// Every monitor mutant of properties/vmm/mutants.ts is killed by the
// property named for it, in the default property run (fixed seed):
// [VMM.EQ] over random paged guests (native vs under the monitor), and the
// invariants [VMM.SEG] [VMM.RES] over random hostile guests.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyParams } from '../../properties/seed';
import { defaultRules } from '../../model/vmm/rules';
import { pagedEquivalence } from '../../properties/vmm/paged-guest';
import { MUTANTS } from '../../properties/vmm/mutants';

const EQ_RUNS = 60;

describe('[VMM.EQ] random paged guests print the same under the monitor as on the bare machine', () => {
  it('holds with the default rules', () => {
    fc.assert(pagedEquivalence(defaultRules), propertyParams(EQ_RUNS));
  });

  for (const mutant of MUTANTS.filter((m) => m.killedBy === 'VMM.EQ')) {
    it(`kills the mutant "${mutant.name}" through [VMM.EQ]`, () => {
      const r = fc.check(pagedEquivalence(mutant.rules), propertyParams(EQ_RUNS, { endOnFailure: true }));
      expect(r.failed).toBe(true);
      expect(String(r.errorInstance)).toContain('[VMM.EQ]');
    });
  }
});
