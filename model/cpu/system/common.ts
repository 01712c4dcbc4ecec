// Small helpers shared by the system-level handlers.
import type { Instruction, Operand } from '../../isa/ast';
import { update, type MachineState } from '../state';
import { cpl, effectiveAddress, readMemory, readOperand, type Outcome, type Result } from '../context';
import { gp } from '../outcome';
import { applied, explaining } from '../applied';

/** Continue at the next instruction. */
export const next = (state: MachineState, nextEip: number): Outcome => ({ kind: 'ok', state: update(state, { eip: nextEip }) });

/** Finish a handler from a Result<MachineState>, moving EIP on. */
export function done(result: Result<MachineState>, nextEip: number): Outcome {
  return result.kind === 'ok' ? next(result.value, nextEip) : result;
}

/** [PRIV.INSN.1] Privileged instructions (HLT, LGDT, LIDT, LLDT, LTR, LMSW,
 * CLTS, MOV to/from CRn, INVLPG, WBINVD) fault #GP(0) at CPL > 0. */
export function privileged(handler: (state: MachineState, instr: Instruction, nextEip: number) => Outcome) {
  return (state: MachineState, instr: Instruction, nextEip: number): Outcome => {
    if (cpl(state) !== 0) return gp(0, 'PRIV.INSN.1');
    if (explaining()) applied('PRIV.INSN.1', `${instr.mnemonic} at CPL 0`);
    return handler(state, instr, nextEip);
  };
}

/** Read a 16-bit selector operand (register or memory). */
export function readSelector(state: MachineState, instr: Instruction, op: Operand): Result<{ value: number; state: MachineState }> {
  if (op.kind === 'mem') {
    const { segment, offset } = effectiveAddress(state, instr, op);
    return readMemory(state, segment, offset, 16);
  }
  const r = readOperand(state, instr, op);
  return r.kind === 'ok' ? { kind: 'ok', value: { value: r.value.value & 0xffff, state: r.value.state } } : r;
}

export function operand(instr: Instruction, i: number): Operand {
  const op = instr.operands[i];
  if (op === undefined) throw new Error(`model bug: ${instr.mnemonic} has no operand ${i}`);
  return op;
}
