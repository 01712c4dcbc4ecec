// [VMM.EQ] The teaching kernel with a randomly generated ring-3 program
// (properties/vmm/teach-random.ts) as two of its four processes: the native
// build on the bare model and the meso build under the monitor show the same
// console and the same per-process state at every system call. And the
// property can fail: under a known-broken monitor it finds a counterexample.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyParams } from '../../properties/seed';
import { MUTANTS } from '../../properties/vmm/mutants';
import { teachRandomProperty } from '../../properties/vmm/teach-random';

const RUNS = 30;

describe('[VMM.EQ] random user programs under the teaching kernel: native and meso are equivalent', () => {
  it(`[VMM.EQ] ${RUNS} random user programs: same console and same per-process state at every system call`, () => {
    fc.assert(teachRandomProperty(), propertyParams(RUNS));
  }, 180_000);

  for (const name of ['virtual IF lost on STI', 'CR2 not virtualized on a reflected #PF']) {
    it(`[VMM.EQ] the property finds a counterexample with the mutant "${name}"`, () => {
      const mutant = MUTANTS.find((m) => m.name === name)!;
      const result = fc.check(teachRandomProperty(mutant.rules), propertyParams(RUNS, { endOnFailure: true }));
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(/differs/);
    }, 180_000);
  }
});
