// Handlers for the integer ALU, shifts and rotates: read the operands, run
// the pure operation from model/cpu/arith, write the result and the flags.
import type { Instruction } from '../../isa/ast';
import { binaryOperations, unaryOperations, type BinaryMnemonic, type UnaryMnemonic } from '../arith/alu';
import { shiftOperations, shld, shrd, type ShiftMnemonic } from '../arith/shifts';
import type { ArithResult } from '../arith/flags';
import { readOperand, readOperandForWrite } from '../context';
import { ud, type Handler, type Outcome } from '../outcome';
import type { MachineState } from '../state';
import { operand, retireWithFlags, widthOf, writeAndRetireWithFlags } from './common';

/** Write `r.result` to the destination (unless `discard`) and its flags. The
 * destination is written first, so a faulting write leaves the flags alone. */
function finish(state: MachineState, instr: Instruction, r: ArithResult, nextEip: number, discard = false): Outcome {
  if (discard) return retireWithFlags(state, r, nextEip);
  return writeAndRetireWithFlags(state, instr, operand(instr, 0), r, nextEip);
}

// [INS.ALU.7] LOCK is allowed only with a memory destination; with a
// register destination the instruction raises #UD.
const lockMisused = (instr: Instruction): boolean => instr.lock && operand(instr, 0).kind !== 'mem';

/** ADD OR ADC SBB AND SUB XOR CMP TEST: dest := dest op src. */
const binary = (mnemonic: BinaryMnemonic): Handler => {
  // The operation and whether the result is only compared are looked up once, not at every execution.
  const operation = binaryOperations[mnemonic];
  const compares = mnemonic === 'cmp' || mnemonic === 'test';
  // [PAGE.RMW.1] Every form but CMP and TEST writes its memory destination.
  const readDestination = compares ? readOperand : readOperandForWrite;
  return (state, instr, nextEip) => {
    if (lockMisused(instr)) return ud('ENC.PREFIX.5');
    const dest = operand(instr, 0);
    const size = widthOf(instr, dest);
    const a = readDestination(state, instr, dest);
    if (a.kind !== 'ok') return a;
    const b = readOperand(a.value.state, instr, operand(instr, 1));
    if (b.kind !== 'ok') return b;
    const r = operation(size, a.value.value, b.value.value, state.eflags);
    return finish(b.value.state, instr, r, nextEip, compares);
  };
};

/** INC DEC NEG NOT: dest := op dest. */
const unary = (mnemonic: UnaryMnemonic): Handler => {
  const operation = unaryOperations[mnemonic];
  return (state, instr, nextEip) => {
    if (lockMisused(instr)) return ud('ENC.PREFIX.5');
    const dest = operand(instr, 0);
    // [PAGE.RMW.1]
    const a = readOperandForWrite(state, instr, dest);
    if (a.kind !== 'ok') return a;
    const r = operation(widthOf(instr, dest), a.value.value, state.eflags);
    return finish(a.value.state, instr, r, nextEip);
  };
};

/** ROL ROR RCL RCR SHL SHR SAR: dest := dest shifted by the count operand
 * (an immediate, the constant 1, or CL). */
const shift = (mnemonic: ShiftMnemonic): Handler => {
  const operation = shiftOperations[mnemonic];
  return (state, instr, nextEip) => {
    const dest = operand(instr, 0);
    // [PAGE.RMW.1]
    // [PAGE.RMW.2] Even with a count that masks to 0: the result (then the
    // operand itself) is written back below.
    const a = readOperandForWrite(state, instr, dest);
    if (a.kind !== 'ok') return a;
    const count = readOperand(a.value.state, instr, operand(instr, 1));
    if (count.kind !== 'ok') return count;
    const r = operation(widthOf(instr, dest), a.value.value, count.value.value, state.eflags);
    return finish(count.value.state, instr, r, nextEip);
  };
};

/** SHLD SHRD: dest := dest shifted by the count, filled from src. */
const doubleShift = (left: boolean): Handler => (state, instr, nextEip) => {
  const dest = operand(instr, 0);
  // [PAGE.RMW.1] [PAGE.RMW.2]
  const a = readOperandForWrite(state, instr, dest);
  if (a.kind !== 'ok') return a;
  const b = readOperand(a.value.state, instr, operand(instr, 1));
  if (b.kind !== 'ok') return b;
  const count = readOperand(b.value.state, instr, operand(instr, 2));
  if (count.kind !== 'ok') return count;
  const r = (left ? shld : shrd)(widthOf(instr, dest), a.value.value, b.value.value, count.value.value, state.eflags);
  return finish(count.value.state, instr, r, nextEip);
};

export const arithmeticHandlers: Readonly<Record<string, Handler>> = {
  add: binary('add'), or: binary('or'), adc: binary('adc'), sbb: binary('sbb'),
  and: binary('and'), sub: binary('sub'), xor: binary('xor'), cmp: binary('cmp'), test: binary('test'),
  inc: unary('inc'), dec: unary('dec'), neg: unary('neg'), not: unary('not'),
  rol: shift('rol'), ror: shift('ror'), rcl: shift('rcl'), rcr: shift('rcr'),
  shl: shift('shl'), shr: shift('shr'), sar: shift('sar'),
  shld: doubleShift(true), shrd: doubleShift(false),
};
