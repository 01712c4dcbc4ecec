// The conformance transcripts compare our machines with Bochs and QEMU, so a
// line must not print anything the manual leaves undefined: that would
// demand Bochs's (or QEMU's) free choice. Checked by running every kernel on
// the model twice more, once with every undefined flag set after each step
// and once with every one cleared (and registers holding an undefined
// result set to all ones or zeros): the transcripts must not change.
// Ids: [INS.RESULT.1] [DIFF.CASE.2]
import { describe, expect, it } from 'vitest';
import type { Machine } from '../model/machine';
import { KERNELS, buildKernel } from '../properties/conformance/kernels';
import { runOnMachine } from '../properties/conformance/machines';
import { createModelMachine, type ModelMachine } from '../properties/machines/model';

const MEMORY = 64 * 1024 * 1024;

/** The model, but after every step each undefined flag and register takes
 * the value `ones ? 1 : 0` in every bit: another processor's free choice. */
function choosing(ones: boolean): Machine {
  const model: ModelMachine = createModelMachine(MEMORY);
  return {
    ...model,
    step() {
      const event = model.step();
      const s = model.modelState();
      if (s.undefinedFlags === 0 && s.undefinedRegisters === 0) return event;
      const eflags = ones ? (s.eflags | s.undefinedFlags) >>> 0 : (s.eflags & ~s.undefinedFlags) >>> 0;
      const regs = s.regs.map((r, i) => (s.undefinedRegisters & (1 << i) ? (ones ? 0xffffffff : 0) : r));
      model.setModelState({ ...s, eflags, regs });
      return event;
    },
  };
}

describe('conformance transcripts print nothing the manual leaves undefined', () => {
  it.each(KERNELS.map((k) => [k] as const))('%s: the same with undefined parts all ones and all zeros', (kernel) => {
    const image = buildKernel(kernel);
    const plain = runOnMachine(image, createModelMachine(MEMORY));
    expect(runOnMachine(image, choosing(true))).toEqual(plain);
    expect(runOnMachine(image, choosing(false))).toEqual(plain);
  });
});
