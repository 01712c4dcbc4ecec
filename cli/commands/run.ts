// `mesovirt run IMAGE`: boot a Multiboot image on a machine and run it.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { Machine, StepEvent } from '../../model/machine';
import { bootImage, createMachine, parseMachineKind, parseRtcDate } from '../../properties/machines';
import { ImplMachine } from '../../impl/machine';

/** Process exit statuses for runs that end without the exit port. */
export const RUN_STATUS = { halted: 3, shutdown: 4, modelError: 5, limit: 6 } as const;


function parseCount(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got '${text}'`);
  return n;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

function describe(event: StepEvent): string {
  switch (event.kind) {
    case 'exception': return `exception ${event.vector}${event.errorCode === null ? '' : ` (error code ${hex(event.errorCode)})`}`;
    case 'interrupt': return `interrupt ${event.vector}`;
    case 'shutdown': return `shutdown: ${event.reason}`;
    case 'exit': return `exit ${event.code}`;
    case 'model-error': return `model error: ${event.message}`;
    default: return event.kind;
  }
}

export function register(program: Command): void {
  program
    .command('run')
    .description('boot a Multiboot image and run it; exits with the guest\'s exit-port status ((value << 1) | 1, as QEMU), '
      + `or ${RUN_STATUS.halted} halted for good, ${RUN_STATUS.shutdown} shutdown, ${RUN_STATUS.modelError} model error, ${RUN_STATUS.limit} instruction limit`)
    .argument('[image]', 'a Linux bzImage or a Multiboot v1 kernel (ELF32 or flat with the a.out kludge), told apart by their headers')
    .option('--append <args>', 'kernel command line (bzImage default: console=ttyS0 no387; Multiboot: the cmdline field)')
    .option('--initrd <file>', 'initrd for a bzImage (unpacked over its built-in initramfs); a boot module for Multiboot')
    .option('--machine <kind>', 'model or impl (impl when available)', 'impl')
    .option('--max-instructions <n>', 'stop after this many steps', '100000000')
    .option('--trace <file>', 'write one JSON line per step')
    .option('--memory <MiB>', 'RAM size in MiB; with --vmm, the memory mode: shadow-single, shadow-multi or direct', '64')
    .option('--guest <image>', 'with --vmm: one more guest (repeat for several; spec/memory.md)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--module <file>', 'a Multiboot module placed after the image (repeat for several; e.g. a guest for gandalf)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--rtc <date>', 'the date the CMOS clock shows, YYYY-MM-DD[THH:MM:SS] (UTC; default 2026-01-01T00:00:00)')
    .option('--vmm', 'run the image as a guest of the monitor (ring 1)').option('--vmm-base <addr>', 'the VMM base (default 0xFC000000)')
    .option('--explain', 'on the model, print each step of a window with the spec rules it applied (spec/explain.md)')
    .option('--from <n>', 'with --explain: the first step explained (0 is the first step)')
    .option('--steps <k>', 'with --explain: how many steps are explained (default 20)')
    .action(async (image: string | undefined, opts: { machine: string; maxInstructions: string; trace?: string; memory: string; vmm?: boolean; vmmBase?: string; guest: string[]; append?: string; initrd?: string; module: string[]; rtc?: string; explain?: boolean; from?: string; steps?: string }) => {
      if (opts.explain !== true && (opts.from !== undefined || opts.steps !== undefined)) throw new Error('--from and --steps go with --explain');
      if (opts.explain === true) {
        const { explainRun, parseWindowOption, projectRootOf } = await import('./run-explain');
        const from = parseWindowOption(opts.from ?? '0', '--from', false);
        const steps = parseWindowOption(opts.steps ?? '20', '--steps', true);
        if (image === undefined) throw new Error('missing the image to explain');
        if (opts.guest.length > 0 || opts.module.length > 0 || opts.initrd !== undefined || opts.trace !== undefined) throw new Error('--explain takes one image (no --guest, --module, --initrd or --trace)');
        const memoryMiB = opts.vmm === true ? 64 : parseCount(opts.memory, '--memory');
        const root = projectRootOf(dirname(fileURLToPath(import.meta.url)));
        const rtc = opts.rtc === undefined ? undefined : parseRtcDate(opts.rtc);
        const lines = explainRun(image, { from, steps, memoryMiB, vmm: opts.vmm === true, vmmBase: opts.vmmBase, append: opts.append, rtc }, root);
        process.stdout.write(lines.map((l) => `${l}\n`).join(''));
        return;
      }
      const limit = parseCount(opts.maxInstructions, '--max-instructions');
      const several = await import('./run-guests');
      if (opts.vmm === true && (opts.guest.length > 0 || several.isMemoryMode(opts.memory))) return several.runGuestsCommand(image, opts.guest, { memory: opts.memory, maxInstructions: limit, machine: opts.machine });
      if (image === undefined) throw new Error('missing the image to run');
      if (opts.vmm === true) return (await import('./run-vmm')).runUnderMonitor(image, { maxInstructions: limit, vmmBase: opts.vmmBase, machine: opts.machine });
      const memorySize = parseCount(opts.memory, '--memory') * 1024 * 1024;
      const rtc = opts.rtc === undefined ? undefined : parseRtcDate(opts.rtc);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(image));
      } catch (e) {
        throw new Error(`${image}: cannot read (${(e as Error).message})`);
      }
      let initrd: { bytes: Uint8Array; name: string } | undefined;
      if (opts.initrd !== undefined) {
        try {
          initrd = { bytes: new Uint8Array(readFileSync(opts.initrd)), name: opts.initrd };
        } catch (e) {
          throw new Error(`${opts.initrd}: cannot read (${(e as Error).message})`);
        }
      }
      const machine = createMachine(parseMachineKind(opts.machine), memorySize, { rtc });
      const modules = opts.module.map((file) => {
        try {
          return { name: basename(file), bytes: new Uint8Array(readFileSync(file)) };
        } catch (e) {
          throw new Error(`${file}: cannot read (${(e as Error).message})`);
        }
      });
      bootImage(machine, bytes, image, { append: opts.append, initrd, modules });
      // impl without a trace runs translated blocks (ImplMachine.run); the
      // events that end a run are the same as step by step.
      const fast = opts.trace === undefined && machine instanceof ImplMachine ? machine : null;

      const trace: string[] = [];
      let disassembleAt: ((m: Machine) => string | undefined) | null = null;
      if (opts.trace !== undefined) {
        const { decode } = await import('../../model/isa/decoder');
        const { disassemble } = await import('../../model/isa/disassembler');
        disassembleAt = (m) => {
          const s = m.state();
          if (s.cr0 & 0x80000000) return undefined; // linear != physical: not worth a walk here
          const at = (s.segments.cs.base + s.eip) >>> 0;
          const d = decode(m.readPhysical(at, 15));
          return d.kind === 'ok' ? disassemble(d.instruction, s.eip) : undefined;
        };
      }
      let printed = 0;
      const flush = (): void => {
        const out = machine.consoleOutput();
        if (out.length > printed) {
          process.stdout.write(out.subarray(printed));
          printed = out.length;
        }
      };
      let status: number = RUN_STATUS.limit;
      let steps = 0;
      let previous: StepEvent['kind'] | null = null;
      for (; steps < limit; steps++) {
        const eip = disassembleAt === null ? 0 : machine.state().eip;
        const text = disassembleAt === null ? undefined : disassembleAt(machine);
        let event: StepEvent;
        if (fast !== null) {
          // run() stops at the first event other than 'retired' or after the chunk.
          const before = fast.cpu.instructionCount;
          event = fast.run(Math.min(0x10000, limit - steps));
          const advanced = fast.cpu.instructionCount - before;
          steps += Math.max(0, advanced - 1);
          flush();
        } else {
          event = machine.step();
        }
        if (disassembleAt !== null) trace.push(JSON.stringify({ step: steps, eip, disassembly: text, event }));
        if ((steps & 0x3ff) === 0) flush();
        // A HLT reports 'halted' once; the next step either wakes the guest
        // (its timer fires) or reports 'halted' again: halted for good.
        const firstHalt = event.kind === 'halted' && previous !== 'halted';
        previous = event.kind;
        if (event.kind === 'retired' || event.kind === 'interrupt' || event.kind === 'exception' || firstHalt) continue;
        flush();
        const s = machine.state();
        if (event.kind === 'exit') {
          status = event.code & 0xff;
        } else if (event.kind === 'halted') {
          process.stderr.write(`mesovirt: guest halted for good at eip ${hex(s.eip)} (interrupts off or none can arrive) after ${s.instructionCount} instructions\n`);
          status = RUN_STATUS.halted;
        } else {
          process.stderr.write(`mesovirt: ${describe(event)} at eip ${hex(s.eip)} after ${s.instructionCount} instructions\n`);
          status = event.kind === 'shutdown' ? RUN_STATUS.shutdown : RUN_STATUS.modelError;
        }
        break;
      }
      flush();
      if (steps >= limit) process.stderr.write(`mesovirt: stopped after ${limit} steps (--max-instructions)\n`);
      if (opts.trace !== undefined) {
        const temp = join(dirname(opts.trace), `.${basename(opts.trace)}.${process.pid}.tmp`);
        writeFileSync(temp, trace.map((l) => `${l}\n`).join(''));
        renameSync(temp, opts.trace);
      }
      process.exitCode = status;
    });
}
