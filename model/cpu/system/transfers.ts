// Far JMP/CALL/RET, INT n, INT3, INTO and IRET as handlers.
import type { Instruction } from '../../isa/ast';
import { update, type MachineState } from '../state';
import type { Handler, Outcome, Result } from '../outcome';
import { effectiveAddress, readMemory } from '../context';
import { deliverInterrupt } from '../interrupts';
import { farReturn, farTransfer, interruptReturn, transferOutcome } from '../privilege';
import { OF } from '../eflags';
import { Vector } from '../outcome';
import { operand } from './common';

/** The far pointer of a JMP/CALL: immediate ptr16:32, or m16:32 in memory
 * (offset first, then the selector). */
function farPointer(state: MachineState, instr: Instruction): Result<{ selector: number; offset: number; state: MachineState }> {
  const op = operand(instr, 0);
  if (op.kind === 'far') return { kind: 'ok', value: { selector: op.selector, offset: op.offset, state } };
  if (op.kind !== 'mem') throw new Error('model bug: far transfer operand');
  const { segment, offset } = effectiveAddress(state, instr, op);
  const size = instr.operandSize;
  const o = readMemory(state, segment, offset, size);
  if (o.kind !== 'ok') return o;
  const sel = readMemory(o.value.state, segment, (offset + size / 8) >>> 0, 16);
  if (sel.kind !== 'ok') return sel;
  return { kind: 'ok', value: { selector: sel.value.value, offset: o.value.value, state: sel.value.state } };
}

function far(call: boolean): Handler {
  return (state, instr, nextEip) => {
    const ptr = farPointer(state, instr);
    if (ptr.kind !== 'ok') return ptr;
    return transferOutcome(farTransfer(ptr.value.state, ptr.value.selector, ptr.value.offset, instr.operandSize, call, nextEip));
  };
}

const retf: Handler = (state, instr) => {
  const op = instr.operands[0];
  const release = op !== undefined && op.kind === 'imm' ? op.value & 0xffff : 0;
  return transferOutcome(farReturn(state, instr.operandSize, release));
};

const iret: Handler = (state, instr) => transferOutcome(interruptReturn(state, instr.operandSize));

/** [EXC.SOFT.1] INT n, INT3 and INTO deliver their vector as software
 * interrupts (a trap: the pushed EIP is the next instruction; the gate's DPL
 * must be >= CPL). A fault during that delivery is a fault of the INT
 * instruction itself. */
function softwareInterrupt(state: MachineState, vector: number, nextEip: number): Outcome {
  const delivered = deliverInterrupt(state, vector, null, 'software', nextEip);
  return delivered.kind === 'ok' ? { kind: 'ok', state: delivered.value } : delivered;
}

const int: Handler = (state, instr, nextEip) => {
  const op = operand(instr, 0);
  if (op.kind !== 'imm') throw new Error('model bug: INT operand');
  return softwareInterrupt(state, op.value & 0xff, nextEip);
};
const int3: Handler = (state, _instr, nextEip) => softwareInterrupt(state, Vector.BP, nextEip);
/** [EXC.SOFT.2] INTO raises #OF only when OF = 1; otherwise it does nothing. */
const into: Handler = (state, _instr, nextEip) =>
  state.eflags & OF ? softwareInterrupt(state, Vector.OF, nextEip) : { kind: 'ok', state: update(state, { eip: nextEip }) };

/** [EXC.SOFT.3] INT1 (F1) raises #DB as a trap (the pushed EIP is the next
 * instruction) but is delivered like a hardware exception: no gate-DPL check
 * and EXT = 1 in the error code of a fault during delivery (SDM vol. 2,
 * INT n/INTO/INT3/INT1, "does not apply to INT1"). DR6 is not modelled. */
const int1: Handler = (state, _instr, nextEip) => {
  const delivered = deliverInterrupt(state, Vector.DB, null, 'exception', nextEip);
  return delivered.kind === 'ok' ? { kind: 'ok', state: delivered.value } : delivered;
};

export const transferHandlers: Record<string, Handler> = {
  jmpf: far(false), callf: far(true), retf, iret, int, int3, into, int1,
};
