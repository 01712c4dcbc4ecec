// Which spec rules a step applied, for explanations (model/explain.ts).
//
// The model's functions are pure and return their results; this module is
// the one place they may also *report* a rule they applied, to a collector
// that exists only while explainStep runs one step. Outside explainStep
// there is no collector and a report costs one comparison with null. The
// model never reads the collector, so what a step computes is the same with
// and without it: the list is an observation of the step, not a part of it.

/** One rule a step applied: its spec id (spec/*.md) and, where it helps, a
 * note saying what it applied to (a selector, an address, the entries of a
 * page walk). */
export interface RuleUse {
  readonly id: string;
  readonly note?: string;
}

let collector: RuleUse[] | null = null;

/** Is a collector listening? Guard any note that costs work to build. */
export const explaining = (): boolean => collector !== null;

/** Report that rule `id` was applied (a no-op outside explainStep). */
export function applied(id: string, note?: string): void {
  if (collector !== null) collector.push(note === undefined ? { id } : { id, note });
}

/** Run `body` with a fresh collector and return what it reported. Nested
 * calls each get their own list; the outer collector is restored even if
 * `body` throws. */
export function collectRules<T>(body: () => T): { readonly value: T; readonly rules: readonly RuleUse[] } {
  const outer = collector;
  const mine: RuleUse[] = [];
  collector = mine;
  try {
    return { value: body(), rules: mine };
  } finally {
    collector = outer;
  }
}

/** 0x-prefixed hexadecimal, for notes. */
export const hexNote = (n: number, digits = 8): string => `0x${(n >>> 0).toString(16).padStart(digits, '0')}`;

const VECTOR_NAMES: readonly string[] = ['DE', 'DB', 'NMI', 'BP', 'OF', 'BR', 'UD', 'NM', 'DF', '9', 'TS', 'NP', 'SS', 'GP', 'PF', '15', 'MF', 'AC'];

/** An exception as the manual writes it: #GP(0x10), #UD, vector 0x80 as INT 0x80's. */
export function eventName(vector: number, errorCode: number | null): string {
  const name = vector < VECTOR_NAMES.length ? `#${VECTOR_NAMES[vector]}` : `vector 0x${vector.toString(16)}`;
  return errorCode === null ? name : `${name}(0x${(errorCode >>> 0).toString(16)})`;
}
