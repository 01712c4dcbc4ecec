// [VMM.EQ] per memory mode over random paged guests (memory-guests.ts), and
// the memory mutants each killed by the default run. Expected values come
// from the native run of the same image on the bare machine.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyParams } from '../../properties/seed';
import { MEMORY_MUTANTS, modeEquivalence, pagedRun } from '../../properties/vmm/memory-mutants';
import { MEMORY_MODES } from '../../model/vmm/memory/types';

describe('[MEM.EQ.1] [MEM.MODE.1] [MEM.MODE.2] [MEM.MODE.3] paged guests print the same natively and in every memory mode', () => {
  for (const mode of MEMORY_MODES) {
    it(`${mode}: 100 random paged guests`, () => {
      fc.assert(modeEquivalence(mode), propertyParams(100));
    }, 120_000);
  }
  it('a worked example: remap page 0 to frame F (byte "F"), reload CR3, read it; switch spaces and back', () => {
    const ops = [
      { kind: 'read', page: 0 }, { kind: 'map', table: 0, page: 0, frame: 5, flush: 'cr3' }, { kind: 'read', page: 0 },
      { kind: 'switch', directory: 1 }, { kind: 'read', page: 0 }, { kind: 'switch', directory: 0 }, { kind: 'read', page: 0 },
    ] as const;
    for (const mode of MEMORY_MODES) {
      const { native, guest } = pagedRun(ops, mode);
      // Worked by hand: page 0 maps frame 0 ('A'), then frame 5 ('F'); directory 1's page 0 is frame 3 ('D').
      // The warm-up reads pages 0..3 in directory 0 (frames A B C D) and in directory 1 (D C B A).
      expect(native.console).toBe('ABCDDCBA' + 'AFDF');
      expect(guest.console).toBe(native.console);
      expect(guest.end).toBe('exit 1');
    }
  });
});

describe('memory mutants are killed through VMM.EQ', () => {
  for (const m of MEMORY_MUTANTS.filter((x) => x.killedBy === 'VMM.EQ')) {
    it(`kills "${m.name}" (${m.mode}) [MEM.MULTI.4]`, () => {
      const r = fc.check(modeEquivalence(m.mode, m.modeRules), propertyParams(100));
      expect(r.failed).toBe(true);
      expect(String(r.errorInstance)).toContain('[VMM.EQ]');
    }, 120_000);
  }
});
