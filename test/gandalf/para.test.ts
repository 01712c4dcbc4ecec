// [VMM.REFINE] gandalf built with -DPARA (gandalf/para.inc) refines
// model/vmm's para monitor (model/vmm/para): the para teaching kernel, a
// directed guest that meets every hypercall and every mmu_update refusal,
// and random hostile para guests, in single-shadow and direct paging; and
// VMM.ISO/SEG/RING/RES hold on its real state.
import { describe, expect, it } from 'vitest';
import { checkRefinement } from '../../properties/gandalf/refine';
import { auditGandalf } from '../../properties/gandalf/audit';
import { PARA_HOSTILE_SEEDS, PARA_TOUR_CALLS, PARA_TOUR_TRANSCRIPT, paraHostileAt, paraTourGuest, teachPara } from '../../properties/gandalf/para-guests';
import { teach } from '../../properties/gandalf/guests';
import { bootGandalf } from '../../properties/gandalf/build';
import { readGandalfPara } from '../../properties/gandalf/vcpu';
import { bootImage, createMachine, runToEnd } from '../../properties/machines';
import { lockstep } from '../../properties/diff/lockstep';
import { HYPERCALL_NAMES } from '../../model/vmm/para/interface';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oracleAvailable } from '../../properties/tools';
import { buildGandalf } from '../../properties/gandalf/build';

/** The teaching kernel's native transcript, on the bare impl. */
function nativeTranscript(defines: Record<string, string> = {}): string {
  const m = createMachine('impl', 64 * 1024 * 1024);
  bootImage(m, teach({ PIT_DIVISOR: '65535', ...defines }));
  runToEnd(m, 5_000_000);
  return Buffer.from(m.consoleOutput()).toString('latin1');
}

describe.each(['shadow-single', 'direct'] as const)('[VMM.REFINE] [PARA.EXIT.1] [GANDALF.PARA.1] gandalf -DPARA refines model/vmm\'s para monitor (%s)', (mode) => {
  it('[PARA.IF.3] [PARA.IF.4] [PARA.MMU.7] [GANDALF.PARA.3] the para teaching kernel to its end: every unit compared; the native transcript; every hypercall used, ticks held and delivered late', () => {
    const r = checkRefinement(teachPara(), { para: true, mode });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
    // The same lines as natively; their order follows the ticks, which gandalf's exits move.
    const lines = (text: string): string[] => text.split('\n').sort();
    expect(lines(r.console)).toEqual(lines(nativeTranscript()));
    expect(r.console.endsWith('[kernel] all processes exited\n')).toBe(true);
    for (const name of HYPERCALL_NAMES) expect(r.exitsByReason[`hypercall ${name}`] ?? 0, name).toBeGreaterThan(0);
    expect(r.exitsByReason['interrupt 32 held']).toBeGreaterThan(0);
    expect(r.exitsByReason['interrupt 32 delivered late']).toBeGreaterThan(0);
    // The para kernel never executes a privileged instruction but its port I/O.
    expect(Object.keys(r.exitsByReason).filter((k) => k.startsWith('emulate') && k !== 'emulate out')).toEqual([]);
  }, 60_000);

  it('[PARA.MMU.1] [PARA.MMU.2] [PARA.MMU.3] [PARA.MMU.4] [PARA.MMU.5] [PARA.CALL.2] [PARA.CALL.3] [PARA.CALL.4] [PARA.SHARED.2] [GANDALF.PARA.2] [GANDALF.PARA.4] [GANDALF.PARA.6] the directed para guest at ring 1: each result as worked out by hand from spec/para.md (requests and buffers beyond the partition refused, not stopped; the accessed bits of a refused request put back)', () => {
    const r = checkRefinement(paraTourGuest(1), { para: true, mode, maxUnits: 3000 });
    expect(r.divergence).toBeNull();
    expect([...Buffer.from(r.console, 'latin1')]).toEqual(PARA_TOUR_TRANSCRIPT);
    // What gandalf adopted: the directory 0x120 and the tables 0x121 (by the
    // first batch) -- nothing of the refused requests, 0x123 included.
    const real = bootGandalf([paraTourGuest(1)], { defines: { PARA: '', ...(mode === 'direct' ? { MEMORY_DIRECT: '' } : {}) } });
    for (let n = 0; n < 400_000; n++) real.step();
    const p = readGandalfPara(real)!;
    expect(p.tables).toEqual({ 0x120: 2, 0x121: 1 });
    expect(p.shared).toBe(0x114000);
    expect(p.mmuApplied).toBe(7); // 3 + 1 + 1 + 1 (the first of the pair) + 1
  }, 30_000);

  it('[PARA.CALL.5] the directed para guest at ring 3: every hypercall refused with the #GP of the gate\'s DPL, nothing printed', () => {
    const r = checkRefinement(paraTourGuest(3), { para: true, mode, maxUnits: 3000 });
    expect(r.divergence).toBeNull();
    expect(r.console).toBe('');
    expect(r.exitsByReason['refused hypercall']).toBe(PARA_TOUR_CALLS);
  }, 30_000);

  it.each(mode === 'direct' ? [19, 24] : [...PARA_HOSTILE_SEEDS])('hostile para guest of seed %i', (seed) => {
    const r = checkRefinement(paraHostileAt(seed), { para: true, mode, maxUnits: 3000 });
    expect(r.divergence).toBeNull();
    expect(r.exits).toBeGreaterThan(3);
  }, 30_000);

  // (the teaching kernel audited in single-shadow only: 10 s; the directed guests in both modes)
  it(`[VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] on the real state: ${mode === 'direct' ? '' : 'the para teaching kernel to its end, '}the directed guest at both rings`, () => {
    const defines = { PARA: '', ...(mode === 'direct' ? { MEMORY_DIRECT: '' } : {}) };
    if (mode === 'shadow-single') {
      const t = auditGandalf([teachPara()], { defines });
      expect(t.violation).toBeNull();
      expect(t.end).toBe('exit 1');
    }
    for (const ring of [1, 3] as const) expect(auditGandalf([paraTourGuest(ring)], { defines, maxSteps: 200_000 }).violation).toBeNull();
  }, 60_000);
});

describe('[VMM.REFINE] gandalf -DPARA on a benchmark build (single-shadow; 9 s)', () => {
  it('[PARA.MMU.5] [PARA.MMU.6] the proc microbenchmark build (-DLMBENCH=4: sixteen address spaces adopted, one by one) to its end, with the native report', () => {
    const r = checkRefinement(teachPara({ LMBENCH: '4' }), { para: true });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
    const report = (text: string): string | undefined => text.split('\n').find((l) => l.startsWith('[bench proc]'));
    expect(report(r.console)).toBeDefined();
    expect(report(r.console)).toBe(report(nativeTranscript({ LMBENCH: '4' })));
  }, 60_000);
});

describe('[VMM.REFINE] the para checker is not blind', () => {
  it('model/vmm\'s para monitor without mmu_update validation, against the correct gandalf, diverges on the directed guest', () => {
    const r = checkRefinement(paraTourGuest(1), { para: { validateMmu: false, hypercallFromRing3: false }, maxUnits: 3000 });
    expect(r.divergence).not.toBeNull();
  }, 30_000);
});

describe('[DIFF.STATE.1] gandalf -DPARA runs the same on the model and on impl', () => {
  it('lock step over its boot and the para teaching kernel\'s first hypercalls (40,000 steps, every state compared)', () => {
    const image = teachPara();
    const defines = { PARA: '' };
    const r = lockstep(bootGandalf([image], { machine: 'model', defines }), bootGandalf([image], { machine: 'impl', defines }), 40_000, { throughHalt: true });
    expect(r.divergence).toBeNull();
    expect(r.steps).toBe(40_000);
  }, 60_000);
});

describe('[GANDALF.PARA.5] gandalf -DPARA on a PC', () => {
  it.runIf(oracleAvailable('qemu-system-i386'))('QEMU boots both para builds with the para kernel as -initrd: the native transcript\'s lines, the exit port (the firmware\'s timer masked at boot)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gandalf-para-qemu-'));
    writeFileSync(join(dir, 'teach-para.bin'), teachPara());
    const lines = (text: string): string[] => text.split('\n').sort();
    const expected = lines(nativeTranscript());
    for (const defines of [{ PARA: '' }, { PARA: '', MEMORY_DIRECT: '' }] as Record<string, string>[]) {
      writeFileSync(join(dir, 'gandalf.bin'), buildGandalf(defines));
      const q = spawnSync('qemu-system-i386', ['-kernel', join(dir, 'gandalf.bin'), '-initrd', join(dir, 'teach-para.bin'), '-display', 'none', '-serial', 'none',
        '-monitor', 'none', '-debugcon', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64'], { encoding: 'latin1', timeout: 60_000 });
      expect(lines(q.stdout), JSON.stringify(defines)).toEqual(expected);
      expect(q.status).toBe(1);
    }
  }, 90_000);
});
