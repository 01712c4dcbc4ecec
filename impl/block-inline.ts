// Inline JavaScript for the commonest register-only instructions of a
// translated block (blocks.ts). Each snippet does exactly what the
// executor it replaces does for that one case (32-bit operands, register
// operands: ModRM mod = 3), with the operands written in as constants, and
// records the same lazy-flags record (flags.ts) bit for bit. These
// instructions touch no memory and cannot fault, so the block needs no
// fault bookkeeping or code-write check around them.
//
// In the snippets `r` is cpu.r32, `cf` is flags.computeFlag, `cond` is
// flags.condition and `mask` is flags.MASK.
import type { Decoded } from './decoded';
import { CS } from './cpu';
import { ARITH, CF, OP_ADD, OP_LOGIC, OP_SUB, ZF } from './flags';
import * as alu from './ops/alu';
import * as move from './ops/move';
import * as control from './ops/control';

const ADD = 0, OR = 1, AND = 4, SUB = 5, XOR = 6, CMP = 7;

/** The lazy-flags record of recordArith(cpu, op, a, b, result, 4, mask). */
function record(op: number, a: string, b: string, result: string, mask = ARITH): string {
  const carry = mask === ARITH ? '' : `if (cpu.lazy & ${CF}) cpu.flags = (cpu.flags & ${~CF}) | cf(cpu, ${CF}); `;
  return `${carry}cpu.lastOp = ${op}; cpu.lastA = ${a}; cpu.lastB = ${b}; cpu.lastResult = ${result}; cpu.lastSize = 4; cpu.lazy = ${mask};`;
}

/** alu(cpu, operation, a, b, 4) for the operations worth inlining; writes the result to `target` unless CMP. */
function aluOperation(operation: number, a: string, b: string, target: number): string | null {
  const write = operation === CMP ? '' : ` r[${target}] = x;`;
  switch (operation) {
    case ADD: return `{ const a = ${a}, b = ${b}, x = (a + b) & 0xffffffff; ${record(OP_ADD, 'a', 'b', 'x')}${write} }`;
    case SUB: case CMP: return `{ const a = ${a}, b = ${b}, x = (a - b) & 0xffffffff; ${record(OP_SUB, 'a', 'b', 'x')}${write} }`;
    case OR: return `{ const x = (${a} | ${b}) & 0xffffffff; ${record(OP_LOGIC, '0', '0', 'x')}${write} }`;
    case AND: return `{ const x = ${a} & ${b} & 0xffffffff; ${record(OP_LOGIC, '0', '0', 'x')}${write} }`;
    case XOR: return `{ const x = (${a} ^ ${b}) & 0xffffffff; ${record(OP_LOGIC, '0', '0', 'x')}${write} }`;
    default: return null; // ADC and SBB need the carry in: the executor does them
  }
}

const reg = (n: number): string => `(r[${n}] >>> 0)`;

/** JavaScript for `d`, or null when the executor must be called. */
export function inlineInstruction(d: Decoded): string | null {
  if (d.size !== 4) return null;
  const e = d.exec;
  if (e === move.loadEffectiveAddress && d.mod !== 3) {
    let sum = `${d.disp}`;
    if (d.base >= 0) sum += ` + r[${d.base}]`;
    if (d.index >= 0) sum += ` + (r[${d.index}] << ${d.scale})`;
    return `r[${d.reg}] = (${sum}) >>> 0;`;
  }
  if (d.mod !== 3) return null;
  if (e === alu.aluRmReg) return aluOperation(d.variant, reg(d.rm), reg(d.reg), d.rm);
  if (e === alu.aluRegRm) return aluOperation(d.variant, reg(d.reg), reg(d.rm), d.reg);
  if (e === alu.aluRmImm) return aluOperation(d.variant, reg(d.rm), `${d.imm}`, d.rm);
  if (e === alu.testRmReg) return `{ const x = (${reg(d.rm)} & ${reg(d.reg)}) >>> 0; ${record(OP_LOGIC, '0', '0', 'x')} }`;
  if (e === alu.testRmImm) return `{ const x = (${reg(d.rm)} & ${d.imm}) >>> 0; ${record(OP_LOGIC, '0', '0', 'x')} }`;
  if (e === alu.incrementRegister) {
    const op = d.variant === 0 ? OP_ADD : OP_SUB, sign = d.variant === 0 ? '+' : '-';
    return `{ const a = ${reg(d.reg)}, x = ((a ${sign} 1) & 0xffffffff) >>> 0; r[${d.reg}] = x; ${record(op, 'a', '1', 'x', ARITH & ~CF)} }`;
  }
  if (e === move.moveRmReg) return `r[${d.rm}] = r[${d.reg}];`;
  if (e === move.moveRegRm) return `r[${d.reg}] = r[${d.rm}];`;
  if (e === move.moveRmImm) return `r[${d.rm}] = ${d.imm};`;
  return null;
}

/**
 * A conditional jump (32-bit operand size): JZ/JNZ read ZF straight from
 * the lazy record, other conditions call flags.condition (`cond`). A taken
 * jump past the CS limit calls the executor `e${k}`, which raises the #GP.
 * At the end of a block it sets cpu.next like the executor; inside a block
 * (a side exit) a taken jump leaves the block with EIP at the target and
 * `k + 1` more instructions retired, or loops when the target is the
 * block's start; the fall-through path runs on.
 */
export function inlineConditionalJump(d: Decoded, k: number, end: number, length: number): string | null {
  const last = k === length - 1;
  if (!isInlinedJump(d)) return null;
  const cc = d.variant;
  const zero = `(cpu.lazy & ${ZF} ? (cpu.lastResult & mask[cpu.lastSize]) === 0 : (cpu.flags & ${ZF}) !== 0)`;
  const test = cc === 4 ? zero : cc === 5 ? `!${zero}` : `cond(cpu, ${cc})`;
  // A side exit back to the block's own start is a loop: run the block
  // again here if a whole further pass fits the budget (blocks.ts).
  const again = `if (t === eip && done + ${k + 1 + length} <= budget && !cpu.codeWritten && cpu.fetchPage === page) { done += ${k + 1}; if (log.length !== 0) log.length = 0; continue; }`;
  const taken = last ? 'cpu.next = t;' : `{ ${again} cpu.eip = t; return done + ${k + 1}; }`;
  return `k = ${k}; cpu.next = (eip + ${end}) >>> 0;
    if (${test}) { const t = (cpu.next + ${d.imm}) >>> 0; if (t > cpu.segLimit[${CS}]) e${k}(cpu, d${k}); else ${taken} }`;
}

export const isInlinedJump = (d: Decoded): boolean => d.exec === control.jumpConditional && d.operandSize === 4;
