// `mesovirt audit --machine impl` (properties/vmm/impl-audit.ts): the
// monitor's invariants checked after every step with impl as the processor.
// No violation on the teaching kernel and on random hostile guests under
// the monitor as it is; broken monitors caught, and the check of the
// monitor's frames (the half of VMM.ISO that impl cannot show by page
// identity) shown to catch a guest write into a monitor frame by itself.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { bootGuest } from '../../model/vmm/boot';
import { DEFAULT_CONFIG, Frame, frameMachine, type VmmConfig } from '../../model/vmm/config';
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import { auditOnImpl } from '../../properties/vmm/impl-audit';
import { hostileGuest, hostileImage } from '../../properties/vmm/hostile';
import { MUTANTS } from '../../properties/vmm/mutants';
import { propertyParams } from '../../properties/seed';
import { assembleFile } from '../../properties/assemble-file';

const teach = (): Uint8Array => {
  return assembleFile(join(import.meta.dirname, '..', '..', 'guests', 'teach', 'teach.asm'), { format: 'bin', defines: { MESO: '' } });
};

function audit(image: Uint8Array, rules: VmmRules, steps: number, checks?: Parameters<typeof auditOnImpl>[4]) {
  const b = bootGuest(image, DEFAULT_CONFIG, rules);
  if (b.kind !== 'ok') throw new Error(b.message);
  return auditOnImpl(b.world, image, steps, rules, checks);
}

describe('[VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] the audit on impl', () => {
  it('the teaching kernel runs to its exit with no violation, every step checked', () => {
    const a = audit(teach(), defaultRules, 3_000_000);
    expect(a.violation).toBeNull();
    expect(a.run.end).toBe('exit 1');
    expect(a.checked).toBe(a.run.steps);
  }, 120_000);

  it('random hostile guests (ring 1 and 3, timer) under the monitor as it is: no violation', () => {
    fc.assert(fc.property(hostileGuest, (g) => {
      const a = audit(hostileImage(g), defaultRules, 400);
      if (a.violation !== null) throw new Error(`[${a.violation.v.rule}] at step ${a.violation.step}: ${a.violation.v.message}`);
    }), propertyParams(30));
  }, 300_000);

  it(`a monitor mutant ('limit not truncated') is caught through [VMM.SEG] on some hostile guest`, () => {
    const m = MUTANTS.find((x) => x.name === 'limit not truncated')!;
    const r = fc.check(fc.property(hostileGuest, (g) => audit(hostileImage(g), m.rules, 400).violation?.v.rule !== 'VMM.SEG'), { ...propertyParams(60), endOnFailure: true });
    expect(r.failed).toBe(true);
  }, 300_000);

  it('the frames check alone catches a guest step writing a monitor frame (a shadow that maps guest frames above 2 MiB onto a frame of the shadow pool)', () => {
    const target = (c: VmmConfig): number => frameMachine(c, Frame.shadowPool + 600);
    const rules: VmmRules = { ...defaultRules, shadow: { ...defaultRules.shadow, machineFrame: (c, f) => (f >= 0x200000 ? target(c) : defaultRules.shadow.machineFrame(c, f)) } };
    const a = audit(teach(), rules, 3_000_000, new Set(['frames']));
    expect(a.violation?.v.rule).toBe('VMM.ISO');
    expect(a.violation?.v.message).toBe(`a guest step changed VMM frame ${Frame.shadowPool + 600} at byte ${a.violation?.v.message.match(/byte (\d+)/)?.[1]}`);
    // Under the monitor as it is, the same check finds nothing.
    expect(audit(teach(), defaultRules, 3_000_000, new Set(['frames'])).violation).toBeNull();
  }, 120_000);
});
