// [MEM.GUESTS.1] [MEM.GUESTS.2] [MEM.GUESTS.3] Two guests under one monitor:
// the teaching kernel and the RTOS-like guest (guests/rtos), each in its own
// partition with its own virtual CPU, devices and console. Each one's
// console must be exactly what it prints alone on the bare machine, which
// for the RTOS is also held against QEMU booting its native build.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { observeNative } from '../../properties/vmm/equivalence';
import { oracleAvailable } from '../../properties/tools';
import { bootGuests, runGuests } from '../../model/vmm/guests/world';
import { MEMORY_MODES } from '../../model/vmm/memory/types';
import { assembleFile } from '../../properties/assemble-file';

const GUESTS = join(import.meta.dirname, '..', '..', 'guests');
function build(file: string, defines: Record<string, string>): Uint8Array {
  return assembleFile(join(GUESTS, file), { format: 'bin', defines });
}

describe('the RTOS guest', () => {
  it.runIf(oracleAvailable('qemu-system-i386'))('native build: the model prints what QEMU prints', () => {
    const image = build('rtos/rtos.asm', {});
    const dir = mkdtempSync(join(tmpdir(), 'rtos-'));
    writeFileSync(join(dir, 'rtos.bin'), image);
    const q = spawnSync('qemu-system-i386', ['-kernel', join(dir, 'rtos.bin'), '-display', 'none', '-serial', 'none', '-monitor', 'none',
      '-debugcon', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64',
      // QEMU's timer otherwise follows the host clock, and a loaded host can
      // move a tick across a task's work; -icount makes its time count
      // instructions, as ours does, so the transcript does not depend on load.
      '-icount', 'shift=0'], { encoding: 'utf8', timeout: 60_000 });
    expect(q.status).toBe(1);
    const n = observeNative(image, 100_000, false);
    expect(n.end).toBe('exit 1');
    expect(n.console).toBe(q.stdout);
    // Worked by hand: A runs at ticks 2,4,..,14 (7 runs), B at 3,..,15 (5), C at 5,10,15 (3).
    expect(n.console.match(/task A run/g)?.length).toBe(7);
    expect(n.console).toContain('[rtos] task C run 3 at tick 15\n[rtos] done\n');
  });
});

describe('[MEM.GUESTS.2] the teaching kernel and the RTOS side by side, in every memory mode', () => {
  let teachNative: string, rtosNative: string, teach: Uint8Array, rtos: Uint8Array;
  beforeAll(() => {
    teachNative = observeNative(build('teach/teach.asm', {}), 2_000_000, false).console;
    rtosNative = observeNative(build('rtos/rtos.asm', {}), 100_000, false).console;
    teach = build('teach/teach.asm', { MESO: '' });
    rtos = build('rtos/rtos.asm', { MESO: '' });
  }, 120_000);
  for (const mode of MEMORY_MODES) {
    it(`${mode}: each guest's console is what it prints alone natively; both end through the exit port`, () => {
      const b = bootGuests([{ name: 'teach', image: teach }, { name: 'rtos', image: rtos }], mode);
      if (b.kind !== 'ok') throw new Error(b.message);
      const r = runGuests(b.world, 4_000_000);
      expect(r.world.guests.map((g) => g.end)).toEqual(['exit 1', 'exit 1']);
      expect(r.consoles[0]).toBe(teachNative);
      expect(r.consoles[1]).toBe(rtosNative);
      expect(r.world.switches).toBeGreaterThan(2);
    }, 120_000);
  }
});

describe('[MEM.GUESTS.1] layout and [MEM.GUESTS.2] scheduling', () => {
  it('four guests: slots of 20 MiB, partitions and monitor frames disjoint and each a valid configuration; guest 0 at machine 0', async () => {
    const { guestLayout } = await import('../../model/vmm/guests/layout');
    const { validateConfig, MONITOR_FRAMES, PAGE } = await import('../../model/vmm/config');
    const ranges = [0, 1, 2, 3].flatMap((i) => {
      const c = guestLayout(i);
      expect(validateConfig(c)).toBeNull();
      return [[c.partitionBase, c.partitionBase + c.partitionSize], [c.monitorBase, c.monitorBase + MONITOR_FRAMES * PAGE]] as const;
    });
    expect(guestLayout(0).partitionBase).toBe(0);
    expect(guestLayout(1).partitionBase).toBe(0x1400000);
    for (const [i, a] of ranges.entries()) for (const b of ranges.slice(i + 1)) expect(a[1] <= b[0] || b[1] <= a[0]).toBe(true);
  });
  it('two RTOS guests with a quantum of 100 steps take turns of at least 100 steps, never switched out inside the monitor', async () => {
    const { inMonitor } = await import('../../model/vmm/exits');
    const rtos = build('rtos/rtos.asm', { MESO: '' });
    const b = bootGuests([{ name: 'one', image: rtos }, { name: 'two', image: rtos }], 'shadow-single', { quantum: 100 });
    if (b.kind !== 'ok') throw new Error(b.message);
    const turns: number[] = [];
    let current = -1, length = 0;
    const r = runGuests(b.world, 3000, (s, w) => {
      if (s.guest !== current) { if (current >= 0) turns.push(length); current = s.guest; length = 0; }
      length++;
      if (w.running !== s.guest) expect(inMonitor(s.after)).toBe(false);
    });
    expect(turns.length).toBeGreaterThan(20);
    for (const t of turns) expect(t).toBeGreaterThanOrEqual(100);
    // [MEM.GUESTS.3] Both ran the same program in their own virtual time: one transcript is a prefix of the other.
    const [x, y] = [...r.consoles].sort((a, c) => a.length - c.length);
    expect(x!.length).toBeGreaterThan(0);
    expect(y!.startsWith(x!)).toBe(true);
  });
});
