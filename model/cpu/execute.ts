// Execution of one decoded instruction: look its mnemonic up in the merged
// handler table. User-level families live in model/cpu/instructions/ (merged
// there into userHandlers), the system-level ones in model/cpu/system/.
import type { Instruction } from '../isa/ast';
import type { MachineState } from './state';
import type { Handler, Outcome } from './outcome';
import { userHandlers } from './instructions/index';
import { moveControlRegister, moveSegment, popSegment, pushSegment, systemHandlers } from './system/index';
import { moveDebugRegister } from './system/debug';
import { applied, explaining } from './applied';
import { instructionRule } from './instruction-rules';

/** Every handler by mnemonic. System handlers win on a clash. */
export const handlers: Readonly<Record<string, Handler>> = {
  ...userHandlers,
  ...systemHandlers,
};

/** MOV, PUSH and POP of segment and control registers share their mnemonic
 * with the user-level forms; they go to the system handlers. */
function systemForm(instr: Instruction): Handler | undefined {
  const m = instr.mnemonic;
  if (m !== 'mov' && m !== 'push' && m !== 'pop') return undefined;
  let creg = false, dreg = false, sreg = false;
  for (const op of instr.operands) {
    creg ||= op.kind === 'creg';
    dreg ||= op.kind === 'dreg';
    sreg ||= op.kind === 'sreg';
  }
  if (creg) return moveControlRegister;
  if (dreg) return moveDebugRegister;
  if (!sreg) return undefined;
  return m === 'mov' ? moveSegment : m === 'push' ? pushSegment : popSegment;
}

/** The handler of a decoded instruction, or undefined when the model has
 * none. It depends on the instruction alone, so the fetch keeps it with the
 * instruction in its decode cache (cycle.ts) instead of looking it up again
 * at every execution. */
export function handlerFor(instr: Instruction): Handler | undefined {
  return systemForm(instr) ?? handlers[instr.mnemonic];
}

/** Execute `instr` (already fetched and decoded; nextEip is the address just
 * after it) with its handler. Mnemonics without a handler are model errors,
 * never #UD. */
export function execute(state: MachineState, instr: Instruction, nextEip: number, handler: Handler | undefined = handlerFor(instr)): Outcome {
  if (handler === undefined) return { kind: 'model-error', message: `instruction '${instr.mnemonic}' is not implemented by the model` };
  if (explaining()) {
    const rule = instructionRule(instr);
    if (rule !== undefined) applied(rule, `the ${instr.mnemonic} instruction`);
  }
  return handler(state, instr, nextEip);
}
