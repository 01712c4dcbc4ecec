// Booting the committed Linux guest (guests/linux) on our machines and on
// QEMU: the shared steps of its test, `npm start` and `mesovirt bench linux`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Machine, StepEvent } from '../model/machine';
import { ImplMachine } from '../impl/machine';
import { bootImage, createMachine, DEFAULT_LINUX_APPEND, type MachineKind } from './machines';
import type { RtcDate } from '../model/cpu/cmos';
import { assembleFile } from './assemble-file';

export const LINUX_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'guests', 'linux');
export const LINUX_BZIMAGE = join(LINUX_DIR, 'bzImage');
export const LINUX_INITRD = join(LINUX_DIR, 'initramfs.cpio');
export const LINUX_MEMORY = 64 << 20;

export interface LinuxBoot {
  readonly console: string;
  /** The exit-port status, or null when the run ended otherwise (see `end`). */
  readonly exitCode: number | null;
  readonly end: StepEvent | null;
  readonly instructions: number;
  readonly seconds: number;
}

/** What can change between boots of the committed kernel. */
export interface LinuxOptions {
  /** The command line (default DEFAULT_LINUX_APPEND). */
  readonly append?: string;
  /** The initrd (default the committed initramfs.cpio). */
  readonly initrd?: { readonly bytes: Uint8Array; readonly name: string };
  /** The date of the CMOS clock (default DEFAULT_RTC_DATE). */
  readonly rtc?: RtcDate;
}

/** A machine with the committed bzImage and (by default) initramfs loaded, ready to run. */
export function linuxMachine(kind: MachineKind, options: LinuxOptions = {}): Machine {
  const machine = createMachine(kind, LINUX_MEMORY, { rtc: options.rtc });
  bootImage(machine, new Uint8Array(readFileSync(LINUX_BZIMAGE)), LINUX_BZIMAGE, {
    append: options.append ?? DEFAULT_LINUX_APPEND,
    initrd: options.initrd ?? { bytes: new Uint8Array(readFileSync(LINUX_INITRD)), name: LINUX_INITRD },
  });
  return machine;
}

/** A cpio archive in the "newc" format (what the kernel unpacks as an
 * initramfs, Documentation/driver-api/early-userspace/buffer-format.rst):
 * per file a 110-byte ASCII header of 13 hex fields, the NUL-terminated
 * name padded to 4 bytes, the data padded to 4 bytes; then "TRAILER!!!". */
export function newcArchive(files: readonly { readonly name: string; readonly mode: number; readonly data: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const pad = (n: number): Uint8Array => new Uint8Array((4 - (n % 4)) % 4);
  const entry = (name: string, mode: number, data: Uint8Array, inode: number): void => {
    const fields = [inode, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
    const header = '070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('');
    const nameBytes = Buffer.from(`${name}\0`, 'latin1');
    parts.push(Buffer.from(header, 'latin1'), nameBytes, pad(header.length + nameBytes.length), data, pad(data.length));
  };
  files.forEach((f, i) => entry(f.name, f.mode, f.data, i + 1));
  entry('TRAILER!!!', 0, new Uint8Array(0), 0);
  return new Uint8Array(Buffer.concat(parts));
}

const ENDS = new Set<StepEvent['kind']>(['exit', 'shutdown', 'model-error']);

/** Boot to the end (exit port, shutdown, model error, halted for good) or `limit` instructions. */
export function bootLinux(kind: MachineKind, limit = 200_000_000, onConsole?: (text: string) => void, secondsLimit = Infinity, options: LinuxOptions = {}): LinuxBoot {
  const machine = linuxMachine(kind, options);
  const started = performance.now();
  let end: StepEvent | null = null;
  let printed = 0, steps = 0, previous: StepEvent['kind'] | null = null;
  const flush = (): void => {
    const out = machine.consoleOutput();
    if (onConsole !== undefined && out.length > printed) onConsole(Buffer.from(out.subarray(printed)).toString('latin1'));
    printed = out.length;
  };
  while (machine.state().instructionCount < limit && steps < 4 * limit) {
    const event = machine instanceof ImplMachine ? machine.run(0x10000) : machine.step();
    steps++;
    if ((steps & 0x3ff) === 0 || machine instanceof ImplMachine) flush();
    if ((steps & 0xffff) === 0 && (performance.now() - started) / 1000 > secondsLimit) break;
    const haltedForGood = event.kind === 'halted' && previous === 'halted';
    previous = event.kind;
    if (ENDS.has(event.kind) || haltedForGood) { end = event; break; }
  }
  flush();
  return {
    console: Buffer.from(machine.consoleOutput()).toString('latin1'),
    exitCode: end?.kind === 'exit' ? end.code : null,
    end,
    instructions: machine.state().instructionCount,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The same kernel, initramfs and command line on QEMU TCG (`-cpu 486,+tsc`,
 * `-icount shift=0` so that its TSC counts instructions, serial on stdio,
 * isa-debug-exit at 0xF4). */
export function bootLinuxOnQemu(timeoutSeconds = 120): { console: string; exitCode: number | null; seconds: number } {
  const started = performance.now();
  const r = spawnSync('qemu-system-i386', [
    '-cpu', '486,+tsc', '-m', String(LINUX_MEMORY >> 20), '-kernel', LINUX_BZIMAGE, '-initrd', LINUX_INITRD,
    '-append', DEFAULT_LINUX_APPEND, '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-no-reboot', '-icount', 'shift=0',
    '-rtc', 'base=2026-01-01T00:00:00,clock=vm',
  ], { encoding: 'latin1', timeout: timeoutSeconds * 1000 });
  return { console: (r.stdout ?? '').replace(/\r\n/g, '\n'), exitCode: r.status, seconds: (performance.now() - started) / 1000 };
}

/**
 * Console lines that may differ between our machines and QEMU, each with
 * its reason. Everything else must be the same, line for line.
 */
export const LINUX_QEMU_DIFFERENCES: readonly { readonly pattern: RegExp; readonly reason: string }[] = [
  { pattern: /^CPU: |^Speculative Store Bypass: |^L1TF: |^Spectre V[12]: |^MDS: |^MMIO Stale Data: |^Retbleed: /,
    reason: 'CPU identity: QEMU\'s -cpu 486 answers CPUID as an Intel 486 DX/4 (family 4); ours with its own vendor and family, and the kernel\'s list of CPUs immune to speculation bugs is by vendor and family' },
  { pattern: /^BIOS-e820: |^last_pfn = |^RAMDISK: |LOWMEM available|^ {2}(mapped )?low ram: |^ {2}Normal {3}\[mem |^ {2}node {3}0: |^Initmem setup node|available for PCI devices|^Built 1 zonelists|^Memory: /,
    reason: 'memory map: QEMU\'s SeaBIOS reserves its tables in the top 128 KiB of RAM and its ROM below 4 GiB; we have no BIOS and give RAM up to the end (LINUX.E820.1)' },
  { pattern: /^tsc: |^clocksource: tsc|^Calibrating delay loop|^clocksource: Switched to clocksource |^sched_clock: /,
    reason: 'clocks: our time is instructions at 1.193 MHz (IO.CLOCK.1), QEMU\'s -icount 1 GHz; calibration results and the clocksource chosen differ' },
  { pattern: /^bench: /,
    reason: 'instructions per operation depend on where timer ticks fall, and whether CPUID reports a TSC' },
];

/** Lines of a boot transcript with the known differences taken out. */
export function comparableLines(console: string): string[] {
  return console.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '' && !LINUX_QEMU_DIFFERENCES.some((d) => d.pattern.test(l)));
}

/** The microbenchmark lines of init ("bench: NAME N instructions per operation"). */
export function microbenchmarks(console: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of console.matchAll(/^bench: (.+) (\d+) instructions per operation\r?$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** guests/linux/clock-init.asm (a second /init that prints time(2) and exits
 * with code 85), assembled by our own assembler as an i386 ELF executable
 * and packed as /init in a cpio archive for --initrd. */
export const CLOCK_INIT_EXIT_CODE = (0x2a << 1) | 1;
export function clockInitrd(): { readonly bytes: Uint8Array; readonly name: string } {
  const source = join(LINUX_DIR, 'clock-init.asm');
  const result = assembleFile(source, { format: 'elf' });
  return { bytes: newcArchive([{ name: 'init', mode: 0o100755, data: result }]), name: 'clock-init.cpio' };
}
