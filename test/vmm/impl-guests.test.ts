// Several guests under the monitor with impl as the processor
// (properties/vmm/impl-guests.ts) held to the same guests on the model, in
// lock step by count: every guest's console, end, steps, exits, virtual CPU
// and refusals, and the world switches. Impl mutants must break it, and
// [VMM.NI] holds over impl as it does over the model.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { bootGuests, runGuests, type GuestsWorld } from '../../model/vmm/guests/world';
import { MEMORY_MODES, type MemoryModeName } from '../../model/vmm/memory/types';
import { guestsDifference, runGuestsOnImpl } from '../../properties/vmm/impl-guests';
import { GUESTS_MUTANTS, nonInterference, observeVictim, victim } from '../../properties/vmm/ni';
import { hostilePagedGuest, hostilePagedImage } from '../../properties/vmm/ni-guests';
import { mutation, type MutantId } from '../../impl/mutants';
import { propertyParams } from '../../properties/seed';
import { assembleFile } from '../../properties/assemble-file';

const GUESTS = join(import.meta.dirname, '..', '..', 'guests');
function build(file: string, defines: Record<string, string>): Uint8Array {
  return assembleFile(join(GUESTS, file), { format: 'bin', defines });
}

function boot(images: ReadonlyArray<readonly [string, Uint8Array]>, mode: MemoryModeName, quantum?: number): GuestsWorld {
  const b = bootGuests(images.map(([name, image]) => ({ name, image })), mode, { quantum });
  if (b.kind !== 'ok') throw new Error(b.message);
  return b.world;
}

const STEPS = 4_000_000;

describe('[MEM.GUESTS.2] [VMM.EQ] several guests: the monitor on impl behaves as the monitor on the model', () => {
  let teach: Uint8Array, rtos: Uint8Array;
  beforeAll(() => {
    teach = build('teach/teach.asm', { MESO: '' });
    rtos = build('rtos/rtos.asm', { MESO: '' });
  }, 60_000);

  for (const mode of MEMORY_MODES) {
    it(`${mode}: the teaching kernel and the RTOS, the same world step for step in number, exit for exit`, () => {
      const world = boot([['teach', teach], ['rtos', rtos]], mode);
      const model = runGuests(world, STEPS);
      const impl = runGuestsOnImpl(world, STEPS);
      expect(impl.world.guests.map((g) => g.end)).toEqual(['exit 1', 'exit 1']);
      expect(impl.consoles[1]).toContain('[rtos] done\n');
      expect(impl.world.switches).toBeGreaterThan(2);
      expect(guestsDifference(model, impl)).toBeNull();
    }, 120_000);
  }

  it('random hostile guests beside the RTOS (quantum 300): the same on both processors, in every memory mode', () => {
    fc.assert(fc.property(hostilePagedGuest, fc.constantFrom(...MEMORY_MODES), (a, mode) => {
      const world = boot([['hostile', hostilePagedImage(a)], ['rtos', victim()]], mode, 300);
      const model = runGuests(world, 40_000);
      const impl = runGuestsOnImpl(world, 40_000);
      const d = guestsDifference(model, impl);
      if (d !== null) throw new Error(`${mode}: ${d}`);
    }), propertyParams(8));
  }, 300_000);

  // Impl mutants that the two kernels meet; each must show as a difference.
  const killed: readonly MutantId[] = ['iret-outer-keeps-stack', 'write-protect-ignored'];
  for (const id of killed) {
    it(`the comparison catches the impl mutant '${id}'`, () => {
      const world = boot([['teach', teach], ['rtos', rtos]], 'shadow-single');
      const model = runGuests(world, STEPS);
      mutation.active = id;
      try {
        expect(guestsDifference(model, runGuestsOnImpl(world, STEPS))).not.toBeNull();
      } finally {
        mutation.active = null;
      }
    }, 120_000);
  }
});

describe('[VMM.NI] on impl: the RTOS beside a hostile guest behaves the same whatever that guest does', () => {
  it('shadow-single and direct: pairs of hostile guests, the RTOS observed on impl', () => {
    for (const mode of ['shadow-single', 'direct'] as const) fc.assert(nonInterference({ mode, machine: 'impl' }), propertyParams(4));
  }, 300_000);

  it('the observation on impl is the observation on the model (console, end, registers, memory digests)', () => {
    const [a] = fc.sample(hostilePagedGuest, { seed: 3, numRuns: 1 });
    const m = observeVictim(a!, { mode: 'shadow-single' });
    const i = observeVictim(a!, { mode: 'shadow-single', machine: 'impl' });
    expect(i.end).toBe('exit 1');
    expect({ ...i, io: [] }).toEqual({ ...m, io: [] });
  }, 120_000);

  it(`kills "${GUESTS_MUTANTS[0]!.name}" on impl`, () => {
    const m = GUESTS_MUTANTS[0]!;
    const r = fc.check(nonInterference({ mode: m.mode, rules: m.rules, machine: 'impl' }), { ...propertyParams(24), endOnFailure: true });
    expect(r.failed).toBe(true);
    expect(String(r.errorInstance)).toContain('[VMM.NI] shadow-single on impl');
  }, 300_000);
});
