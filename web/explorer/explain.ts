// The rule ids that explain a step, as the model reports them: the rule of a
// fault (StepEvent.rule on an exception) and the VMM rule of a monitor exit
// (on the world step). Each id is linked to its paragraph in the spec pages.
import type { Transition } from './session';

export interface RuleUse {
  readonly id: string;
  readonly note?: string;
}

const ruleOf = (x: unknown): string | undefined => {
  const r = (x as { rule?: unknown } | null | undefined)?.rule;
  return typeof r === 'string' && r !== '' ? r : undefined;
};

/** The rules a step's outcome names, without duplicates, in the order named. */
export function stepRules(t: Transition | null): RuleUse[] {
  if (t === null) return [];
  const out: RuleUse[] = [];
  const add = (id: string | undefined, note: string): void => {
    if (id !== undefined && !out.some((u) => u.id === id)) out.push({ id, note });
  };
  add(ruleOf(t.event), t.event?.kind === 'exception' ? 'raised the exception' : 'decided the event');
  add(ruleOf(t.world), 'the monitor handled the exit');
  return out;
}
