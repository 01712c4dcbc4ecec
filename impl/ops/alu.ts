// ADD OR ADC SBB AND SUB XOR CMP (variant 0..7 in encoding order), INC, DEC,
// NEG, NOT, TEST. One function over an operand size of 1, 2 or 4 bytes.
import type { Cpu, Decoded } from '../cpu';
import { ARITH, AF, CF, MASK, OF, OP_ADD, OP_SUB, SIGN, flag, parityOf, recordArith, recordLogic, setFlags, SF, ZF } from '../flags';
import { mutated } from '../mutants';
import { destination, readDestination, readRM, writeDestination } from '../operands';

const CMP = 7;

/** Compute one of the eight ALU operations and record its flags. */
export function alu(cpu: Cpu, operation: number, a: number, b: number, size: number): number {
  const mask = MASK[size];
  let r: number;
  switch (operation) {
    case 0: r = (a + b) & mask; recordArith(cpu, OP_ADD, a, b, r, size); break;
    case 1: r = (a | b) & mask; recordLogic(cpu, r, size); break;
    case 2: return addWithCarry(cpu, a, b, flag(cpu, CF), size);
    case 3: return subtractWithBorrow(cpu, a, b, mutated('sbb-drops-carry') ? 0 : flag(cpu, CF), size);
    case 4: r = a & b & mask; recordLogic(cpu, r, size); break;
    case 6: r = (a ^ b) & mask; recordLogic(cpu, r, size); break;
    default: r = (a - b) & mask; recordArith(cpu, OP_SUB, a, b, r, size); break; // SUB, CMP
  }
  return r >>> 0;
}

function resultFlags(r: number, size: number): number {
  return parityOf(r) | ((r & MASK[size]) === 0 ? ZF : 0) | (r & SIGN[size] ? SF : 0);
}

// ADC and SBB compute their flags eagerly: the carry-in does not fit the
// two-operand record, and they are rare.
function addWithCarry(cpu: Cpu, a: number, b: number, carry: number, size: number): number {
  const mask = MASK[size], sign = SIGN[size];
  const wide = a + b + carry;
  const r = (wide & mask) >>> 0;
  setFlags(cpu, ARITH, resultFlags(r, size) | (wide > mask ? CF : 0) | ((a ^ b ^ r) & AF) |
    ((a ^ r) & (b ^ r) & sign ? OF : 0));
  return r;
}

function subtractWithBorrow(cpu: Cpu, a: number, b: number, borrow: number, size: number): number {
  const mask = MASK[size], sign = SIGN[size];
  const r = ((a - b - borrow) & mask) >>> 0;
  setFlags(cpu, ARITH, resultFlags(r, size) | (a < b + borrow ? CF : 0) | ((a ^ b ^ r) & AF) |
    ((a ^ b) & (a ^ r) & sign ? OF : 0));
  return r;
}

function operateOnRM(cpu: Cpu, d: Decoded, source: number): void {
  const size = d.size;
  if (d.variant === CMP) {
    alu(cpu, CMP, readRM(cpu, d, size), source, size);
    return;
  }
  const at = destination(cpu, d, size);
  const result = alu(cpu, d.variant, readDestination(cpu, d, at, size), source, size);
  writeDestination(cpu, d, at, size, result);
}

/** op r/m, reg */
export const aluRmReg = (cpu: Cpu, d: Decoded): void => operateOnRM(cpu, d, cpu.readRegister(d.size, d.reg));
/** op r/m, imm (also op AL/AX/EAX, imm: the decoder sets rm = 0, mod = 3) */
export const aluRmImm = (cpu: Cpu, d: Decoded): void => operateOnRM(cpu, d, d.imm);
/** op reg, r/m */
export function aluRegRm(cpu: Cpu, d: Decoded): void {
  const size = d.size;
  const result = alu(cpu, d.variant, cpu.readRegister(size, d.reg), readRM(cpu, d, size), size);
  if (d.variant !== CMP) cpu.writeRegister(size, d.reg, result);
}

export function testRmReg(cpu: Cpu, d: Decoded): void {
  recordLogic(cpu, (readRM(cpu, d, d.size) & cpu.readRegister(d.size, d.reg)) >>> 0, d.size);
}
export function testRmImm(cpu: Cpu, d: Decoded): void {
  recordLogic(cpu, (readRM(cpu, d, d.size) & d.imm) >>> 0, d.size);
}

/** INC (variant 0) and DEC (variant 1) of r/m; CF is left alone. */
export function incrementRM(cpu: Cpu, d: Decoded): void {
  const size = d.size, at = destination(cpu, d, size);
  const a = readDestination(cpu, d, at, size);
  const r = ((d.variant === 0 ? a + 1 : a - 1) & MASK[size]) >>> 0;
  writeDestination(cpu, d, at, size, r);
  recordArith(cpu, d.variant === 0 ? OP_ADD : OP_SUB, a, 1, r, size, ARITH & ~CF);
}
/** INC/DEC of a register encoded in the opcode (d.reg). */
export function incrementRegister(cpu: Cpu, d: Decoded): void {
  const size = d.size, a = cpu.readRegister(size, d.reg);
  const r = ((d.variant === 0 ? a + 1 : a - 1) & MASK[size]) >>> 0;
  cpu.writeRegister(size, d.reg, r);
  recordArith(cpu, d.variant === 0 ? OP_ADD : OP_SUB, a, 1, r, size, ARITH & ~CF);
}

export function negate(cpu: Cpu, d: Decoded): void {
  const size = d.size, at = destination(cpu, d, size);
  const a = readDestination(cpu, d, at, size);
  const r = ((0 - a) & MASK[size]) >>> 0;
  writeDestination(cpu, d, at, size, r);
  recordArith(cpu, OP_SUB, 0, a, r, size);
}

export function complement(cpu: Cpu, d: Decoded): void {
  const size = d.size, at = destination(cpu, d, size);
  writeDestination(cpu, d, at, size, (~readDestination(cpu, d, at, size) & MASK[size]) >>> 0);
}
