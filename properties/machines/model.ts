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

export function createModelMachine(memorySize: number): ModelMachine {
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
      return r.event;
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
