// Running a replay file again: decode it, run its scenario on the same pair
// of machines, and say whether they still disagree.
import { readFileSync } from 'node:fs';
import { runScenario } from '../diff/scenario';
import { parseReplay, type Replay } from './format';
import { describeReplay } from './report';

export interface ReplayRun {
  readonly replay: Replay;
  /** True when the machines still disagree. */
  readonly differs: boolean;
  readonly report: string;
}

export function loadReplay(file: string): Replay {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read the replay file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseReplay(text, file);
}

export function rerunReplay(replay: Replay, file: string): ReplayRun {
  const outcome = runScenario(replay.scenario, replay.machines);
  if (outcome.failure === null) {
    const note = outcome.known !== null ? ` (stops on the known discrepancy '${outcome.known}')` : '';
    return {
      replay, differs: false,
      report: `${file}: ${replay.machines[0]} and ${replay.machines[1]} now agree over ${outcome.steps} steps${note}`,
    };
  }
  return { replay, differs: true, report: describeReplay({ ...replay, failure: outcome.failure }, file) };
}
