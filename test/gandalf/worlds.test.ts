// [GANDALF.WORLD.1] .. [GANDALF.WORLD.5] gandalf with several guests
// (-DWORLDS): each guest in its own world, switched after a quantum of its
// exits; VMM.REFINE per guest against model/vmm's several-guests world,
// the invariants on every world's real tables, VMM.NI, and the mutants of
// gandalf/worlds.inc each killed. A quantum of 4 exits (-DQUANTUM=4) makes
// many switches early, so the runs stay short (28 to 48 s in all on a
// loaded machine).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { auditWorlds, checkWorldsRefinement, gandalfNonInterference, picNonInterference, readGandalfWorld, STOP_EXIT_TOO_MANY, WORLDS_DEFINES } from '../../properties/gandalf/worlds';
import { hostileAt, pagedAt, rtos, spacesGuest, teach, teachMeso } from '../../properties/gandalf/guests';
import { bootGandalf, buildGandalf } from '../../properties/gandalf/build';
import { GANDALF_MUTANTS } from '../../properties/gandalf/mutants';
import { bootImage, createMachine, runToEnd } from '../../properties/machines';
import { propertyParams } from '../../properties/seed';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { oracleAvailable } from '../../properties/tools';
import { assembleSource } from '../../properties/assemble-file';

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
  return assembleSource('printer.asm', source);
}

/** Whether `out` is a shuffle of `a` and `b` (each kept in order). */
function isInterleaving(out: string, a: string, b: string): boolean {
  if (out.length !== a.length + b.length) return false;
  let row = new Array<boolean>(b.length + 1).fill(false);
  for (let i = 0; i <= a.length; i++) {
    const next = new Array<boolean>(b.length + 1).fill(false);
    for (let j = 0; j <= b.length; j++) {
      if (i === 0 && j === 0) { next[0] = true; continue; }
      const c = out[i + j - 1];
      next[j] = (i > 0 && row[j]! && a[i - 1] === c) || (j > 0 && next[j - 1]! && b[j - 1] === c);
    }
    row = next;
  }
  return row[b.length]!;
}

describe('[GANDALF.WORLD.1] on QEMU', () => {
  it.runIf(oracleAvailable('qemu-system-i386'))('QEMU boots gandalf -DWORLDS with two guests as -initrd: its console is an interleaving of the two native transcripts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gandalf-worlds-qemu-'));
    const native = [teach({ PIT_DIVISOR: '65535' }), rtos({ TICK: '60000' })].map((image) => {
      const m = createMachine('impl', 64 * 1024 * 1024);
      bootImage(m, image);
      return runToEnd(m, 5_000_000).console;
    });
    writeFileSync(join(dir, 'gandalf.bin'), buildGandalf(WORLDS_DEFINES));
    writeFileSync(join(dir, 'teach-meso.bin'), teachMeso());
    writeFileSync(join(dir, 'rtos-meso.bin'), rtosMeso());
    const q = spawnSync('qemu-system-i386', ['-kernel', join(dir, 'gandalf.bin'), '-initrd', `${join(dir, 'teach-meso.bin')},${join(dir, 'rtos-meso.bin')}`,
      '-display', 'none', '-serial', 'none', '-monitor', 'none', '-debugcon', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64'], { encoding: 'latin1', timeout: 60_000 });
    expect(q.status).toBe(1); // both guests wrote 0 to their exit port; gandalf writes the last one's
    expect(q.stdout).toContain('[kernel] all processes exited');
    expect(q.stdout).toContain('[rtos] done');
    expect(isInterleaving(q.stdout, native[0]!, native[1]!)).toBe(true);
    expect(isInterleaving(q.stdout, native[0]!, native[1]!.replace('done', 'dome'))).toBe(false); // (the check can fail)
  }, 90_000);
});

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
    expect(r.switches).toBeGreaterThan(15);
    expect(r.guestSteps[0]).toBeGreaterThan(100); // the RTOS's boot at least
    expect(r.guestSteps[1]).toBeGreaterThan(3_000);
  }, 60_000);

  it('beside the RTOS: a hostile guest that gandalf stops (the RTOS then runs alone), and a paged guest whose shadow outlives the switches', () => {
    const stopped = checkWorldsRefinement([hostileAt(2), rtosMeso()], { defines: QUICK, maxUnits: 1_500 });
    expect(stopped.divergence).toBeNull();
    expect(stopped.ends[0]).toBe('stopped'); // GANDALF.WORLD.4: its run only
    expect(stopped.ends[1]).toBeNull();
    const paged = checkWorldsRefinement([pagedAt(19), rtosMeso()], { defines: QUICK, maxUnits: 6_000 });
    expect(paged.divergence).toBeNull();
    expect(paged.switches).toBeGreaterThan(10);
  }, 60_000);

  it('[GANDALF.MULTI.1] in shadow-multi (-DMEMORY_MULTI too): the two-address-space guest beside the teaching kernel, and beside the RTOS to both ends', () => {
    const r = checkWorldsRefinement([spacesGuest(), teachMeso()], { mode: 'shadow-multi', defines: QUICK, maxUnits: 10_000 });
    expect(r.divergence).toBeNull();
    expect(r.switches).toBeGreaterThan(5);
    const spaces = checkWorldsRefinement([spacesGuest(), rtosMeso()], { mode: 'shadow-multi', defines: QUICK });
    expect(spaces.divergence).toBeNull();
    expect(spaces.ends).toEqual(['exit 1', 'exit 1']);
    expect(spaces.consoles[0]).toBe('ABCDDCBAAFDF'); // its transcript, worked by hand in test/vmm/memory-modes.test.ts
  }, 60_000);

  // Outside the default run (minutes on a loaded machine), registered only when asked for.
  if (process.env.MESOVIRT_GANDALF_WORLDS_LONG === '1') {
    it.each(['shadow-single', 'shadow-multi'] as const)('(long) the RTOS and the teaching kernel to their ends, in %s', (mode) => {
      const r = checkWorldsRefinement([rtosMeso(), teachMeso()], { mode });
      expect(r.divergence).toBeNull();
      expect(r.ends).toEqual(['exit 1', 'exit 1']);
    }, 600_000);
  }

  it('gandalf on the model machine: the first 1,500 units, several switches', () => {
    const r = checkWorldsRefinement([rtosMeso(), teachMeso()], { defines: QUICK, maxUnits: 1_500, machine: 'model' });
    expect(r.divergence).toBeNull();
    expect(r.switches).toBeGreaterThan(3);
  }, 600_000);
});

describe('[VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] on every world\'s real state', () => {
  it.each(['shadow-single', 'shadow-multi'] as const)('two teaching kernels in %s: the running world after every step, every world\'s tables at every switch', (mode) => {
    const r = auditWorlds([teachMeso(), teachMeso()], { mode, defines: QUICK, maxSteps: 320_000 });
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
    if (m.mode === 'shadow-multi') {
      // Two guests that both switch address spaces (the RTOS never does).
      const r = checkWorldsRefinement([spacesGuest(), teachMeso()], { mode: 'shadow-multi', defines, maxUnits: 10_000 });
      return r.divergence === null ? null : 'VMM.REFINE';
    }
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
