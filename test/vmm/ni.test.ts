// [VMM.NI] Non-interference over random hostile first guests, in every
// memory mode, and the invariants (VMM.ISO/SEG/RING/RES) on every step of
// both guests; then the mutants of several guests, each killed.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyParams } from '../../properties/seed';
import { GUESTS_MUTANTS, invariantsBesideHostile, nonInterference, observeVictim } from '../../properties/vmm/ni';
import { MEMORY_MUTANTS } from '../../properties/vmm/memory-mutants';
import { MEMORY_MODES } from '../../model/vmm/memory/types';
import { hostilePagedGuest } from '../../properties/vmm/ni-guests';

const RUNS = 12;

describe('[VMM.NI] [MEM.NI.1] the RTOS beside a hostile guest behaves the same whatever that guest does', () => {
  for (const mode of MEMORY_MODES) {
    it(`${mode}: ${RUNS} pairs of hostile guests`, () => {
      fc.assert(nonInterference({ mode }), propertyParams(RUNS));
    }, 300_000);
  }
  it('the observed guest does run: it prints its whole transcript and ends through the exit port', () => {
    const [a] = fc.sample(hostilePagedGuest, { seed: 1, numRuns: 1 });
    const o = observeVictim(a!, { mode: 'shadow-single' });
    expect(o.end).toBe('exit 1');
    expect(o.console).toContain('[rtos] task C run 3 at tick 15\n[rtos] done\n');
  });
});

describe('[VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] [MEM.RES.1] [MEM.GUESTS.1] invariants on every step of two guests', () => {
  for (const mode of MEMORY_MODES) {
    it(`${mode}: ${RUNS} hostile guests beside the RTOS`, () => {
      fc.assert(invariantsBesideHostile({ mode }), propertyParams(RUNS));
    }, 300_000);
  }
});

describe('mutants of several guests and of direct paging are killed by the default run', () => {
  for (const m of GUESTS_MUTANTS) {
    it(`kills "${m.name}" through [${m.killedBy}]`, () => {
      const o = { mode: m.mode, rules: m.rules, modeRules: m.modeRules };
      // No shrinking: the test needs the failure, not the smallest counterexample.
      const params = { ...propertyParams(RUNS * 2), endOnFailure: true };
      const r = m.killedBy === 'VMM.NI' ? fc.check(nonInterference(o), params) : fc.check(invariantsBesideHostile(o), params);
      expect(r.failed).toBe(true);
      expect(String(r.errorInstance)).toContain(`[${m.killedBy}]`);
    }, 300_000);
  }
  it('every memory mutant is listed with a killing property', () => {
    expect(MEMORY_MUTANTS.map((m) => m.killedBy).sort()).toEqual(['VMM.EQ', 'VMM.RES']);
  });
});
