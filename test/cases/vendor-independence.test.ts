// The case checker compares only what the architecture defines
// (DIFF.CASE.2): a "host" that wrote anything else into the undefined flags
// and registers of the committed corpus — another vendor, or garbage —
// still passes on both machines, while one that changes a defined register
// fails. Without the masks, the first half fails (mutant checked below).
import { describe, expect, it } from 'vitest';
import { checkCases } from '../../properties/cases/check';
import type { CpuCase } from '../../properties/cases/codec';
import { createCaseMachine, readCaseFolder, readExclusions, type MachineKind } from '../../properties/cases/machines';

const CORPUS = 'cases/hostcpu';

const exclusions = readExclusions('cases/EXCLUDED.json');
const excluded = new Set(exclusions.map((e) => e.name));
const withUndefinedParts = readCaseFolder(CORPUS).filter((c) => !excluded.has(c.name) && (c.undefinedFlags !== 0 || (c.undefinedRegisters ?? []).length > 0));

/** Three other "hosts": every undefined flag and register bit inverted, all
 * cleared, all set. Whatever the model wrote there, at least one of the last
 * two differs from it. */
const REWRITES = {
  inverted: (bits: number, mask: number) => (bits ^ mask) >>> 0,
  cleared: (bits: number, mask: number) => (bits & ~mask) >>> 0,
  set: (bits: number, mask: number) => (bits | mask) >>> 0,
} as const;
type Rewrite = keyof typeof REWRITES;

function otherHost(c: CpuCase, how: Rewrite): CpuCase {
  const rewrite = REWRITES[how];
  const regs = { ...c.final.regs, eflags: rewrite(c.final.regs.eflags, c.undefinedFlags) };
  for (const r of c.undefinedRegisters ?? []) regs[r] = rewrite(regs[r], 0xffffffff);
  return { ...c, final: { ...c.final, regs } };
}

describe('host-CPU cases do not depend on the vendor', () => {
  it('the corpus has cases with undefined flags and with undefined registers', () => {
    expect(withUndefinedParts.length).toBeGreaterThan(1000);
    expect(withUndefinedParts.filter((c) => (c.undefinedRegisters ?? []).length > 0).length).toBeGreaterThan(50);
  });

  it.each(['model', 'impl'] as const)('%s: every case still passes with the undefined parts rewritten', async (kind: MachineKind) => {
    const machine = await createCaseMachine(kind);
    for (const how of Object.keys(REWRITES) as Rewrite[]) {
      const summary = checkCases(machine, withUndefinedParts.map((c) => otherHost(c, how)));
      expect(summary.verdicts.filter((v) => v.differences.length > 0).slice(0, 5), how).toEqual([]);
    }
  });

  it('without the masks every case fails under one of the rewrites: the masks are what make them pass', async () => {
    const machine = await createCaseMachine('model');
    const unmasked = (how: Rewrite): CpuCase[] =>
      withUndefinedParts.map((c) => ({ ...otherHost(c, how), undefinedFlags: 0, undefinedRegisters: [] }));
    const passed = (how: Rewrite): Set<string> =>
      new Set(checkCases(machine, unmasked(how)).verdicts.filter((v) => v.differences.length === 0).map((v) => v.name));
    const cleared = passed('cleared');
    const passedBoth = [...passed('set')].filter((name) => cleared.has(name));
    expect(passedBoth.slice(0, 5)).toEqual([]);
  });

  it('a rewritten defined register fails every case (the masks are not too wide)', async () => {
    const machine = await createCaseMachine('model');
    const broken = withUndefinedParts.map((c) => {
      const defined = (['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi'] as const).find((r) => !(c.undefinedRegisters ?? []).includes(r))!;
      return { ...c, final: { ...c.final, regs: { ...c.final.regs, [defined]: (c.final.regs[defined] ^ 1) >>> 0 } } };
    });
    expect(checkCases(machine, broken).failed).toBe(broken.length);
  });
});
