// Handlers for near control transfer (JMP, Jcc, LOOP/LOOPE/LOOPNE, JECXZ,
// CALL, RET), the conditional moves and sets (SETcc, CMOVcc) and BOUND.
import { addressWidth, toWidth } from '../address-width';
import type { Instruction } from '../../isa/ast';
import { conditionHolds } from '../arith/conditions';
import { toSigned } from '../arith/flags';
import { attr, effectiveAddress, pop, push, readMemory, readOperand, readRegister, stackPointer, withStackPointer, writeRegister } from '../context';
import { ZF } from '../eflags';
import { fault, ud, Vector, type Handler, type Outcome, type Result } from '../outcome';
import { update, type MachineState } from '../state';
import { ECX, jumpNear, operand, retire, writeAndRetire } from './common';

/** The target of a near JMP or CALL: relative to the next instruction, or
 * absolute from a register or memory operand. */
function nearTarget(state: MachineState, instr: Instruction, nextEip: number): Result<{ value: number; state: MachineState }> {
  const op = operand(instr, 0);
  if (op.kind === 'rel') return { kind: 'ok', value: { value: (nextEip + op.offset) >>> 0, state } };
  return readOperand(state, instr, op);
}

const conditionOf = (instr: Instruction): number => instr.condition ?? 0;

// [INS.BRANCH.2] Jcc jumps to its relative target when its condition holds
// (INS.COND.1) and otherwise falls through; no flag changes.
const jumpIf: Handler = (state, instr, nextEip) => {
  if (!conditionHolds(conditionOf(instr), state.eflags)) return retire(state, nextEip);
  const op = operand(instr, 0);
  return jumpNear(state, instr, nextEip + (op.kind === 'rel' ? op.offset : 0));
};

const jump: Handler = (state, instr, nextEip) => {
  const target = nearTarget(state, instr, nextEip);
  if (target.kind !== 'ok') return target;
  return jumpNear(target.value.state, instr, target.value.value);
};

// [INS.BRANCH.3] LOOP decrements ECX (without touching flags) and jumps when
// the result is not zero; LOOPE also needs ZF = 1 and LOOPNE ZF = 0. JECXZ
// jumps when ECX is zero and does not change it. With the address-size
// prefix the counter is CX (JCXZ; INS.ADDR16.1). A fault on the target
// leaves the counter as before the instruction.
const loop = (needZero: boolean | null): Handler => (state, instr, nextEip) => {
  const width = addressWidth(instr);
  const count = toWidth(readRegister(state, width, ECX) - 1, width);
  const s = writeRegister(state, width, ECX, count);
  const zf = (state.eflags & ZF) !== 0;
  const taken = count !== 0 && (needZero === null || zf === needZero);
  if (!taken) return retire(s, nextEip);
  const op = operand(instr, 0);
  return jumpNear(s, instr, nextEip + (op.kind === 'rel' ? op.offset : 0));
};

const jumpIfCounterZero: Handler = (state, instr, nextEip) => {
  if (readRegister(state, addressWidth(instr), ECX) !== 0) return retire(state, nextEip);
  const op = operand(instr, 0);
  return jumpNear(state, instr, nextEip + (op.kind === 'rel' ? op.offset : 0));
};

// [INS.BRANCH.4] Near CALL checks the target against the CS limit first
// (#GP(0)), then pushes the address of the next instruction with the operand
// size (16 bits: IP), then jumps.
const call: Handler = (state, instr, nextEip) => {
  const target = nearTarget(state, instr, nextEip);
  if (target.kind !== 'ok') return target;
  const jumped = jumpNear(target.value.state, instr, target.value.value);
  if (jumped.kind !== 'ok') return jumped;
  const pushed = push(target.value.state, nextEip, instr.operandSize);
  if (pushed.kind !== 'ok') return pushed;
  return { kind: 'ok', state: update(pushed.value, { eip: jumped.state.eip }) };
};

// [INS.BRANCH.5] Near RET pops the return address with the operand size,
// checks it against the CS limit (#GP(0)), jumps, and then with an imm16
// operand releases that many more bytes of stack.
const ret: Handler = (state, instr) => {
  const popped = pop(state, instr.operandSize);
  if (popped.kind !== 'ok') return popped;
  if (instr.operands.length === 0) return jumpNear(popped.value.state, instr, popped.value.value);
  // The release is made before the jump's limit check: a #GP there leaves
  // the state as before the instruction either way (EXC.FAULT.1).
  const release = operand(instr, 0);
  const bytes = release.kind === 'imm' ? release.value & 0xffff : 0;
  const mask = attr.big(state.segments.ss) ? 0xffffffff : 0xffff;
  const released = withStackPointer(popped.value.state, (stackPointer(popped.value.state) + bytes) & mask);
  return jumpNear(released, instr, popped.value.value);
};

// [INS.COND.2] SETcc writes 1 to its byte operand when the condition holds
// and 0 otherwise.
const setIf: Handler = (state, instr, nextEip) =>
  writeAndRetire(state, instr, operand(instr, 0), conditionHolds(conditionOf(instr), state.eflags) ? 1 : 0, nextEip);

// [INS.COND.3] CMOVcc always reads its source (the manual's operation is
// "temp := SRC; IF condition THEN DEST := temp"), so a memory source faults
// even when the condition is false; the destination is written only when the
// condition holds.
const moveIf: Handler = (state, instr, nextEip) => {
  const src = readOperand(state, instr, operand(instr, 1));
  if (src.kind !== 'ok') return src;
  if (!conditionHolds(conditionOf(instr), state.eflags)) return retire(src.value.state, nextEip);
  return writeAndRetire(src.value.state, instr, operand(instr, 0), src.value.value, nextEip);
};

// [INS.BOUND.1] BOUND reads a signed lower bound at its memory operand and a
// signed upper bound just after it (operand-size each) and raises #BR when
// the index register is below the lower or above the upper bound. A register
// in place of the memory operand is #UD.
const bound: Handler = (state, instr, nextEip): Outcome => {
  const [index, pair] = [operand(instr, 0), operand(instr, 1)];
  if (pair.kind !== 'mem') return ud('ENC.UD.2');
  const size = instr.operandSize;
  const { segment, offset } = effectiveAddress(state, instr, pair);
  const lower = readMemory(state, segment, offset, size);
  if (lower.kind !== 'ok') return lower;
  const upper = readMemory(lower.value.state, segment, (offset + size / 8) >>> 0, size);
  if (upper.kind !== 'ok') return upper;
  const value = readOperand(upper.value.state, instr, index);
  if (value.kind !== 'ok') return value;
  const i = toSigned(size, value.value.value);
  if (i < toSigned(size, lower.value.value) || i > toSigned(size, upper.value.value)) return fault(Vector.BR, null, 'INS.BOUND.1');
  return retire(value.value.state, nextEip);
};

export const controlHandlers: Readonly<Record<string, Handler>> = {
  jcc: jumpIf, jmp: jump, call, ret,
  loop: loop(null), loope: loop(true), loopne: loop(false), jecxz: jumpIfCounterZero,
  setcc: setIf, cmovcc: moveIf, bound,
};
