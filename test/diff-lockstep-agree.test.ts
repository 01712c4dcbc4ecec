// The lock step's quick comparison (statesAgree) against the field-by-field
// walk that lists differences (stateDifferences): every field of a state,
// changed alone, must be noticed by both; an undefined EFLAGS bit by neither.
// A field added to CommonState and forgotten in statesAgree fails here.
import { describe, expect, it } from 'vitest';
import type { CommonState } from '../model/machine';
import { initialState, toCommon } from '../model/cpu/state';
import { stateDifferences, statesAgree } from '../properties/diff/lockstep';

type Leaf = readonly string[];

/** Every path to a number or boolean in a state. */
function leaves(value: unknown, path: Leaf = []): Leaf[] {
  if (typeof value === 'object' && value !== null) return Object.keys(value).flatMap((k) => leaves((value as Record<string, unknown>)[k], [...path, k]));
  return [path];
}

/** A deep copy of `state` with the leaf at `path` changed. */
function changed(state: unknown, path: Leaf): unknown {
  if (path.length === 0) return typeof state === 'boolean' ? !state : ((state as number) ^ 0x10) >>> 0;
  const [head, ...rest] = path;
  return { ...(state as Record<string, unknown>), [head!]: changed((state as Record<string, unknown>)[head!], rest) };
}

const sample: CommonState = { ...toCommon(initialState(1 << 20)), eip: 0x1234, cr3: 0x5000 };

describe('[DIFF.STATE.1] statesAgree is stateDifferences(...).length === 0', () => {
  const paths = leaves(sample);

  it('covers every field of a state (regs, segments, tables, MSRs, debug registers …)', () => {
    expect(paths.length).toBeGreaterThan(60);
    expect(statesAgree(sample, structuredClone(sample), 0)).toBe(true);
  });

  it('notices each field changed alone, as the walk does', () => {
    for (const path of paths) {
      const other = changed(sample, path) as CommonState;
      expect(stateDifferences(sample, other, 0).length, path.join('.')).toBeGreaterThan(0);
      expect(statesAgree(sample, other, 0), path.join('.')).toBe(false);
    }
  });

  it('leaves out the undefined EFLAGS bits, and only those', () => {
    const other = { ...sample, eflags: sample.eflags ^ 0x10 };
    expect(statesAgree(sample, other, 0x10)).toBe(true);
    expect(statesAgree(sample, other, 0x01)).toBe(false);
  });

  it('a state without MSRs or debug registers differs from one with them', () => {
    const { msrs: _m, ...noMsrs } = sample;
    const { debug: _d, ...noDebug } = sample;
    expect(statesAgree(sample, noMsrs, 0)).toBe(false);
    expect(statesAgree(sample, noDebug, 0)).toBe(false);
  });
});
