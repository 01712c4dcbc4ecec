// Campaign failures are shrunk before they are written: instructions are
// dropped and the random tables made plain while the case still fails, so
// the replay shows the smallest case the shrinker can find. Checked with an
// impl mutant (the #PF error code loses its U/S bit) making real failures.
import { afterEach, describe, expect, it } from 'vitest';
import { campaignCase, shrinkCase } from '../properties/diff/campaign';
import { runScenario, scenarioOfCase } from '../properties/diff/scenario';
import type { DiffCase } from '../properties/diff/states';
import { mutation } from '../impl/mutants';

const fails = (c: DiffCase): boolean => runScenario(scenarioOfCase(c)).failure !== null;
const size = (c: DiffCase): number => c.program.length + c.tables.idt.length + c.tables.selectors.length + (c.tables.ldtLoaded ? 1 : 0)
  + [...c.tables.gdt, ...c.tables.ldt].filter((d) => d[0] !== 0 || d[1] !== 0).length + c.tables.stack.filter((v) => v !== 0).length;

describe('campaign failures are shrunk', () => {
  afterEach(() => { mutation.active = null; });

  it('a failing case shrinks to a smaller case that still fails, from which no single simplification still fails', () => {
    mutation.active = 'page-fault-without-user-bit';
    let found: DiffCase | null = null;
    for (let k = 0; k < 400 && found === null; k++) if (fails(campaignCase(11, k))) found = campaignCase(11, k);
    expect(found).not.toBeNull();
    const small = shrinkCase(found!, ['model', 'impl']);
    expect(fails(small)).toBe(true);
    expect(size(small)).toBeLessThan(size(found!));
    expect(small.program.length).toBeLessThanOrEqual(found!.program.length);
    // Shrinking again changes nothing: the result is a local minimum.
    expect(shrinkCase(small, ['model', 'impl'])).toEqual(small);
    mutation.active = null;
    expect(fails(small)).toBe(false); // the mutant, not the case, made it fail
  });
});
