// [VMM.EQ] The teaching kernel (guests/teach), built twice from one source:
// the native build at ring 0 on the bare model, the meso build at ring 1
// under the monitor. Compared: the console transcript (also against QEMU
// booting the native build, an oracle nobody here wrote), the I/O trace,
// the virtual machine state of every process at each of its system calls,
// and the privileged registers the guest set (virtual under the monitor).
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { observeNative, observeUnderMonitor, type Observation, type PortAccess } from '../../properties/vmm/equivalence';
import { patchSize } from '../../properties/patch-size';
import { oracleAvailable } from '../../properties/tools';
import { MUTANTS } from '../../properties/vmm/mutants';
import { assembleFile } from '../../properties/assemble-file';

const TEACH = join(import.meta.dirname, '..', '..', 'guests', 'teach');
const STEPS = 2_000_000;

function build(defines: Record<string, string>): Uint8Array {
  return assembleFile(join(TEACH, 'teach.asm'), { format: 'bin', defines });
}

/** End-of-interrupt writes to the master PIC count timer ticks: timing, which
 * equivalence leaves aside (Popek & Goldberg). Everything else must match. */
const withoutTicks = (io: readonly PortAccess[]): PortAccess[] => io.filter((a) => !(a.direction === 'out' && a.port === 0x20 && a.value === 0x20));

describe('[VMM.EQ] the teaching kernel under the monitor behaves as the native kernel on the bare machine', () => {
  let native: Observation;
  let meso: ReturnType<typeof observeUnderMonitor>;
  let nativeImage: Uint8Array;
  beforeAll(() => {
    nativeImage = build({});
    native = observeNative(nativeImage, STEPS);
    meso = observeUnderMonitor(build({ MESO: '' }), STEPS);
  }, 120_000);

  it('both runs end through the exit port with status 0 (QEMU convention: exit code 1)', () => {
    expect(native.end).toBe('exit 1');
    expect(meso.end).toBe('exit 1');
  });

  it('the console transcripts are identical, and the native one is what the kernel prints', () => {
    expect(meso.console).toBe(native.console);
    expect(native.console).toContain('[pid 4] poking the kernel\n[kernel] pid 4 killed: page fault at 0x00100000 error 0x00000007\n');
    expect(native.console.endsWith('[kernel] all processes exited\n')).toBe(true);
  });

  it.runIf(oracleAvailable('qemu-system-i386'))('the transcript is the one QEMU prints for the native build', () => {
    const dir = mkdtempSync(join(tmpdir(), 'teach-eq-'));
    const image = join(dir, 'teach.bin');
    writeFileSync(image, nativeImage);
    // -icount: QEMU's timer counts instructions, so a loaded host cannot
    // change where ticks land (test/guests-teach.test.ts shows the transcript
    // is the same without it on an idle host).
    const q = spawnSync('qemu-system-i386', ['-kernel', image, '-display', 'none', '-serial', 'none', '-monitor', 'none',
      '-debugcon', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64', '-icount', 'shift=0'], { encoding: 'utf8', timeout: 120_000 });
    expect(q.status, `qemu: signal ${q.signal}, stderr ${q.stderr}`).toBe(1);
    expect(meso.console).toBe(q.stdout);
  });

  it('the I/O trace (ports, directions, sizes, values, in order) is identical apart from timer acknowledgements', () => {
    expect(native.io.length).toBeGreaterThan(400);
    expect(withoutTicks(meso.io)).toEqual(withoutTicks(native.io));
  });

  it('every process has the same registers, EFLAGS, selectors and CR3 at each of its system calls', () => {
    expect([...meso.checkpoints.keys()].sort()).toEqual([...native.checkpoints.keys()].sort());
    expect(native.checkpoints.size).toBe(4);
    for (const [cr3, list] of native.checkpoints) {
      expect(list.length).toBeGreaterThan(0);
      expect(meso.checkpoints.get(cr3)).toEqual(list);
    }
    // User selectors are RPL 3 in both builds: the meso patch touches only the kernel's.
    const first = [...native.checkpoints.values()][0]![0]!;
    expect(first.selectors.slice(0, 2)).toEqual([0x1b, 0x23]);
  });

  it('the guest sees its own CR0, CR3, CR4, GDTR and IDTR under the monitor', () => {
    expect(meso.registers).toEqual(native.registers);
    expect(meso.world.machine.cr3).not.toBe(meso.registers.cr3); // the real CR3 is the shadow directory
  });

  it('the exits are the expected kinds: no reflected fault but the trespasser\'s #PF, no stop', () => {
    const exits = meso.world.vmm.exits;
    expect(meso.world.vmm.stopped).toBeNull();
    expect(Object.keys(exits).filter((k) => k.startsWith('reflect'))).toEqual([]);
    expect(exits['emulate sti']).toBeGreaterThan(0);
    expect(exits['page fault']).toBeGreaterThan(0);
    // Timer interrupts and int 0x80 enter the guest through direct gates: no exit.
    expect(Object.keys(exits).filter((k) => k.startsWith('interrupt') || k.startsWith('INT'))).toEqual([]);
  });

  it('the checkpoints see what the transcript cannot: with the mutant "virtual IF lost on STI" the console is the same, the processes\' IF is not', () => {
    const mutant = MUTANTS.find((m) => m.name === 'virtual IF lost on STI')!;
    const broken = observeUnderMonitor(build({ MESO: '' }), STEPS, mutant.rules);
    expect(broken.console).toBe(native.console);
    for (const [cr3, list] of native.checkpoints) {
      expect(list.every((c) => (c.eflags & 0x200) !== 0)).toBe(true); // natively every system call is made with interrupts on
      expect(broken.checkpoints.get(cr3)!.some((c) => (c.eflags & 0x200) === 0)).toBe(true);
    }
  }, 120_000);

  it('the meso patch is small (lines under %ifdef MESO, by properties/patch-size.ts)', () => {
    const source = ['teach.asm', 'boot.inc', 'config.inc', 'console.inc', 'descriptors.inc', 'interrupts.inc', 'paging.inc', 'scheduler.inc', 'syscalls.inc', 'user.inc']
      .map((f) => readFileSync(join(TEACH, f), 'utf8')).join('\n');
    const size = patchSize(source);
    expect(size.lines).toBeGreaterThan(0);
    expect(size.lines).toBeLessThan(20);
  });
});
