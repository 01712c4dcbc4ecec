// Handlers for MUL, IMUL, DIV, IDIV and the decimal adjustments. The
// implicit operands are AL/AX/EAX and AH/DX/EDX, by operand size.
import type { Instruction, OperandSize } from '../../isa/ast';
import { aaa, aad, aam, aas, daa, das } from '../arith/bcd';
import type { ArithResult } from '../arith/flags';
import { div, idiv, imul, mul } from '../arith/muldiv';
import { readOperand, readRegister, writeRegister } from '../context';
import { fault, Vector, type Handler, type Outcome } from '../outcome';
import type { MachineState } from '../state';
import { EAX, EDX, operand, retireWithFlags, widthOf, writeAndRetireWithFlags } from './common';

/** The double-width accumulator: AX for bytes (AH:AL), DX:AX, EDX:EAX. */
function readWide(state: MachineState, size: OperandSize): { low: number; high: number } {
  if (size === 8) return { low: readRegister(state, 8, 0), high: readRegister(state, 8, 4) };
  return { low: readRegister(state, size, EAX), high: readRegister(state, size, EDX) };
}

function writeWide(state: MachineState, size: OperandSize, low: number, high: number): MachineState {
  if (size === 8) return writeRegister(state, 16, EAX, ((high & 0xff) << 8) | (low & 0xff));
  return writeRegister(writeRegister(state, size, EAX, low), size, EDX, high);
}

// [INS.MUL.3] One-operand MUL and IMUL multiply the accumulator (AL, AX,
// EAX) by the operand and write the double-width product to AX, DX:AX or
// EDX:EAX. Two-operand IMUL multiplies its destination by its source; the
// three-operand form multiplies its source by the immediate; both keep only
// the low half.
const multiply = (signed: boolean): Handler => (state, instr, nextEip) => {
  const operate = signed ? imul : mul;
  if (instr.operands.length === 1) {
    const src = operand(instr, 0);
    const size = widthOf(instr, src);
    const b = readOperand(state, instr, src);
    if (b.kind !== 'ok') return b;
    const s = b.value.state;
    const p = operate(size, readWide(s, size).low, b.value.value, s.eflags);
    return retireWithFlags(writeWide(s, size, p.result, p.high), p, nextEip);
  }
  const dest = operand(instr, 0);
  const size = widthOf(instr, dest);
  const [left, right] = instr.operands.length === 3 ? [operand(instr, 1), operand(instr, 2)] : [dest, operand(instr, 1)];
  const a = readOperand(state, instr, left);
  if (a.kind !== 'ok') return a;
  const b = readOperand(a.value.state, instr, right);
  if (b.kind !== 'ok') return b;
  const p = operate(size, a.value.value, b.value.value, state.eflags);
  return writeAndRetireWithFlags(b.value.state, instr, dest, p, nextEip);
};

// [INS.DIV.3] DIV and IDIV divide AX, DX:AX or EDX:EAX by the operand and
// write the quotient to AL, AX or EAX and the remainder to AH, DX or EDX.
// On #DE no register changes and EIP stays at the instruction.
const divide = (signed: boolean): Handler => (state, instr, nextEip) => {
  const src = operand(instr, 0);
  const size = widthOf(instr, src);
  const b = readOperand(state, instr, src);
  if (b.kind !== 'ok') return b;
  const s = b.value.state;
  const { low, high } = readWide(s, size);
  const q = (signed ? idiv : div)(size, low, high, b.value.value, s.eflags);
  if (q.kind === 'divide-error') return fault(Vector.DE, null, 'INS.DIV.1');
  return retireWithFlags(writeWide(s, size, q.quotient, q.remainder), q, nextEip);
};

/** A decimal adjustment of AX with no operand. */
const adjust = (operation: (ax: number, flags: number) => ArithResult): Handler => (state, _instr, nextEip) => {
  const r = operation(readRegister(state, 16, EAX), state.eflags);
  return retireWithFlags(writeRegister(state, 16, EAX, r.result), r, nextEip);
};

/** AAM and AAD take their base as an immediate (10 in the usual encoding). */
function immediateBase(state: MachineState, instr: Instruction): number {
  const imm = operand(instr, 0);
  return imm.kind === 'imm' ? imm.value & 0xff : 10;
}

const asciiAdjustMultiply: Handler = (state, instr, nextEip): Outcome => {
  const r = aam(readRegister(state, 16, EAX), immediateBase(state, instr), state.eflags);
  if (r.kind === 'divide-error') return fault(Vector.DE, null, 'INS.DIV.1');
  return retireWithFlags(writeRegister(state, 16, EAX, r.result), r, nextEip);
};

const asciiAdjustDivide: Handler = (state, instr, nextEip) => {
  const r = aad(readRegister(state, 16, EAX), immediateBase(state, instr), state.eflags);
  return retireWithFlags(writeRegister(state, 16, EAX, r.result), r, nextEip);
};

export const multiplyHandlers: Readonly<Record<string, Handler>> = {
  mul: multiply(false), imul: multiply(true), div: divide(false), idiv: divide(true),
  daa: adjust(daa), das: adjust(das), aaa: adjust(aaa), aas: adjust(aas),
  aam: asciiAdjustMultiply, aad: asciiAdjustDivide,
};
