// Small pieces every user-level instruction handler shares: finishing an
// instruction, applying a flag result, operand widths, and the near-branch
// target check.
import type { Instruction, Operand, OperandSize } from '../../isa/ast';
import { flagsAfter, withFlags } from '../eflags';
import { gp, type Outcome, type Result } from '../outcome';
import { markedUndefined, registersAfter, writeOperand, writeResult } from '../context';
import { retiredResult, type MachineState } from '../state';
import type { ArithResult } from '../arith/flags';

// Each retire helper below makes the state the instruction retires with in
// one copy, counted (retiredResult, state.ts): `counted: true` tells the
// cycle not to count it again.

/** Retire: the state with EIP at the next instruction. */
export const retire = (state: MachineState, nextEip: number): Outcome => ({
  kind: 'ok',
  state: retiredResult(state, { regs: state.regs, undefinedRegisters: state.undefinedRegisters, eflags: state.eflags, undefinedFlags: state.undefinedFlags, eip: nextEip >>> 0 }),
  counted: true,
});

/** Retire from a Result: a fault passes through unchanged. */
export const retireWith = (result: Result<MachineState>, nextEip: number): Outcome =>
  result.kind === 'ok' ? retire(result.value, nextEip) : result;

/** Store a pure operation's flag record into EFLAGS (and the ghost undefined mask). */
export const applyFlags = (state: MachineState, r: Pick<ArithResult, 'flags' | 'written' | 'undefined'>): MachineState =>
  withFlags(state, { written: r.written, values: r.flags, undefined: r.undefined });

/** applyFlags, then retire: the flags and EIP in one new state. */
export function retireWithFlags(state: MachineState, r: Pick<ArithResult, 'flags' | 'written' | 'undefined'>, nextEip: number): Outcome {
  const f = flagsAfter(state, { written: r.written, values: r.flags, undefined: r.undefined });
  return { kind: 'ok', state: retiredResult(state, { regs: state.regs, undefinedRegisters: state.undefinedRegisters, eflags: f.eflags, undefinedFlags: f.undefinedFlags, eip: nextEip >>> 0 }), counted: true };
}

/** Write `value` to operand `dest` and retire: retireWith(writeOperand(…)).
 * A register destination gets its register and EIP in one new state (the
 * model's speed: bench/README.md). */
export function writeAndRetire(state: MachineState, instr: Instruction, dest: Operand, value: number, nextEip: number): Outcome {
  if (dest.kind !== 'reg') return retireWith(writeOperand(state, instr, dest, value), nextEip);
  const g = registersAfter(state, dest.size, dest.reg, value);
  return { kind: 'ok', state: retiredResult(state, { regs: g.regs, undefinedRegisters: g.undefinedRegisters, eflags: state.eflags, undefinedFlags: state.undefinedFlags, eip: nextEip >>> 0 }), counted: true };
}

/** Write a pure operation's result to `dest`, then its flags, then retire:
 * retireWithFlags after writeResult. The destination is written first, so
 * a faulting write leaves the flags alone. A register destination gets its
 * register, the flags and EIP in one new state. */
export function writeAndRetireWithFlags(state: MachineState, instr: Instruction, dest: Operand, r: ArithResult, nextEip: number): Outcome {
  if (dest.kind !== 'reg') {
    const written = writeResult(state, instr, dest, r);
    if (written.kind !== 'ok') return written;
    return retireWithFlags(written.value, r, nextEip);
  }
  const g = registersAfter(state, dest.size, dest.reg, r.result);
  const f = flagsAfter(state, { written: r.written, values: r.flags, undefined: r.undefined });
  return {
    kind: 'ok',
    state: retiredResult(state, {
      regs: g.regs,
      // [INS.RESULT.1] as writeResult marks it.
      undefinedRegisters: r.resultUndefined === true ? markedUndefined(g.undefinedRegisters, dest) : g.undefinedRegisters,
      eflags: f.eflags, undefinedFlags: f.undefinedFlags, eip: nextEip >>> 0,
    }),
    counted: true,
  };
}

/** The data width of a register, memory or immediate operand. */
export function widthOf(instr: Instruction, op: Operand): OperandSize {
  if (op.kind === 'reg' || op.kind === 'imm') return op.size;
  if (op.kind === 'mem' && (op.size === 8 || op.size === 16 || op.size === 32)) return op.size;
  return instr.operandSize;
}

/** The i-th operand; the decoder guarantees the count per form, so a missing
 * one is a model bug. */
export function operand(instr: Instruction, i: number): Operand {
  const op = instr.operands[i];
  if (op === undefined) throw new Error(`model bug: '${instr.mnemonic}' has no operand ${i}`);
  return op;
}

/** Whether an instruction names a segment or control register: those forms
 * of MOV, PUSH and POP belong to the system handlers (model/cpu/system). */
export const isSystemForm = (instr: Instruction): boolean => instr.operands.some(isSystemOperand);

const isSystemOperand = (o: Operand): boolean => o.kind === 'sreg' || o.kind === 'creg' || o.kind === 'dreg';

/**
 * [INS.BRANCH.1] A near transfer (JMP, Jcc, LOOPcc, JECXZ, CALL, RET) computes
 * its target; with a 16-bit operand size the target is truncated to 16 bits.
 * A target beyond the CS limit raises #GP(0) at the branch itself: EIP and
 * every other register keep their values from before the instruction.
 */
export function jumpNear(state: MachineState, instr: Instruction, target: number): Outcome {
  const eip = instr.operandSize === 16 ? target & 0xffff : target >>> 0;
  if (eip > state.segments.cs.limit) return gp(0, 'INS.BRANCH.1');
  return retire(state, eip);
}

export { EAX, EBP, EBX, ECX, EDI, EDX, ESI, ESP } from '../state';
