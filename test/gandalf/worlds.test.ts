// [GANDALF.WORLD.1] .. [GANDALF.WORLD.5] gandalf with several guests
// (-DWORLDS): each guest in its own world, switched after a quantum of its
// exits; VMM.REFINE per guest against model/vmm's several-guests world,
// the invariants on every world's real tables, VMM.NI, and the mutants of
// gandalf/worlds.inc each killed. A quantum of 4 exits (-DQUANTUM=4) makes
// many switches early, so the runs stay short (about 25 s in all, the
// machine loaded).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { auditWorlds, checkWorldsRefinement, gandalfNonInterference, picNonInterference, readGandalfWorld, STOP_EXIT_TOO_MANY, WORLDS_DEFINES } from '../../properties/gandalf/worlds';
import { rtos, teach, teachMeso } from '../../properties/gandalf/guests';
import { bootGandalf, buildGandalf } from '../../properties/gandalf/build';
import { GANDALF_MUTANTS } from '../../properties/gandalf/mutants';
import { bootImage, createMachine, runToEnd } from '../../properties/machines';
import { propertyParams } from '../../properties/seed';
import { assembleText } from '../../model/isa/asm/assemble';

const QUICK = { QUANTUM: '4' };
/** The RTOS with a tick longer than gandalf's work per tick (GANDALF.TIME.1). */
const rtosMeso = (): Uint8Array => rtos({ MESO: '', TICK: '60000' });

describe('[GANDALF.WORLD.1] [GANDALF.WORLD.3] [GANDALF.WORLD.4] several guests boot, each in its own world', () => {
  it('the teaching kernel and the RTOS side by side: each prints in its own log what it prints natively, alone on the bare machine, and ends on its own', () => {
    // The native builds (no MESO) on the bare impl machine: the transcripts each must print (GANDALF.TIME.1).
    const alone = [teach({ PIT_DIVISOR: '65535' }), rtos({ TICK: '60000' })].map((image) => {
      const m = createMachine('impl', 64 * 1024 * 1024);
      bootImage(m, image);
      const r = runToEnd(m, 5_000_000);
      expect(r.end).toEqual({ kind: 'exit', code: 1 });
      return r.console;
    });
    expect(alone[0]).toContain('[kernel] all processes exited');
    expect(alone[1]).toContain('[rtos] done');
    const g = bootGandalf([teachMeso(), rtosMeso()], { defines: { ...WORLDS_DEFINES } });
    const run = runToEnd(g, 40_000_000);
    expect(run.end).toEqual({ kind: 'exit', code: 1 });
    const worlds = [0, 1].map((k) => readGandalfWorld(g, k));
    expect(worlds.map((w) => w.console)).toEqual(alone);
    expect(worlds.map((w) => w.end)).toEqual([0x100, 0x100]); // END_EXIT | 0: each through its own exit port
    // Switched in and out many times (a quantum of 16 exits; the teaching kernel alone exits over 600 times).
    expect(worlds[0]!.switchesIn).toBeGreaterThan(10);
    expect(worlds[1]!.switchesIn).toBeGreaterThan(10);
    // The machine's console interleaves the two; byte for byte it holds both logs.
    expect(run.console.length).toBe(alone[0]!.length + alone[1]!.length);
  }, 60_000);

  it('too many guests: a clear message and exit value 0x7E through port 0xF4 (status 253), before any guest runs', () => {
    const four = bootGandalf([teachMeso(), teachMeso(), teachMeso(), teachMeso()], { defines: { ...WORLDS_DEFINES } });
    const r = runToEnd(four, 100_000);
    expect(r.end).toEqual({ kind: 'exit', code: (STOP_EXIT_TOO_MANY << 1) | 1 });
    expect(r.console).toBe('[gandalf] too many guests: at most 3 (one 20 MiB slot each, inside the 64 MiB gandalf maps)\n');
    // Three fit the region, but not a 48 MiB machine (3 x 20 MiB).
    const small = createMachine('impl', 48 * 1024 * 1024);
    bootImage(small, buildGandalf(WORLDS_DEFINES), 'gandalf.bin', { modules: [0, 1, 2].map((i) => ({ name: `g${i}.bin`, bytes: teachMeso() })) });
    const s = runToEnd(small, 100_000);
    expect(s.end).toEqual({ kind: 'exit', code: (STOP_EXIT_TOO_MANY << 1) | 1 });
    expect(s.console).toBe('[gandalf] too many guests for the memory: each needs a 20 MiB slot\n');
  });
});

/** A guest that prints `ch` n times (an exit each) and ends through the exit port. */
function printer(ch: string, n: number): Uint8Array {
  const source = `bits 32
org 0x100000
    dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000), 0x100000, 0x100000, image_end, 0, start
start:
    mov ecx, ${n}
.print:
    mov al, '${ch}'
    out 0xE9, al
    loop .print
    mov al, 0
    out 0xF4, al
image_end:
`;
  const r = assembleText({ 'printer.asm': source }, 'printer.asm', { format: 'bin' });
  if (r.kind !== 'ok') throw new Error('the printer guest does not assemble');
  return r.bytes;
}

describe('[GANDALF.WORLD.2] the quantum: a switch after so many exits of the running guest, round robin', () => {
  it('three guests that print a letter per exit, a quantum of 4 exits: in turn, four exits each, the last guest alone at the end', () => {
    const g = bootGandalf([printer('a', 10), printer('b', 6), printer('c', 12)], { defines: { ...WORLDS_DEFINES, QUANTUM: '4' } });
    const run = runToEnd(g, 1_000_000);
    expect(run.end).toEqual({ kind: 'exit', code: 1 });
    // Each guest's first quantum holds a page fault (its first fetch, under an empty
    // shadow) and three letters; later ones four letters. b's 7th OUT and a's 11th are
    // the exit port, each the 4th exit of a quantum; then c runs alone.
    expect(run.console).toBe('aaa' + 'bbb' + 'ccc' + 'aaaa' + 'bbb' + 'cccc' + 'aaa' + 'ccccc');
    expect([0, 1, 2].map((k) => readGandalfWorld(g, k).console)).toEqual(['a'.repeat(10), 'b'.repeat(6), 'c'.repeat(12)]);
  });
});

describe('[VMM.REFINE] [GANDALF.WORLD.5] across worlds: each guest cannot tell gandalf from model/vmm\'s several-guests world', () => {
  it('the RTOS and the teaching kernel, many switches, every unit compared', () => {
    const r = checkWorldsRefinement([rtosMeso(), teachMeso()], { defines: QUICK, maxUnits: 8_000 });
    expect(r.divergence).toBeNull();
    expect(r.switches).toBeGreaterThan(20);
    expect(r.guestSteps[0]).toBeGreaterThan(100); // the RTOS's boot at least
    expect(r.guestSteps[1]).toBeGreaterThan(3_000);
  }, 60_000);

  it.runIf(process.env.MESOVIRT_GANDALF_WORLDS_LONG === '1')('(long) the RTOS and the teaching kernel to their ends', () => {
    const r = checkWorldsRefinement([rtosMeso(), teachMeso()]);
    expect(r.divergence).toBeNull();
    expect(r.ends).toEqual(['exit 1', 'exit 1']);
  }, 600_000);
});

describe('[VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] on every world\'s real state', () => {
  it('two teaching kernels: the running world after every step, every world\'s tables at every switch', () => {
    const r = auditWorlds([teachMeso(), teachMeso()], { defines: QUICK, maxSteps: 320_000 });
    expect(r.violation).toBeNull();
    expect(r.switches).toBeGreaterThan(10);
  }, 60_000);
});

describe('[VMM.NI] over gandalf: the RTOS as guest 1 observes the same whatever guest 0 does', () => {
  it('beside a guest that reprograms and masks the PICs again and again, and beside a quiet one', () => {
    expect(picNonInterference(rtosMeso(), QUICK)).toBeNull();
  }, 60_000);
  it('beside random hostile guests (properties/vmm/ni-guests.ts)', () => {
    fc.assert(gandalfNonInterference(rtosMeso(), QUICK), propertyParams(2));
  }, 120_000);
});

describe('[GANDALF.MUTANT.1] each mutant of gandalf/worlds.inc is killed', () => {
  const kill = (name: string): string | null => {
    const m = GANDALF_MUTANTS.find((x) => x.name === name)!;
    const defines = { ...QUICK, [m.define]: '' };
    if (m.killedBy === 'VMM.REFINE') {
      const r = checkWorldsRefinement([rtosMeso(), teachMeso()], { defines, maxUnits: 8_000 });
      return r.divergence === null ? null : 'VMM.REFINE';
    }
    if (m.killedBy === 'VMM.NI') return picNonInterference(rtosMeso(), defines) === null ? null : 'VMM.NI';
    const a = auditWorlds([teachMeso(), teachMeso()], { defines, maxSteps: 250_000 });
    return a.violation?.violation.rule ?? null;
  };
  it.each(GANDALF_MUTANTS.filter((m) => m.worlds === true).map((m) => [m.name, m] as const))('%s', (name, m) => {
    expect(kill(name), `${name} survived`).toBe(m.killedBy);
  }, 60_000);
});
