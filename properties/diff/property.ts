// The differential property: for a random case, two machines (model and
// impl by default) run in lock step and must agree after every step (state
// and event) and on memory at the end. A disagreement that is not a listed
// known discrepancy is shrunk by fast-check, written to a replay file, and
// reported with seed, path, listing and the two differing states.
import fc from 'fast-check';
import { propertyParams } from '../seed';
import { arbDiffCase, type DiffCase } from './states';
import { runScenario, scenarioOfCase, type DiffFailure, type MachinePair, STEPS_PER_CASE } from './scenario';
import { describeReplay, writeReplay } from '../replay/report';

export { STEPS_PER_CASE } from './scenario';

export interface DiffOutcome {
  readonly steps: number;
  readonly failure: DiffFailure | null;
  /** Id of a known discrepancy the run stopped on (not a failure). */
  readonly known: string | null;
}

/** Run one case on both machines. */
export function runDiffCase(c: DiffCase, steps = STEPS_PER_CASE, pair: MachinePair = ['model', 'impl']): DiffOutcome {
  return runScenario(scenarioOfCase(c, steps), pair);
}

export interface PropertyResult {
  readonly cases: number;
  readonly steps: number;
  readonly known: Readonly<Record<string, number>>;
  /** The report of the shrunk counterexample (replay file written), or null. */
  readonly failure: string | null;
  readonly replayPath: string | null;
}

/** Run the DIFF property over `numRuns` cases at the fixed seed. */
export function runDiffProperty(numRuns: number, options: { replayDir?: string; pair?: MachinePair } = {}): PropertyResult {
  const pair = options.pair ?? ['model', 'impl'];
  let steps = 0, cases = 0;
  const known: Record<string, number> = {};
  const details = fc.check(fc.property(arbDiffCase, (c) => {
    const r = runDiffCase(c, STEPS_PER_CASE, pair);
    steps += r.steps;
    cases++;
    if (r.known !== null) known[r.known] = (known[r.known] ?? 0) + 1;
    return r.failure === null;
  }), propertyParams(numRuns, { verbose: 0 }));
  if (!details.failed || details.counterexample === null) return { cases, steps, known, failure: null, replayPath: null };
  const c = details.counterexample[0];
  const scenario = scenarioOfCase(c);
  const outcome = runScenario(scenario, pair);
  if (outcome.failure === null) {
    // The predicate threw rather than returned false: report the error itself.
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    return { cases, steps, known, failure: `the property failed with an error (seed ${details.seed}, path "${details.counterexamplePath}"): ${error}`, replayPath: null };
  }
  const replay = { seed: details.seed, path: details.counterexamplePath, origin: 'property', machines: pair, scenario, failure: outcome.failure };
  const replayPath = writeReplay(replay, options.replayDir);
  return { cases, steps, known, failure: describeReplay(replay, replayPath), replayPath };
}
