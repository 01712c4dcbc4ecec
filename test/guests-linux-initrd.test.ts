// Anyone can boot the committed kernel with an init of their own: an initrd
// given with --initrd is unpacked over the kernel's built-in initramfs and
// its /init runs (LINUX.INITRD.1). The init here, guests/linux/clock-init.asm,
// is built by our own assembler and packed by newcArchive; it prints the
// wall clock that Linux read from the CMOS at boot, so the same run checks
// that `--rtc` reaches the kernel (IO.RTC.1).
import { describe, expect, it } from 'vitest';
import { bootLinux, clockInitrd, CLOCK_INIT_EXIT_CODE } from '../properties/linux';

const PIT_HZ = 1_193_182; // IO.CLOCK.1: one PIT tick per instruction

describe('an initrd of ones own on the committed kernel [LINUX.INITRD.1] [IO.RTC.1]', () => {
  it('runs its /init, which sees the date given to the RTC', () => {
    const rtc = { year: 2031, month: 5, day: 17, hour: 12, minute: 34, second: 56 };
    const boot = bootLinux('impl', 100_000_000, undefined, Infinity, { initrd: clockInitrd(), rtc });
    expect(boot.console).toContain('Run /init as init process');
    // The built-in initramfs has no /init; the committed one's prints "init: ...".
    expect(boot.console).not.toMatch(/^init: /m);
    const printed = /^clock-init: time = ([0-9a-f]{8})\r?$/m.exec(boot.console);
    expect(printed, boot.console.slice(-1500)).not.toBeNull();
    expect(boot.exitCode).toBe(CLOCK_INIT_EXIT_CODE);
    // Linux set its clock from the CMOS during boot; since then at most the
    // virtual time of the whole run can have passed.
    const atBoot = Date.UTC(rtc.year, rtc.month - 1, rtc.day, rtc.hour, rtc.minute, rtc.second) / 1000;
    const seconds = parseInt(printed![1]!, 16);
    expect(seconds).toBeGreaterThanOrEqual(atBoot);
    expect(seconds).toBeLessThanOrEqual(atBoot + Math.ceil(boot.instructions / PIT_HZ));
  }, 300_000);
});
