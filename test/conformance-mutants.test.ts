// The conformance suite must fail on a broken model. Two mutants of the
// model machine, each a deliberate bug of the kind the monitor's isolation
// rests on: (1) data segment limits are not enforced (every data segment's
// cached limit is widened to 4 GiB expand-up after each step, as if the
// descriptor's limit were never loaded), (2) IOPL is forced to 3 (as if
// POPF/IRET let any ring raise it). Each must produce differing lines in the
// kernel that checks that rule; the unmutated model produces none.
import { describe, expect, test } from 'vitest';
import type { Machine } from '../model/machine';
import type { SegmentName } from '../model/isa/ast';
import { createModelMachine, type ModelMachine } from '../properties/machines/model';
import { buildKernel, expectedTranscript, type KernelName } from '../properties/conformance/kernels';
import { runOnMachine } from '../properties/conformance/machines';
import { compareTranscript } from '../properties/conformance/compare';
import { loadKnown } from '../properties/conformance/known';

const DATA_SEGMENTS: readonly SegmentName[] = ['ds', 'es', 'fs', 'gs', 'ss'];

/** A model machine with `mutate` applied to its state after every step. */
function mutant(mutate: (m: ModelMachine) => void): Machine {
  const m = createModelMachine(64 * 1024 * 1024);
  return { ...m, step: () => { const e = m.step(); mutate(m); return e; } };
}

const noLimits = mutant((m) => {
  const s = m.modelState();
  if (DATA_SEGMENTS.every((n) => s.segments[n].limit === 0xffffffff)) return;
  const segments = { ...s.segments };
  for (const n of DATA_SEGMENTS) {
    // broken on purpose: the limit is 4 GiB, expand-down ignored
    segments[n] = { ...segments[n], limit: 0xffffffff, attributes: segments[n].attributes & ~0x04 };
  }
  m.setModelState({ ...s, segments });
});

const iopl3 = mutant((m) => {
  const s = m.modelState();
  if ((s.eflags & 0x3000) !== 0x3000) m.setModelState({ ...s, eflags: s.eflags | 0x3000 });
});

function failures(kernel: KernelName, machine: Machine): number {
  const run = runOnMachine(buildKernel(kernel), machine);
  return compareTranscript(kernel, 'model', expectedTranscript(kernel), run.text, loadKnown()).failures.length;
}

describe('the conformance suite kills model mutants', () => {
  test('a model that does not enforce segment limits fails the limits kernel', () => {
    expect(failures('limits', noLimits)).toBeGreaterThan(50);
  }, 120_000);

  test('a model that lets every ring have IOPL 3 fails the io kernel', () => {
    expect(failures('io', iopl3)).toBeGreaterThan(10);
  }, 120_000);
});
