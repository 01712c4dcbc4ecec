// The memory modes with impl as the processor (properties/vmm/impl-host.ts):
// the teaching kernel and random paged guests end the same way, print the
// same and exit the monitor for the same reasons as on the model.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyParams } from '../../properties/seed';
import { runOnImpl } from '../../properties/vmm/impl-host';
import { bootInMode, configFor } from '../../model/vmm/memory/boot';
import { MEMORY_MODES, type MemoryModeName } from '../../model/vmm/memory/types';
import { runWorld } from '../../model/vmm/run';
import { defaultRules } from '../../model/vmm/rules';
import { teachMesoImage } from '../../bench/memory-modes';
import { pagedImage, pagedProgram } from '../../properties/vmm/memory-guests';

function both(image: Uint8Array, mode: MemoryModeName, steps: number) {
  const boot = () => { const b = bootInMode(image, mode); if (b.kind !== 'ok') throw new Error(b.message); return b.world; };
  const model = runWorld(boot(), steps);
  const impl = runOnImpl(image, steps, defaultRules, configFor(mode), boot());
  return { model, impl };
}

describe('[MEM.MODE.1] [MEM.MODE.2] [MEM.MODE.3] memory modes on impl', () => {
  const teach = teachMesoImage();
  for (const mode of MEMORY_MODES) {
    it(`${mode}: the teaching kernel prints the same and exits for the same reasons on model and impl`, () => {
      const { model, impl } = both(teach, mode, 3_000_000);
      expect(impl.end).toBe('exit 1');
      expect(impl.console).toBe(model.console);
      expect(impl.vmm.exits).toEqual(model.world.vmm.exits);
    }, 120_000);
    it(`${mode}: 30 random paged guests, same transcript and exits on model and impl`, () => {
      fc.assert(fc.property(pagedProgram, (ops) => {
        const { model, impl } = both(pagedImage(ops), mode, 20_000);
        expect(impl.console).toBe(model.console);
        expect(impl.end).toBe(model.end);
        expect(impl.vmm.exits).toEqual(model.world.vmm.exits);
      }), propertyParams(30));
    }, 120_000);
  }
});
