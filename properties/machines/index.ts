// Choosing a machine by name, loading a Multiboot image into it, and running
// it to the end: the few steps every command, property and benchmark shares.
import type { Machine, StepEvent } from '../../model/machine';
import { loadMultiboot } from '../../model/boot/multiboot';
import { createModelMachine } from './model';
import { createImplMachine } from './impl';

export type MachineKind = 'model' | 'impl';
export const MACHINE_KINDS: readonly MachineKind[] = ['model', 'impl'];

export function parseMachineKind(text: string): MachineKind {
  if (text === 'model' || text === 'impl') return text;
  throw new Error(`--machine must be 'model' or 'impl', got '${text}'`);
}

export function createMachine(kind: MachineKind, memorySize: number): Machine {
  return kind === 'model' ? createModelMachine(memorySize) : createImplMachine(memorySize);
}

/** Loads a Multiboot image (ELF32 or flat with the a.out kludge) and sets the entry state. */
export function bootImage(machine: Machine, image: Uint8Array, imageName = 'image'): void {
  const loaded = loadMultiboot(image, machine.memorySize);
  if (loaded.kind === 'error') throw new Error(`${imageName}: ${loaded.message}`);
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
