// Running a conformance kernel on our own machines, in process: load the
// Multiboot image, step until the exit port, a shutdown, a model error or
// the step limit, and return what the kernel printed plus how it ended.
import type { Machine, StepEvent } from '../../model/machine';
import { loadMultiboot } from '../../model/boot/multiboot';
import { createModelMachine } from '../machines/model';
import { createImplMachine } from '../machines/impl';

export type OwnMachine = 'model' | 'impl';
export const OWN_MACHINES: readonly OwnMachine[] = ['model', 'impl'];

export interface Transcript {
  /** What the kernel printed on port 0xE9. */
  readonly text: string;
  /** How the run ended: 'exit', 'shutdown', 'halted', 'limit', 'model-error: …', 'timeout'. */
  readonly ending: string;
  /** Every exception event of an in-process run, with its step number (on the model each names
   * the rule that raised it: properties/explain/checks.ts checks them). */
  readonly exceptions?: ReadonlyArray<{ readonly step: number; readonly event: Extract<StepEvent, { kind: 'exception' }> }>;
}

const MEMORY = 64 * 1024 * 1024;
export const STEP_LIMIT = 20_000_000;

export function createMachine(kind: OwnMachine): Machine {
  return kind === 'model' ? createModelMachine(MEMORY, { rules: true }) : createImplMachine(MEMORY);
}

export function runOnMachine(image: Uint8Array, machine: Machine, limit = STEP_LIMIT): Transcript {
  const loaded = loadMultiboot(image, machine.memorySize);
  if (loaded.kind === 'error') throw new Error(`conformance image does not load: ${loaded.message}`);
  for (const w of loaded.writes) machine.writePhysical(w.address, w.bytes);
  machine.setState(loaded.entry);
  let ending = 'limit';
  const exceptions: Array<NonNullable<Transcript['exceptions']>[number]> = [];
  for (let i = 0; i < limit; i++) {
    const event = machine.step();
    if (event.kind === 'exception') exceptions.push({ step: i, event });
    if (event.kind === 'retired' || event.kind === 'exception' || event.kind === 'interrupt') continue;
    ending = event.kind === 'model-error' ? `model-error: ${event.message}` : event.kind;
    break;
  }
  return { text: new TextDecoder('latin1').decode(machine.consoleOutput()), ending, exceptions };
}
