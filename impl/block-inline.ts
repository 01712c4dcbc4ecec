// Inline JavaScript for the commonest register-only instructions of a
// translated block (blocks.ts). Each snippet does exactly what the
// executor it replaces does for that one case (register operands: ModRM
// mod = 3), with the operands written in as constants, and records the same
// lazy-flags record (flags.ts) or the same eager flags bit for bit. These
// instructions touch no memory and cannot fault, so the block needs no
// fault bookkeeping or code-write check around them.
//
// In the snippets `r`, `r8` and `r16` are cpu.r32/r8/r16, `cf` is
// flags.computeFlag, `cond` is flags.condition, `mask` is flags.MASK and
// `par` is flags.parityOf. ALU snippets leave their operands and result in
// the block's locals `fa`, `fb`, `fx` as well: a conditional jump right
// after one (see `knownCondition`) tests them instead of the record —
// lazy flags kept across the block, with no record read.
import { type Decoded, BYTE_REGISTER, CS } from './cpu';
import { ARITH, CF, OF, OP_ADD, OP_LOGIC, OP_SUB, SF, ZF } from './flags';
import * as alu from './ops/alu';
import * as move from './ops/move';
import * as shift from './ops/shift';
import * as mul from './ops/multiply';
import * as control from './ops/control';

export const ADD = 0, OR = 1, AND = 4, SUB = 5, XOR = 6, CMP = 7;

/** What the lazy record holds after an inlined 32-bit ALU snippet, in fa/fb/fx. */
export type KnownFlags = 'add' | 'sub' | 'logic' | 'inc' | 'dec';

export interface Inline {
  readonly code: string;
  /** Set when the snippet leaves its flag inputs in fa/fb/fx (32-bit ALU). */
  readonly flags: KnownFlags | null;
}

/** The lazy-flags record of recordArith(cpu, op, a, b, result, size, mask). */
export function record(op: number, a: string, b: string, result: string, size: number, mask = ARITH): string {
  const carry = mask === ARITH ? '' : `if (cpu.lazy & ${CF}) cpu.flags = (cpu.flags & ${~CF}) | cf(cpu, ${CF}); `;
  return `${carry}cpu.lastOp = ${op}; cpu.lastA = ${a}; cpu.lastB = ${b}; cpu.lastResult = ${result}; cpu.lastSize = ${size}; cpu.lazy = ${mask};`;
}

/** setFlags(cpu, m, values): the flags in `m` become eager. */
const setFlags = (m: number, values: string): string =>
  `cpu.lazy &= ${~m}; cpu.flags = ((cpu.flags & ${~m}) | ${values}) >>> 0;`;

/**
 * alu(cpu, operation, a, b, size) for the operations worth inlining: the
 * result in `fx` (its operands in fa/fb), then `write` (which may use fx).
 * Null for ADC and SBB (the carry in: the executor does them).
 */
export function aluOperation(operation: number, a: string, b: string, size: number, write: string): Inline | null {
  const m = size === 4 ? '0xffffffff' : size === 2 ? '0xffff' : '0xff';
  const out = operation === CMP ? '' : ` ${write}`;
  const flags = (kind: KnownFlags): KnownFlags | null => (size === 4 ? kind : null);
  switch (operation) {
    case ADD: return { code: `fa = ${a}; fb = ${b}; fx = (fa + fb) & ${m}; ${record(OP_ADD, 'fa', 'fb', 'fx', size)}${out}`, flags: flags('add') };
    case SUB: case CMP: return { code: `fa = ${a}; fb = ${b}; fx = (fa - fb) & ${m}; ${record(OP_SUB, 'fa', 'fb', 'fx', size)}${out}`, flags: flags('sub') };
    case OR: return { code: `fx = (${a} | ${b}) & ${m}; ${record(OP_LOGIC, '0', '0', 'fx', size)}${out}`, flags: flags('logic') };
    case AND: return { code: `fx = ${a} & ${b} & ${m}; ${record(OP_LOGIC, '0', '0', 'fx', size)}${out}`, flags: flags('logic') };
    case XOR: return { code: `fx = (${a} ^ ${b}) & ${m}; ${record(OP_LOGIC, '0', '0', 'fx', size)}${out}`, flags: flags('logic') };
    default: return null;
  }
}

/** A register of `size` bytes as an unsigned value, and an assignment to it. */
export function registerRead(size: number, n: number): string {
  return size === 4 ? `(r[${n}] >>> 0)` : size === 1 ? `r8[${BYTE_REGISTER[n]}]` : `r16[${n << 1}]`;
}
export function registerWrite(size: number, n: number, value: string): string {
  return size === 4 ? `r[${n}] = ${value};` : size === 1 ? `r8[${BYTE_REGISTER[n]}] = ${value};` : `r16[${n << 1}] = ${value};`;
}

/** A 32-bit shift or rotate of register `n` by a constant count 1..31 (shift.ts). */
function shiftRegister(operation: number, n: number, count: number): string | null {
  const load = `const a = r[${n}] >>> 0`;
  const rotated = (c: string, o: string): string => `${setFlags(CF | OF, `${c} | (${o} ? ${OF} : 0)`)} r[${n}] = x;`;
  const shifted = `${setFlags(ARITH, `par(x) | (x === 0 ? ${ZF} : 0) | (x >>> 31 ? ${SF} : 0) | c | (o ? ${OF} : 0)`)} r[${n}] = x;`;
  switch (operation) {
    case 0: return `{ ${load}, x = ((a << ${count}) | (a >>> ${32 - count})) >>> 0, c = x & 1; ${rotated('c', '((x >>> 31) ^ c)')} }`;
    case 1: return `{ ${load}, x = ((a >>> ${count}) | (a << ${32 - count})) >>> 0, c = x >>> 31; ${rotated('c', '(c ^ ((x >>> 30) & 1))')} }`;
    case 4: case 6: return `{ ${load}, x = (a << ${count}) >>> 0, c = (a >>> ${32 - count}) & 1, o = (x >>> 31) ^ c; ${shifted} }`;
    case 5: return `{ ${load}, x = a >>> ${count}, c = (a >>> ${count - 1}) & 1, o = a >>> 31; ${shifted} }`;
    case 7: return `{ const s = r[${n}] | 0, x = (s >> ${count}) >>> 0, c = (s >> ${count - 1}) & 1, o = 0; ${shifted} }`;
    default: return null; // RCL, RCR: through the carry, the executor does them
  }
}

/** JavaScript for a register-only `d`, or null when it is not inlined. */
export function inlineRegister(d: Decoded): Inline | null {
  const e = d.exec, size = d.size;
  if (e === move.loadEffectiveAddress && d.mod !== 3 && size === 4) {
    let sum = `${d.disp}`;
    if (d.base >= 0) sum += ` + r[${d.base}]`;
    if (d.index >= 0) sum += ` + (r[${d.index}] << ${d.scale})`;
    return { code: `r[${d.reg}] = (${sum}) >>> 0;`, flags: null };
  }
  if (d.mod !== 3 || (size !== 4 && size !== 1)) return null;
  const reg = (n: number): string => registerRead(size, n);
  const into = (n: number): string => registerWrite(size, n, 'fx');
  if (e === alu.aluRmReg) return aluOperation(d.variant, reg(d.rm), reg(d.reg), size, into(d.rm));
  if (e === alu.aluRegRm) return aluOperation(d.variant, reg(d.reg), reg(d.rm), size, into(d.reg));
  if (e === alu.aluRmImm) return aluOperation(d.variant, reg(d.rm), `${d.imm}`, size, into(d.rm));
  if (size !== 4) return null;
  const plain = (code: string): Inline => ({ code, flags: null });
  if (e === alu.testRmReg) return { code: `fx = (${reg(d.rm)} & ${reg(d.reg)}) >>> 0; ${record(OP_LOGIC, '0', '0', 'fx', 4)}`, flags: 'logic' };
  if (e === alu.testRmImm) return { code: `fx = (${reg(d.rm)} & ${d.imm}) >>> 0; ${record(OP_LOGIC, '0', '0', 'fx', 4)}`, flags: 'logic' };
  if (e === alu.incrementRegister) {
    const up = d.variant === 0;
    return {
      code: `fa = ${reg(d.reg)}; fb = 1; fx = ((fa ${up ? '+' : '-'} 1) & 0xffffffff) >>> 0; r[${d.reg}] = fx; ${record(up ? OP_ADD : OP_SUB, 'fa', '1', 'fx', 4, ARITH & ~CF)}`,
      flags: up ? 'inc' : 'dec',
    };
  }
  if (e === move.moveRmReg) return plain(`r[${d.rm}] = r[${d.reg}];`);
  if (e === move.moveRegRm) return plain(`r[${d.reg}] = r[${d.rm}];`);
  if (e === move.moveRmImm) return plain(`r[${d.rm}] = ${d.imm};`);
  if (e === shift.shiftByImmediate && (d.imm & 0x20) === 0) {
    // Counts with bit 5 set are left to the executor (so is its count mask).
    const count = d.imm & 0x1f;
    if (count === 0) return plain(''); // no bit and no flag changes
    const code = shiftRegister(d.variant, d.rm, count);
    return code === null ? null : plain(code);
  }
  if (e === mul.multiplySignedInto) {
    // IMUL reg, reg(, imm): the exact product leaves the int32 range exactly
    // when the double product differs from the 32-bit one (a double is exact
    // up to 2^53, and a product beyond that is far outside the range).
    const b = d.imm2 ? `${d.imm | 0}` : `r[${d.reg}]`;
    const flags = `(o ? ${CF | OF} : 0) | par(x) | (x === 0 ? ${ZF} : 0) | (x < 0 ? ${SF} : 0)`;
    return plain(`{ const a = r[${d.rm}], b = ${b}, x = Math.imul(a, b), o = a * b !== x; r[${d.reg}] = x; ${setFlags(ARITH, flags)} }`);
  }
  return null;
}

/**
 * A condition code tested on fa/fb/fx when the instruction before the jump
 * was an inlined 32-bit ALU snippet (and the jump is no jump target, so no
 * other path reaches it); null when the record must be read. The formulas
 * are computeFlag's (flags.ts) for a 32-bit size.
 */
export function knownCondition(kind: KnownFlags, cc: number): string | null {
  const zf = 'fx === 0', sf = '(fx | 0) < 0';
  const cf = kind === 'add' ? '(fx >>> 0) < (fa >>> 0)' : kind === 'sub' ? '(fa >>> 0) < (fb >>> 0)' : kind === 'logic' ? 'false' : null;
  const of = kind === 'add' || kind === 'inc' ? '((fa ^ fx) & (fb ^ fx)) < 0'
    : kind === 'sub' || kind === 'dec' ? '((fa ^ fb) & (fa ^ fx)) < 0' : 'false';
  let v: string | null;
  switch (cc >> 1) {
    case 0: v = of; break;
    case 1: v = cf; break;
    case 2: v = zf; break;
    case 3: v = cf === null ? null : `(${cf} || ${zf})`; break;
    case 4: v = sf; break;
    case 6: v = `(${sf}) !== (${of})`; break;
    case 7: v = `(${zf} || (${sf}) !== (${of}))`; break;
    default: v = null; // parity: from the record
  }
  return v === null ? null : cc & 1 ? `!(${v})` : `(${v})`;
}

/** The condition of Jcc from the lazy record (JZ/JNZ read ZF straight from it). */
export function recordCondition(cc: number): string {
  const zero = `(cpu.lazy & ${ZF} ? (cpu.lastResult & mask[cpu.lastSize]) === 0 : (cpu.flags & ${ZF}) !== 0)`;
  return cc === 4 ? zero : cc === 5 ? `!${zero}` : `cond(cpu, ${cc})`;
}

export const CS_LIMIT = `cpu.segLimit[${CS}]`;

/** Near jumps the block writes inline (32-bit operand size): Jcc and JMP rel. */
export const isInlinedJump = (d: Decoded): boolean => d.exec === control.jumpConditional && d.operandSize === 4;
export const isInlinedBranch = (d: Decoded): boolean =>
  (d.exec === control.jumpConditional || d.exec === control.jumpRelative) && d.operandSize === 4;
