// Every mutant of impl (impl/mutants.ts) must be caught by the differential
// checks: lock-step runs of the system scenarios (test/impl/scenarios.ts) and
// of random DIFF cases against the model, or, for a mutant of the block
// compiler (which lock-step runs never use), the random hot loops of
// block-loops.ts run by blocks against the interpreter (some started with
// TF set, which no block may run). A mutant of the record of written frames
// (which changes no run, only what a campaign's comparison of memory reads)
// is killed by the programs of written-frames.ts, one per writer of RAM,
// whose recorded frames must be the frames they changed. A mutant counts as
// killed when some run disagrees; the unmutated impl agrees on all of them.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { oracleAvailable } from '../../properties/tools';
import { propertyParams } from '../../properties/seed';
import { createModelMachine } from '../../properties/machines/model';
import { ImplMachine } from '../../impl/machine';
import { MUTANTS, mutation, type MutantId } from '../../impl/mutants';
import { dropSpareCodeSlots } from '../../impl/cpu';
import { lockstep, memoryDifferences } from '../../properties/diff/lockstep';
import { arbDiffCase } from '../../properties/diff/states';
import { runDiffCase } from '../../properties/diff/property';
import { assemble, bareMachineOn } from './harness';
import { SCENARIOS } from './scenarios';
import { EDGE_CASES, caseArb, compareLoop, trapCaseArb } from './block-loops';
import { RECORDING_MUTANTS, unrecordedWritePaths } from './written-frames';

const haveNasm = oracleAvailable('nasm');
const programs = haveNasm ? SCENARIOS.map((s) => ({ ...s, code: assemble(s.source) })) : [];

/** Names of the scenarios on which model and impl disagree. */
function disagreeingScenarios(): string[] {
  return programs.filter((s) => {
    const model = bareMachineOn(createModelMachine(4 << 20), s.code, s.setup);
    const impl = bareMachineOn(new ImplMachine(4 << 20), s.code, s.setup);
    s.prepare?.(model); s.prepare?.(impl);
    const run = lockstep(model, impl, 200);
    return run.divergence !== null || memoryDifferences(model, impl, 0, 0x110000).length > 0;
  }).map((s) => s.name);
}

function blockLoopsKill(): boolean {
  const cases = [...EDGE_CASES, ...fc.sample(caseArb, { ...propertyParams(300), numRuns: 300 })];
  // A mutant that makes run() throw (a typed-array access out of bounds) is caught too.
  return cases.some((c) => { try { return compareLoop(c).difference !== null; } catch { return true; } });
}

/** Loops started with TF set: a block must not run them (run() against step()). */
function trapLoopsKill(): boolean {
  const cases = fc.sample(trapCaseArb, { ...propertyParams(12), numRuns: 12 });
  return cases.some((c) => compareLoop(c).difference !== null);
}

function randomDiffKills(): boolean {
  const cases = fc.sample(arbDiffCase, { ...propertyParams(150), numRuns: 150 });
  return cases.some((c) => runDiffCase(c).failure !== null);
}

describe.runIf(haveNasm)('mutants of impl are killed by the differential checks', () => {
  // (recycled-code-slots-kept leaves full arrays in the pool: dropped, so that no later mutant is killed by them.)
  afterEach(() => { mutation.active = null; dropSpareCodeSlots(); });

  it('the unmutated impl agrees with the model on every scenario, and records the frames each writer changes', () => {
    expect(disagreeingScenarios()).toEqual([]);
    expect(unrecordedWritePaths()).toEqual([]);
  });

  for (const id of Object.keys(MUTANTS) as MutantId[]) {
    it(`kills ${id}: ${MUTANTS[id]}`, () => {
      mutation.active = id;
      const killedBy = disagreeingScenarios();
      const killed = killedBy.length > 0 || (RECORDING_MUTANTS.includes(id) && unrecordedWritePaths().length > 0) || trapLoopsKill() || randomDiffKills() || blockLoopsKill();
      expect(killed).toBe(true);
    });
  }
});
