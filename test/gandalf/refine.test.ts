// [VMM.REFINE] gandalf and model/vmm are indistinguishable to the guest, and
// gandalf's real state keeps VMM.ISO, VMM.SEG, VMM.RING and VMM.RES, over
// the default guests (properties/gandalf/guests.ts).
import { describe, expect, it } from 'vitest';
import { checkRefinement } from '../../properties/gandalf/refine';
import { auditGandalf } from '../../properties/gandalf/audit';
import { HOSTILE_SEEDS, PAGED_SEEDS, hostileAt, pagedAt, teachMeso } from '../../properties/gandalf/guests';
import { checkRealResources, checkRealTables, worldView } from '../../properties/gandalf/invariants';
import { bootGuest } from '../../model/vmm/boot';
import { stepWorld } from '../../model/vmm/run';
import type { World } from '../../model/vmm/state';
import { toCommon } from '../../model/cpu/state';
import { defaultRules } from '../../model/vmm/rules';
import { DEFAULT_CONFIG } from '../../model/vmm/config';
import { MUTANTS } from '../../properties/vmm/mutants';

describe('[VMM.REFINE] gandalf refines model/vmm at every guest instruction', () => {
  it('the teaching kernel: every unit compared, no divergence, both end through the exit port', () => {
    const r = checkRefinement(teachMeso());
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
    expect(r.guestSteps).toBeGreaterThan(50_000);
    expect(r.exits).toBeGreaterThan(600);
    expect(r.console.endsWith('[kernel] all processes exited\n')).toBe(true);
  }, 60_000);

  it.each(HOSTILE_SEEDS)('hostile guest of seed %i', (seed) => {
    const r = checkRefinement(hostileAt(seed), { maxUnits: 3000 });
    expect(r.divergence).toBeNull();
    expect(r.exits).toBeGreaterThan(3);
  }, 30_000);

  it.each(PAGED_SEEDS)('paged guest of seed %i, to its end', (seed) => {
    const r = checkRefinement(pagedAt(seed), { maxUnits: 20_000 });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
  }, 30_000);

  it('the checker is not blind: a model/vmm mutant run against the correct gandalf diverges', () => {
    const mutant = MUTANTS.find((m) => m.name === 'CR2 not virtualized on a reflected #PF')!;
    const r = checkRefinement(teachMeso(), { rules: mutant.rules, maxUnits: 20_000 });
    expect(r.divergence?.differences.join(' ')).toContain('virtual cr2');
  }, 30_000);
});

describe('[VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] on gandalf\'s real state', () => {
  it('the teaching kernel runs to its end with no violation', () => {
    const r = auditGandalf([teachMeso()]);
    expect(r.violation).toBeNull();
    expect(r.end).toBe('exit 1');
    expect(r.exits).toBeGreaterThan(600);
  }, 60_000);

  it.each(HOSTILE_SEEDS)('hostile guest of seed %i', (seed) => {
    const r = auditGandalf([hostileAt(seed)], { maxSteps: 400_000 });
    expect(r.violation).toBeNull();
  }, 30_000);

  it('the same checker reads model/vmm\'s real tables out of its memory: no violation after any exit of the teaching kernel', () => {
    const boot = bootGuest(teachMeso(), DEFAULT_CONFIG, defaultRules);
    if (boot.kind !== 'ok') throw new Error(boot.message);
    let world: World = boot.world;
    const view = worldView(() => world);
    const bounds = { vmmBase: DEFAULT_CONFIG.vmmBase, partitionBase: DEFAULT_CONFIG.partitionBase, partitionSize: DEFAULT_CONFIG.partitionSize };
    const first = toCommon(world.machine);
    let monitorSteps = 0;
    for (let n = 0; n < 200_000; n++) {
      const r = stepWorld(world);
      world = r.world;
      if (r.step.kind === 'end') break;
      if (r.step.kind !== 'monitor') continue;
      monitorSteps++;
      expect(checkRealTables(view, bounds)).toBeNull();
      expect(checkRealResources(view, bounds, first)).toBeNull();
    }
    expect(monitorSteps).toBeGreaterThan(600);
  }, 60_000);
});
