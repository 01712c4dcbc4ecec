// Runs a benchmark image on one of our own machines (model or impl) in this
// process: load it with the Multiboot loader, step until the exit port, and
// report what it printed and how many instructions it retired.
import type { Machine, StepEvent } from '../model/machine';
import { loadMultiboot } from '../model/boot/multiboot';
import { createModelMachine } from '../properties/machines/model';
import { createImplMachine } from '../properties/machines/impl';

export const MEMORY_SIZE = 64 * 1024 * 1024;

export interface GuestRun {
  readonly output: string;
  readonly instructions: number;
  readonly ms: number;
  /** How the run ended: 'exit' is the only good ending. */
  readonly ending: string;
}

type Runner = Machine & { run?: (limit: number) => StepEvent; runThroughEvents?: (limit: number) => StepEvent };

export function bootImage(kind: 'model' | 'impl', image: Uint8Array): Runner {
  const loaded = loadMultiboot(image, MEMORY_SIZE);
  if (loaded.kind === 'error') throw new Error(`benchmark image: ${loaded.message}`);
  const machine: Runner = kind === 'impl' ? createImplMachine(MEMORY_SIZE) : createModelMachine(MEMORY_SIZE);
  for (const w of loaded.writes) machine.writePhysical(w.address, w.bytes);
  machine.setState(loaded.entry);
  return machine;
}

/** Boots and runs an image to its end (or `limit` instructions). The timing
 * covers the run only, not the loading. `onProgress` is called now and then
 * with the instructions retired so far. */
export function runGuest(kind: 'model' | 'impl', image: Uint8Array, limit = 2e9,
  onProgress?: (instructions: number) => void): GuestRun {
  const machine = bootImage(kind, image);
  const chunk = kind === 'impl' ? 1_000_000 : 20_000;
  const start = performance.now();
  let event: StepEvent = { kind: 'retired' };
  let done = 0, events = 0;
  outer: while (done < limit) {
    if (machine.runThroughEvents !== undefined) {
      // impl goes on through the exceptions and interrupts it delivers (as
      // v86's and QEMU's loops do) and stops after a chunk or at the end.
      event = machine.runThroughEvents(chunk);
      if (event.kind !== 'retired') break;
      done = machine.state().instructionCount;
    } else if (machine.run !== undefined) {
      event = machine.run(chunk);
      if (event.kind !== 'retired' && event.kind !== 'interrupt' && event.kind !== 'exception') break;
      // run() stops at every interrupt and exception (the syscall kernel
      // takes two per round): building the whole state after each would
      // cost more than delivering it, so the count is read after a full
      // chunk, or every 1024 events.
      if (event.kind !== 'retired' && ++events % 1024 !== 0) continue;
      done = machine.state().instructionCount;
    } else {
      for (let i = 0; i < chunk; i++) {
        event = machine.step();
        if (event.kind !== 'retired' && event.kind !== 'interrupt' && event.kind !== 'exception') break outer;
      }
      done += chunk;
    }
    onProgress?.(machine.state().instructionCount);
  }
  const ms = performance.now() - start;
  return {
    output: Buffer.from(machine.consoleOutput()).toString('latin1'),
    instructions: machine.state().instructionCount,
    ms,
    ending: event.kind === 'exit' ? 'exit' : event.kind === 'retired' ? 'instruction limit' : event.kind,
  };
}
