// The one monitor of model/vmm with impl as the processor
// (properties/vmm/impl-host.ts, spec/vmm.md §8): the same guests give the
// same world, step for step in number, exit for exit, byte for byte on the
// console, as with the model as the processor ([VMM.EQ] across machines).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { bootGuest } from '../../model/vmm/boot';
import { runWorld } from '../../model/vmm/run';
import { runOnImpl } from '../../properties/vmm/impl-host';
import { pagedGuest, pagedGuestImage } from '../../properties/vmm/paged-guest';
import { hostileGuest, hostileImage } from '../../properties/vmm/hostile';
import { propertyParams } from '../../properties/seed';
import { assembleFile } from '../../properties/assemble-file';

const TEACH = join(import.meta.dirname, '..', '..', 'guests', 'teach');

function onModel(image: Uint8Array, steps: number) {
  const boot = bootGuest(image);
  if (boot.kind !== 'ok') throw new Error(boot.message);
  return runWorld(boot.world, steps);
}

describe('[VMM.EQ] the monitor on impl behaves as the monitor on the model', () => {
  it('the teaching kernel (meso build): same transcript, same end, same number of steps, same exits by reason', () => {
    const r = assembleFile(join(TEACH, 'teach.asm'), { format: 'bin', defines: { MESO: '' } });
    const model = onModel(r, 2_000_000);
    const impl = runOnImpl(r, 2_000_000);
    expect(impl.end).toBe('exit 1');
    expect(impl.console).toBe(model.console);
    expect(impl.steps).toBe(model.steps);
    expect(impl.vmm.exits).toEqual(model.world.vmm.exits);
    expect(impl.vmm.vcpu).toEqual(model.world.vmm.vcpu);
  }, 120_000);

  it('random paged guests: the same transcript and exits on both processors', () => {
    fc.assert(fc.property(pagedGuest, (guest) => {
      const image = pagedGuestImage(guest, true);
      const model = onModel(image, 100_000);
      const impl = runOnImpl(image, 100_000);
      expect(impl.console).toBe(model.console);
      expect(impl.end).toBe(model.end);
      expect(impl.vmm.exits).toEqual(model.world.vmm.exits);
    }), propertyParams(25));
  }, 300_000);

  it('random hostile guests (ring 1 and 3, timer): the same exits, end and monitor state on both processors', () => {
    fc.assert(fc.property(hostileGuest, (guest) => {
      const image = hostileImage(guest);
      const model = onModel(image, 400);
      const impl = runOnImpl(image, 400);
      expect(impl.end).toBe(model.end);
      expect(impl.vmm.exits).toEqual(model.world.vmm.exits);
      expect(impl.vmm.vcpu).toEqual(model.world.vmm.vcpu);
      expect(impl.vmm.refusals).toEqual(model.world.vmm.refusals);
    }), propertyParams(40));
  }, 300_000);
});
