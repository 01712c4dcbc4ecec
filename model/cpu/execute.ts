// Execution of one decoded instruction: look its mnemonic up in the merged
// handler table. User-level families live in model/cpu/instructions/, the
// system-level ones in model/cpu/system/.
import type { Instruction } from '../isa/ast';
import type { MachineState } from './state';
import type { Handler, Outcome } from './outcome';
import { systemHandlers } from './system/index';

/** Every handler by mnemonic. Later records override earlier ones. */
export const handlers: Readonly<Record<string, Handler>> = {
  ...systemHandlers,
};

/** Execute `instr` (already fetched and decoded; nextEip is the address just
 * after it). Mnemonics without a handler are model errors, never #UD. */
export function execute(state: MachineState, instr: Instruction, nextEip: number): Outcome {
  const handler = handlers[instr.mnemonic];
  if (handler === undefined) return { kind: 'model-error', message: `instruction '${instr.mnemonic}' is not implemented by the model` };
  return handler(state, instr, nextEip);
}
