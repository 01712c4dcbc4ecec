// The rule ids that explain a step, as the model reports them (model/explain.ts):
// the rule that raised a fault (StepEvent.rule), the VMM rules that handled a
// monitor exit (WorldStep.handledBy), and every rule the step applied, in
// order, from explainStep / explainWorldStep. Each id is linked to its
// paragraph in the spec pages.
import { explainStep, explainWorldStep, type RuleUse } from '../../model/explain';
import type { Snapshot, Transition } from './session';

export type { RuleUse } from '../../model/explain';

/** The rules a step's outcome names by itself: the fault's rule and the exit's handlers. */
export function outcomeRules(t: Transition | null): { raisedBy: string | null; handledBy: readonly RuleUse[] } {
  const raisedBy = t?.event?.kind === 'exception' ? (t.event.rule ?? null) : null;
  const handledBy = t?.world?.kind === 'exit' ? t.world.handledBy : [];
  return { raisedBy, handledBy };
}

/** A rule applied `count` times in a row with the same note is listed once. */
export interface AppliedRule extends RuleUse {
  readonly count: number;
}

/** Every rule the step from `before` applied, in order (the step is taken
 * again with a collector: the model is pure, so it is the same step). */
export function appliedRules(before: Snapshot): AppliedRule[] {
  const rules = before.vmm === null
    ? explainStep(before.machine).rules
    : explainWorldStep({ machine: before.machine, vmm: before.vmm }).rules;
  const out: AppliedRule[] = [];
  for (const r of rules) {
    const last = out[out.length - 1];
    if (last !== undefined && last.id === r.id && last.note === r.note) out[out.length - 1] = { ...last, count: last.count + 1 };
    else out.push({ ...r, count: 1 });
  }
  return out;
}
