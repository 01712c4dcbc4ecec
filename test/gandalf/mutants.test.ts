// Every mutant of gandalf is caught by the property named for it in
// properties/gandalf/mutants.ts, in the default run over the default guests
// (which stops at the first guest that fails).
import { describe, expect, it } from 'vitest';
import { GANDALF_MUTANTS } from '../../properties/gandalf/mutants';
import { runGandalfInvariants, runGandalfParaRefinement, runGandalfRefinement } from '../../properties/gandalf/property';

describe('[VMM.REFINE] [GANDALF.MUTANT.1] each mutant of gandalf is killed', () => {
  it.each(GANDALF_MUTANTS.filter((m) => m.worlds !== true).map((m) => [m.name, m] as const))('%s', (_name, m) => {
    const defines = { [m.define]: '' };
    const failure = m.para === true ? runGandalfParaRefinement(defines, m.mode)
      : m.killedBy === 'VMM.REFINE' ? runGandalfRefinement(defines, m.mode) : runGandalfInvariants(defines, m.mode);
    expect(failure, `${m.name} survived`).not.toBeNull();
    expect(failure!.rule).toBe(m.killedBy);
  }, 120_000);
});
