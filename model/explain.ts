// Explanations: one step of the model together with the spec rules it
// applied (spec/explain.md). Pure data, for the CLI (`mesovirt run
// --explain`) and the browser explorer. This module and what it imports are
// free of node: modules, so it bundles for the browser.
import type { MachineState } from './cpu/state';
import { step, type StepResult } from './cpu/step';
import { collectRules, type RuleUse } from './cpu/applied';
import type { World } from './vmm/state';
import { stepWorld, type WorldStep } from './vmm/run';

export type { RuleUse } from './cpu/applied';

/** A step and the rules that decided it, in the order they were applied. */
export interface Explanation {
  readonly result: StepResult;
  readonly rules: readonly RuleUse[];
}

/**
 * [EXPLAIN.STEP.1] Run one step of the model and list the rules it applied.
 * The result is the one `step(state)` gives (the same state and event: the
 * list is collected beside the step, never read by it); an exception event
 * carries the id of the rule that raised it, which is also in the list.
 */
export function explainStep(state: MachineState): Explanation {
  const { value, rules } = collectRules(() => step(state));
  return { result: value, rules };
}

/** A world step (the bare machine under the monitor) with its rules. */
export interface WorldExplanation {
  readonly world: World;
  readonly step: WorldStep;
  readonly rules: readonly RuleUse[];
}

/**
 * [EXPLAIN.STEP.2] One step of the world under the monitor with the rules
 * it applied: the processor's (as explainStep), then, for an exit, the VMM
 * rules that handled it (also in `step.handledBy`).
 */
export function explainWorldStep(world: World): WorldExplanation {
  const { value, rules } = collectRules(() => stepWorld(world));
  return { world: value.world, step: value.step, rules };
}
