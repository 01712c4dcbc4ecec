// step(state): one step of the model with the real decoder (model/isa).
import type { MachineState } from './state';
import { decode } from '../isa/decoder';
import { stepWith, type StepResult } from './cycle';

export type { StepResult } from './cycle';

/** Execute one instruction or deliver one interrupt (see cycle.ts). */
export function step(state: MachineState): StepResult {
  return stepWith(state, decode);
}
