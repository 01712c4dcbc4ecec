// The committed Linux guest (guests/linux: Debian's linux-source-6.1, built
// by guests/linux/build.sh) boots on impl to its init's verdict; the same
// bzImage and initramfs give the same console on QEMU TCG up to the listed
// differences; model and impl agree step by step on the start of the boot.
import { describe, expect, it } from 'vitest';
import { bootLinux, bootLinuxOnQemu, comparableLines, linuxMachine, LINUX_QEMU_DIFFERENCES, type LinuxBoot } from '../properties/linux';
import { lockstep, memoryDifferences } from '../properties/diff/lockstep';
import { oracleAvailable } from '../properties/tools';

let implBoot: LinuxBoot | null = null;
const bootOnImpl = (): LinuxBoot => (implBoot ??= bootLinux('impl'));
let qemuBoot: ReturnType<typeof bootLinuxOnQemu> | null = null;
const bootOnQemu = (): ReturnType<typeof bootLinuxOnQemu> => (qemuBoot ??= bootLinuxOnQemu());

describe('Linux boots on impl [LINUX.ENTRY.1] [IO.UART.5]', () => {
  it('to "init: N passed, 0 failed" and exit code 1', () => {
    const boot = bootOnImpl();
    const lines = boot.console.split(/\r?\n/); // the serial console ends lines with CR LF
    expect(lines[0]).toMatch(/^Linux version 6\.1\.\d+ \(mesovirt@mesovirt\) .* #1 2026-01-01 00:00:00 UTC$/);
    // The 8250 driver found our UART to be what QEMU's is.
    expect(lines).toContain('serial8250: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A');
    expect(lines).toContain('Run /init as init process');
    const verdict = /^init: (\d+) passed, (\d+) failed$/m.exec(boot.console);
    expect(verdict, boot.console.slice(-2000)).not.toBeNull();
    expect(Number(verdict![1])).toBeGreaterThanOrEqual(13);
    expect(Number(verdict![2])).toBe(0);
    expect(boot.console).not.toMatch(/init: FAIL/);
    expect(boot.exitCode).toBe(1);
  }, 300_000);
});

describe.runIf(oracleAvailable('qemu-system-i386'))('the same kernel on QEMU TCG', () => {
  it('prints the same console lines, except the listed few', () => {
    const qemu = bootOnQemu();
    expect(qemu.exitCode).toBe(1);
    const ours = comparableLines(bootOnImpl().console);
    const theirs = comparableLines(qemu.console);
    expect(ours.length).toBeGreaterThan(40);
    expect(ours).toEqual(theirs);
  }, 300_000);
  it('each listed difference has a reason and matches some line of one of the two transcripts', () => {
    const all = bootOnImpl().console + bootOnQemu().console;
    for (const d of LINUX_QEMU_DIFFERENCES) {
      expect(d.reason.length).toBeGreaterThan(20);
      expect(all.split('\n').some((l) => d.pattern.test(l)), String(d.pattern)).toBe(true);
    }
  }, 300_000);
});

describe('model and impl in lock step on the Linux boot [DIFF.STATE.1]', () => {
  // The first 5,000,000 steps: the entry, the decompressor and the start of
  // the kernel proper; about 90 s on the 2-core machine idle (lock step runs
  // at about 58,000 steps a second, the model's pace). The whole boot,
  // 28,694,689 steps, agreed in lock step with memory equal at the end in
  // 607 s, by the same lockstep() run to the exit (guests/linux/README.md).
  const STEPS = Number(process.env.MESOVIRT_LINUX_LOCKSTEP ?? 5_000_000);
  it(`agree on every step of the first ${STEPS.toLocaleString('en')} and on memory`, () => {
    const model = linuxMachine('model'), impl = linuxMachine('impl');
    const run = lockstep(model, impl, STEPS, { throughHalt: true });
    expect(run.divergence).toBeNull();
    // All STEPS steps, or fewer when the boot reached its exit first (the
    // whole boot is 28,694,689 steps: MESOVIRT_LINUX_LOCKSTEP=29000000).
    if (run.steps < STEPS) expect(run.last?.kind).toBe('exit');
    else expect(run.steps).toBe(STEPS);
    expect(memoryDifferences(model, impl, 0, 64 << 20)).toEqual([]);
  }, 900_000);
});
