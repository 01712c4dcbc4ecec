// Choosing a machine by name, loading a Multiboot image into it, and running
// it to the end: the few steps every command, property and benchmark shares.
import type { CommonState, Machine, StepEvent } from '../../model/machine';
import { loadMultiboot, type BootModule } from '../../model/boot/multiboot';
import { isBzImage, loadLinux } from '../../model/boot/linux';
import { createModelMachine } from './model';
import { createImplMachine } from './impl';
import { cmosAt, type RtcDate } from '../../model/cpu/cmos';

export type MachineKind = 'model' | 'impl';
export const MACHINE_KINDS: readonly MachineKind[] = ['model', 'impl'];

export function parseMachineKind(text: string): MachineKind {
  if (text === 'model' || text === 'impl') return text;
  throw new Error(`--machine must be 'model' or 'impl', got '${text}'`);
}

/** How a machine is configured beyond its memory size. */
export interface MachineOptions {
  /** The date the CMOS clock shows (IO.RTC.1); DEFAULT_RTC_DATE when absent. */
  readonly rtc?: RtcDate;
}

export function createMachine(kind: MachineKind, memorySize: number, options: MachineOptions = {}): Machine {
  if (kind === 'model') {
    const machine = createModelMachine(memorySize);
    if (options.rtc !== undefined) {
      const state = machine.modelState();
      machine.setModelState({ ...state, devices: { ...state.devices, cmos: cmosAt(options.rtc) } });
    }
    return machine;
  }
  const machine = createImplMachine(memorySize);
  if (options.rtc !== undefined) machine.cpu.devices.setRtc(options.rtc);
  return machine;
}

/** Reads a date for the RTC: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS` (UTC), a
 * real calendar date with year 1000..9999. Throws with the reason otherwise. */
export function parseRtcDate(text: string): RtcDate {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2}))?$/.exec(text);
  if (m === null) throw new Error(`--rtc must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, got '${text}'`);
  const [year, month, day, hour, minute, second] = m.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const check = new Date(0);
  check.setUTCFullYear(year, month - 1, day);
  const realDay = check.getUTCFullYear() === year && check.getUTCMonth() === month - 1 && check.getUTCDate() === day;
  if (year < 1000 || !realDay) throw new Error(`--rtc: '${text}' is not a calendar date between 1000-01-01 and 9999-12-31`);
  if (hour > 23 || minute > 59 || second > 59) throw new Error(`--rtc: '${text}' is not a time of day (00:00:00..23:59:59)`);
  return { year, month, day, hour, minute, second };
}

export interface BootOptions {
  /** Kernel command line (Linux: boot_params; Multiboot: the cmdline field). */
  readonly append?: string;
  /** An initrd (Linux) or boot module (Multiboot), and its file name for messages. */
  readonly initrd?: { readonly bytes: Uint8Array; readonly name: string };
  /** Multiboot only: several boot modules placed after the kernel (BOOT.MODULE.1), e.g. gandalf's guests. */
  readonly modules?: readonly BootModule[];
}

/** The command line a bzImage gets when none is given: the serial console,
 * and no387 so that QEMU's x87 is ignored as our machine has none. */
export const DEFAULT_LINUX_APPEND = 'console=ttyS0 no387';

/** Loads a bzImage (Linux boot protocol, told apart by its setup header) or
 * a Multiboot image (ELF32 or flat with the a.out kludge) and sets the
 * entry state. Errors name the image, or the initrd when it is at fault. */
export function bootImage(machine: Machine, image: Uint8Array, imageName = 'image', options: BootOptions = {}): void {
  const linux = isBzImage(image);
  const loaded = linux
    ? loadLinux(image, machine.memorySize, { commandLine: options.append ?? DEFAULT_LINUX_APPEND, initrd: options.initrd?.bytes ?? null })
    : loadMultiboot(image, machine.memorySize, { commandLine: options.append, module: options.initrd?.bytes, modules: options.modules });
  if (loaded.kind === 'error') {
    const culprit = options.initrd !== undefined && /initrd|module/.test(loaded.message) ? options.initrd.name : imageName;
    throw new Error(`${culprit}: ${loaded.message}`);
  }
  for (const w of loaded.writes) machine.writePhysical(w.address, w.bytes);
  machine.setState(loaded.entry);
}

export interface RunOutcome {
  /** The event that ended the run, or null when the step limit was reached. */
  readonly end: StepEvent | null;
  readonly steps: number;
  readonly console: string;
}

const ENDS_RUN = new Set<StepEvent['kind']>(['halted', 'shutdown', 'exit', 'model-error']);

/** Steps until the guest exits, halts for good, shuts down or hits a model error. */
export function runToEnd(machine: Machine, maxSteps: number): RunOutcome {
  let end: StepEvent | null = null;
  let steps = 0;
  let previous: StepEvent['kind'] | null = null;
  while (steps < maxSteps) {
    const event = machine.step();
    steps++;
    // A HLT reports 'halted' once; the next step either wakes the guest
    // (its timer fires) or reports 'halted' again: halted for good.
    const firstHalt = event.kind === 'halted' && previous !== 'halted';
    previous = event.kind;
    if (ENDS_RUN.has(event.kind) && !firstHalt) {
      end = event;
      break;
    }
  }
  return { end, steps, console: Buffer.from(machine.consoleOutput()).toString('latin1') };
}

/** Flat 32-bit protected mode at CPL 0, paging off, interrupts off: the state
 * a bare code image (no Multiboot header) starts in for unit runs and benchmarks. */
export function flatEntryState(eip: number, esp: number): CommonState {
  const flat = (selector: number, attributes: number) => ({ selector, base: 0, limit: 0xffffffff, attributes, valid: true });
  const data = flat(0x10, 0xc092);
  const none = { selector: 0, base: 0, limit: 0, attributes: 0, valid: false };
  return {
    regs: { eax: 0, ecx: 0, edx: 0, ebx: 0, esp, ebp: 0, esi: 0, edi: 0 },
    eip, eflags: 2,
    segments: { es: data, cs: flat(0x08, 0xc09a), ss: data, ds: data, fs: data, gs: data },
    cr0: 0x11, cr2: 0, cr3: 0, cr4: 0,
    gdtr: { base: 0, limit: 0 }, idtr: { base: 0, limit: 0 },
    ldtr: none, tr: none,
    halted: false, instructionCount: 0,
  };
}
