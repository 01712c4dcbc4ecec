// [VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] over random hostile guests at
// ring 1 and at ring 3, with timer interrupts arriving at random points,
// checked after every step; and each invariant mutant is caught.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyParams } from '../../properties/seed';
import { bootGuest } from '../../model/vmm/boot';
import { runWorld, type WorldStep } from '../../model/vmm/run';
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import { DEFAULT_CONFIG } from '../../model/vmm/config';
import { cpl } from '../../model/cpu/context';
import type { World } from '../../model/vmm/state';
import { checkIsolation, checkReads, checkStep, type Violation } from '../../properties/vmm/invariants';
import { hostileGuest, hostileGuestWithMsrs, hostileImage, type HostileGuest } from '../../properties/vmm/hostile';
import { MUTANTS } from '../../properties/vmm/mutants';
import { ring1GuestImage } from '../../properties/vmm/ring1-guest';

const STEPS = 400;
type Checker = (boot: World, before: World, after: World, step: WorldStep) => Violation | null;

/** What the runs covered, so that the property is known not to be hollow. */
const coverage = { ring3Steps: 0, timerInterrupts: 0, guests: 0 };

/** Run a hostile guest under the monitor; the first violated invariant, or null. */
function firstViolation(guest: HostileGuest, rules: VmmRules, check: Checker): Violation | null {
  const boot = bootGuest(hostileImage(guest), DEFAULT_CONFIG, rules);
  if (boot.kind !== 'ok') throw new Error(boot.message);
  let found: Violation | null = null;
  const initial = boot.world;
  coverage.guests++;
  runWorld(initial, STEPS, (before, after, step) => {
    if (cpl(after.machine) === 3) coverage.ring3Steps++;
    if (step.kind !== 'end' && step.event.kind === 'interrupt' && step.event.vector === 0x20) coverage.timerInterrupts++;
    if (found === null) found = check(initial, before, after, step);
  });
  return found;
}

const invariantsHold = (rules: VmmRules, check: Checker = checkStep, guests: fc.Arbitrary<HostileGuest> = hostileGuest) => fc.property(guests, (guest) => {
  const v = firstViolation(guest, rules, check);
  if (v !== null) throw new Error(`[${v.rule}] ${v.message}`);
});

describe('the monitor keeps hostile guests in their place', () => {
  it('[VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] hold on every step of random ring-1 and ring-3 guests, timer on or off (default rules)', () => {
    // With the MSR/SYSENTER slots of issue 14 too [VMM.MSR.2] (they found that VMM.RES had to except CR4.TSD).
    fc.assert(invariantsHold(defaultRules, checkStep, hostileGuestWithMsrs), propertyParams(80));
    // The run reached ring 3 and took timer interrupts, both directly and through the monitor.
    expect(coverage.ring3Steps).toBeGreaterThan(1000);
    expect(coverage.timerInterrupts).toBeGreaterThan(20);
  });

  // The VMM.EQ mutants are killed by the equivalence property (test/vmm/mutants.test.ts).
  for (const mutant of MUTANTS.filter((m) => m.killedBy !== 'VMM.EQ')) {
    it(`the property kills the mutant "${mutant.name}" through [${mutant.killedBy}]`, () => {
      const r = fc.check(invariantsHold(mutant.rules), propertyParams(200, { endOnFailure: true }));
      expect(r.failed).toBe(true);
      expect(String(r.errorInstance)).toContain(mutant.killedBy);
    });
  }

  it('[VMM.ISO] for reads: a ring-1 read of the VMM region through an untruncated segment is caught, and cannot happen under the default rules', () => {
    // GDT entry 0x20 of the ring-1 guest is a 4-GiB DPL-1 data segment.
    const body = '    mov dword [resume], .after\n    mov ax, 0x20\n    mov ds, ax\n    mov eax, [0xfc000000]\n.after:';
    const isolationOnly = (rules: VmmRules): Violation | null => {
      const boot = bootGuest(ring1GuestImage(body), DEFAULT_CONFIG, rules);
      if (boot.kind !== 'ok') throw new Error(boot.message);
      let found: Violation | null = null;
      const r = runWorld(boot.world, 2000, (before, after, step) => { found ??= checkIsolation(before, after, step) ?? checkReads(before, after, step); });
      expect(r.end).toBe('exit 1');
      return found;
    };
    const mutant = MUTANTS.find((m) => m.name === 'limit not truncated')!;
    expect(isolationOnly(mutant.rules)?.message).toMatch(/CPL-1 mov touched linear 0xfc000000/);
    expect(isolationOnly(defaultRules)).toBeNull(); // the limit ends at 0xFBFFFFFF: the read faults #GP instead
  });
});
