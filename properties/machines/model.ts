// The Machine facade over the pure model: the one place that holds a
// mutable reference, to the current immutable MachineState.
import type { CommonState, Machine, StepEvent } from '../../model/machine';
import { fromCommon, initialState, toCommon, type MachineState } from '../../model/cpu/state';
import { readBytes, writeBytes } from '../../model/cpu/memory';
import { consoleBytes, type ConsoleLog } from '../../model/cpu/devices';
import { step } from '../../model/cpu/step';

export interface ModelMachine extends Machine {
  /** The current model state (immutable; for tests and properties). */
  modelState(): MachineState;
  /** Replace the whole model state, TLB and devices included. */
  setModelState(state: MachineState): void;
}

/** The event as the Machine interface gives it: without the model's `rule`
 * (spec id of a fault), which impl does not produce, so that whatever
 * compares two machines' events compares what both report. Drivers that want
 * the rule step the model itself (model/cpu/step.ts, model/explain.ts), or
 * ask the facade for it with `{ rules: true }`. */
export function withoutRule(event: StepEvent): StepEvent {
  if (event.kind !== 'exception' || event.rule === undefined) return event;
  return { kind: 'exception', vector: event.vector, errorCode: event.errorCode };
}

export function createModelMachine(memorySize: number, options: { readonly rules?: boolean } = {}): ModelMachine {
  const keepRules = options.rules === true;
  let current = initialState(memorySize);
  let cachedLog: ConsoleLog = null;
  let cachedBytes: Uint8Array = new Uint8Array(0);
  return {
    name: 'model',
    memorySize,
    state: (): CommonState => toCommon(current),
    setState(state: CommonState): void {
      current = fromCommon(current, state);
    },
    readPhysical: (address: number, length: number): Uint8Array => readBytes(current.memory, address, length),
    writePhysical(address: number, bytes: Uint8Array): void {
      current = { ...current, memory: writeBytes(current.memory, address, bytes) };
    },
    step(): StepEvent {
      const r = step(current);
      current = r.state;
      return keepRules ? r.event : withoutRule(r.event);
    },
    consoleOutput(): Uint8Array {
      if (current.devices.console !== cachedLog) {
        cachedLog = current.devices.console;
        cachedBytes = consoleBytes(cachedLog);
      }
      return cachedBytes;
    },
    modelState: () => current,
    setModelState(state: MachineState): void {
      current = state;
    },
  };
}
