// The lock step's quick comparison (statesAgree) against the field-by-field
// walk that lists differences (stateDifferences): every field of a state,
// changed alone, must be noticed by both; an undefined EFLAGS bit by neither.
// A field added to CommonState and forgotten in statesAgree fails here. The
// same for impl's own comparison (ImplMachine.agrees), which lock step uses
// in place of building impl's state after every step.
import { describe, expect, it } from 'vitest';
import type { CommonState } from '../model/machine';
import { initialState, toCommon } from '../model/cpu/state';
import { memoryDifferences, stateDifferences, statesAgree } from '../properties/diff/lockstep';
import { createModelMachine } from '../properties/machines/model';
import { createImplMachine } from '../properties/machines/impl';

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

describe('[DIFF.STATE.1] ImplMachine.agrees is statesAgree(state, impl.state(), mask)', () => {
  const paths = leaves(sample);
  const impl = createImplMachine(1 << 20);

  it('agrees with the state it was given', () => {
    impl.setState(sample);
    expect(statesAgree(sample, impl.state(), 0)).toBe(true);
    expect(impl.agrees(sample, 0)).toBe(true);
  });

  it('notices each field changed alone', () => {
    for (const path of paths) {
      impl.setState(changed(sample, path) as CommonState);
      expect(statesAgree(sample, impl.state(), 0), path.join('.')).toBe(false);
      expect(impl.agrees(sample, 0), path.join('.')).toBe(false);
    }
  });

  it('leaves out the undefined EFLAGS bits, and only those; a state without MSRs or debug registers differs', () => {
    impl.setState({ ...sample, eflags: sample.eflags ^ 0x10 });
    expect(impl.agrees(sample, 0x10)).toBe(true);
    expect(impl.agrees(sample, 0x01)).toBe(false);
    impl.setState(sample);
    const { msrs: _m, ...noMsrs } = sample;
    const { debug: _d, ...noDebug } = sample;
    expect(impl.agrees(noMsrs, 0)).toBe(false);
    expect(impl.agrees(noDebug, 0)).toBe(false);
  });
});

// impl compared page by page over the model's written pages and its own
// (recorded: Machine.writtenPages), or, not recording, over the model's
// written pages and a scan of the rest for zeros.
for (const recordWrites of [false, true]) describe(`[DIFF.MEMORY.1] memoryDifferences: one line per differing page, at its first differing byte (impl ${recordWrites ? 'recording its written pages' : 'scanned for zeros'})`, () => {
  const pair = () => {
    const model = createModelMachine(0x10000), impl = createImplMachine(0x10000, { recordWrites });
    for (const m of [model, impl]) m.writePhysical(0x2000, Uint8Array.of(1, 2, 3));
    return { model, impl };
  };
  it('equal memories: none', () => {
    const { model, impl } = pair();
    expect(memoryDifferences(model, impl, 0, 0x10000)).toEqual([]);
  });
  it('a byte only impl wrote, in a page the model never wrote, and one in a page both wrote', () => {
    const { model, impl } = pair();
    impl.writePhysical(0x5123, Uint8Array.of(7));
    impl.writePhysical(0x5200, Uint8Array.of(8));
    impl.writePhysical(0x7fff, Uint8Array.of(6));
    impl.writePhysical(0x2001, Uint8Array.of(9));
    expect(memoryDifferences(model, impl, 0, 0x10000)).toEqual(['memory 0x2001: model 0x2 impl 0x9', 'memory 0x5123: model 0x0 impl 0x7', 'memory 0x7fff: model 0x0 impl 0x6']);
  });
  it('bytes only impl wrote far into a long run of pages the model never wrote (checked for zeros in chunks)', () => {
    const model = createModelMachine(0x110000), impl = createImplMachine(0x110000, { recordWrites });
    for (const m of [model, impl]) m.writePhysical(0x2000, Uint8Array.of(1));
    for (const at of [0x4000, 0x7fff, 0x8000, 0x6c000, 0x10ffff]) {
      impl.writePhysical(at, Uint8Array.of(3));
      expect(memoryDifferences(model, impl, 0, 0x110000), `0x${at.toString(16)}`).toEqual([`memory 0x${at.toString(16)}: model 0x0 impl 0x3`]);
      impl.writePhysical(at, Uint8Array.of(0));
    }
    expect(memoryDifferences(model, impl, 0, 0x110000)).toEqual([]);
  });
  it('a byte only the model wrote', () => {
    const { model, impl } = pair();
    model.writePhysical(0xfffe, Uint8Array.of(5));
    expect(memoryDifferences(model, impl, 0, 0x10000)).toEqual(['memory 0xfffe: model 0x5 impl 0x0']);
  });
  it('only pages in the range compared', () => {
    const { model, impl } = pair();
    impl.writePhysical(0x5123, Uint8Array.of(7));
    model.writePhysical(0x0010, Uint8Array.of(5));
    expect(memoryDifferences(model, impl, 0x1000, 0x5000)).toEqual([]);
    impl.writePhysical(0x4fff, Uint8Array.of(7));
    expect(memoryDifferences(model, impl, 0x1000, 0x5000)).toEqual(['memory 0x4fff: model 0x0 impl 0x7']);
  });
});
