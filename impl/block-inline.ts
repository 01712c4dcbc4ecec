// Inline JavaScript for the commonest register-only instructions of a
// translated block (blocks.ts). Each snippet does exactly what the
// executor it replaces does for that one case (register operands: ModRM
// mod = 3), with the operands written in as constants, and records the same
// lazy-flags record (flags.ts) or the same eager flags bit for bit. These
// instructions touch no memory and cannot fault, so the block needs no
// fault bookkeeping or code-write check around them.
//
// A block keeps the machine's registers and flags in JavaScript locals while
// it runs (blocks.ts writes them back before every executor call and every
// exit, and reads them again after a call): `R0`..`R7` are EAX..EDI as int32
// values; `fl` is cpu.flags, `lz` cpu.lazy, and `lop fa fb fx ls` the lazy
// record (cpu.lastOp, lastA, lastB, lastResult, lastSize), all of whose
// flag formulas depend only on the low `size` bytes, so int32 values stand for
// the unsigned ones the executors store. `fo` is flags.computeFlagOf, `cnd`
// flags.conditionOf, `mask` flags.MASK and `par` flags.parityOf. The
// record's operands and result are the locals `fa`, `fb`, `fx` in which an
// ALU snippet computes: recording them costs no copies (V8 keeps three loop
// values fewer), and a conditional jump right after one (see
// `knownCondition`) tests them directly. A snippet whose flags are dead
// computes in a `const` of its own and leaves them alone.
import { type Decoded, CS } from './cpu';
import { ARITH, CF, OF, OP_ADD, OP_LOGIC, OP_SUB, ZF } from './flags';
import * as alu from './ops/alu';
import * as move from './ops/move';
import * as shift from './ops/shift';
import * as mul from './ops/multiply';
import * as control from './ops/control';
import { mutated } from './mutants';

export const ADD = 0, OR = 1, AND = 4, SUB = 5, XOR = 6, CMP = 7;

/** What the lazy record holds after an inlined 32-bit ALU snippet, in fa/fb/fx. */
export type KnownFlags = 'add' | 'sub' | 'logic' | 'inc' | 'dec';

export interface Inline {
  readonly code: string;
  /** Set when the snippet leaves its flag inputs in fa/fb/fx (32-bit ALU). */
  readonly flags: KnownFlags | null;
  /** The arithmetic flags the instruction writes (the snippet leaves out
   * their update when none of them is live after it: see blocks.ts). */
  readonly writes: number;
}

/** What an instruction that writes no flags returns. */
const plain = (code: string): Inline => ({ code, flags: null, writes: 0 });

/** The lazy-flags record of recordArith(cpu, op, a, b, result, size, mask),
 * in the block's locals. With a mask without CF, CF is kept (made eager
 * from the record it replaces) unless `keepCarry` says CF is dead. */
export function record(op: number, a: string, b: string, result: string, size: number, mask = ARITH, keepCarry = true): string {
  const carry = mask === ARITH || !keepCarry ? '' : `if (lz & ${CF}) fl = (fl & ${~CF}) | fo(${CF}, lop, fa, fb, fx, ls); `;
  const set = (local: string, value: string): string => (local === value ? '' : `${local} = ${value}; `);
  return `${carry}lop = ${op}; ${set('fa', a)}${set('fb', b)}${set('fx', result)}ls = ${size}; lz = ${mask};`;
}

/**
 * The flags of a 32-bit shift or IMUL result `x`: PF, ZF and SF from the
 * result, AF clear, and CF and OF as `carryOverflow` (an expression of the
 * CF and OF bits). The first four are what a logic record of `x` gives, so
 * they are recorded (computed only if read) and CF and OF set eagerly:
 * the same flags as setFlags(ARITH, par(x) | ZF | SF | CF | OF).
 */
const resultFlags = (x: string, carryOverflow: string): string =>
  `fl = (fl & ${~(CF | OF)}) | ${carryOverflow}; ${record(OP_LOGIC, '0', '0', `${x} | 0`, 4, ARITH & ~(CF | OF), false)}`;

/** setFlags(cpu, m, values): the flags in `m` become eager. */
const setFlags = (m: number, values: string): string =>
  `lz &= ${~m}; fl = (fl & ${~m}) | ${values};`;

/**
 * alu(cpu, operation, a, b, size) for the operations worth inlining: the
 * result in `fx` (its operands in fa/fb), then `write` (which may use fx).
 * Null for ADC and SBB (the carry in: the executor does them). `live`: the
 * flags read before they are written again (none: no record).
 */
export function aluOperation(operation: number, a: string, b: string, size: number, write: string, live = ARITH): Inline | null {
  const m = size === 4 ? '0xffffffff' : size === 2 ? '0xffff' : '0xff';
  const out = operation === CMP ? '' : ` ${write}`;
  const dead = (live & ARITH) === 0;
  // Flags dead: the result in a const of its own, so that fa/fb/fx (the
  // lazy record) keep what they hold.
  if (dead) {
    const op = operation === ADD ? '+' : operation === SUB || operation === CMP ? '-' : operation === OR ? '|' : operation === AND ? '&' : operation === XOR ? '^' : null;
    if (op === null) return null;
    return { code: operation === CMP ? '' : `{ const fx = ((${a}) ${op} (${b})) & ${m};${out} }`, flags: null, writes: ARITH };
  }
  const flags = (kind: KnownFlags): KnownFlags | null => (size === 4 && !dead ? kind : null);
  const rec = (op: number, x: string, y: string): string => (dead ? '' : record(op, x, y, 'fx', size));
  // A logic operation clears CF and OF: set eagerly, so that a later INC or
  // DEC (which keeps CF) need not compute CF from this record.
  const logic = dead ? '' : `fl = fl & ${~(CF | OF)}; ${record(OP_LOGIC, '0', '0', 'fx', size, ARITH & ~(CF | OF), false)}`;
  switch (operation) {
    case ADD: return { code: `fa = ${a}; fb = ${b}; fx = (fa + fb) & ${m}; ${rec(OP_ADD, 'fa', 'fb')}${out}`, flags: flags('add'), writes: ARITH };
    case SUB: case CMP: return { code: `fa = ${a}; fb = ${b}; fx = (fa - fb) & ${m}; ${rec(OP_SUB, 'fa', 'fb')}${out}`, flags: flags('sub'), writes: ARITH };
    case OR: return { code: `fx = (${a} | ${b}) & ${m}; ${logic}${out}`, flags: flags('logic'), writes: ARITH };
    case AND: return { code: `fx = ${a} & ${b} & ${m}; ${logic}${out}`, flags: flags('logic'), writes: ARITH };
    case XOR: return { code: `fx = (${a} ^ ${b}) & ${m}; ${logic}${out}`, flags: flags('logic'), writes: ARITH };
    default: return null;
  }
}

/** A register of `size` bytes (for size 1, n = 4..7 are AH CH DH BH) as
 * a value (int32 for size 4, unsigned below), and an assignment to it. */
export function registerRead(size: number, n: number): string {
  if (size === 4) return `R${n}`;
  if (size === 2) return `(R${n} & 0xffff)`;
  return n < 4 ? `(R${n} & 0xff)` : `((R${n - 4} >> 8) & 0xff)`;
}
export function registerWrite(size: number, n: number, value: string): string {
  if (size === 4) return `R${n} = (${value}) | 0;`;
  if (size === 2) return `R${n} = (R${n} & -65536) | ((${value}) & 0xffff);`;
  return n < 4 ? `R${n} = (R${n} & -256) | ((${value}) & 0xff);` : `R${n - 4} = (R${n - 4} & -65281) | (((${value}) & 0xff) << 8);`;
}

/** A 32-bit shift or rotate of register `n` by a constant count 1..31
 * (shift.ts); without its flag update when `live` has none of them. */
function shiftRegister(operation: number, n: number, count: number, live: number): Inline | null {
  const load = `const a = R${n} >>> 0`;
  const rotate = operation === 0 || operation === 1, writes = rotate ? CF | OF : ARITH;
  if ((live & writes) === 0) {
    switch (operation) {
      case 0: return plain(`R${n} = (R${n} << ${count}) | (R${n} >>> ${32 - count});`);
      case 1: return plain(`R${n} = (R${n} >>> ${count}) | (R${n} << ${32 - count});`);
      case 4: case 6: return plain(`R${n} = R${n} << ${count};`);
      case 5: return plain(`R${n} = (R${n} >>> ${count}) | 0;`);
      case 7: return plain(`R${n} = R${n} >> ${count};`);
      default: return null;
    }
  }
  const rotated = (c: string, o: string): string => `${setFlags(CF | OF, `${c} | (${o} ? ${OF} : 0)`)} R${n} = x | 0;`;
  const shifted = `${resultFlags('x', `c | (o ? ${OF} : 0)`)} R${n} = x | 0;`;
  const code = shiftCode(operation, n, count, load, rotated, shifted);
  return code === null ? null : { code, flags: null, writes };
}

function shiftCode(operation: number, n: number, count: number, load: string, rotated: (c: string, o: string) => string, shifted: string): string | null {
  switch (operation) {
    case 0: return `{ ${load}, x = ((a << ${count}) | (a >>> ${32 - count})) >>> 0, c = x & 1; ${rotated('c', '((x >>> 31) ^ c)')} }`;
    case 1: return `{ ${load}, x = ((a >>> ${count}) | (a << ${32 - count})) >>> 0, c = x >>> 31; ${rotated('c', '(c ^ ((x >>> 30) & 1))')} }`;
    case 4: case 6: return `{ ${load}, x = (a << ${count}) >>> 0, c = (a >>> ${32 - count}) & 1, o = (x >>> 31) ^ c; ${shifted} }`;
    case 5: return `{ ${load}, x = a >>> ${count}, c = (a >>> ${count - 1}) & 1, o = a >>> 31; ${shifted} }`;
    case 7: return `{ const s = R${n}, x = (s >> ${count}) >>> 0, c = (s >> ${count - 1}) & 1, o = 0; ${shifted} }`;
    default: return null; // RCL, RCR: through the carry, the executor does them
  }
}

/** JavaScript for a register-only `d`, or null when it is not inlined.
 * `live`: the arithmetic flags read after it before being written again. */
export function inlineRegister(d: Decoded, live = ARITH, known: KnownFlags | null = null): Inline | null {
  const e = d.exec, size = d.size;
  if (e === move.loadEffectiveAddress && d.mod !== 3 && size === 4) {
    let sum = `${d.disp | 0}`;
    if (d.base >= 0) sum += ` + R${d.base}`;
    if (d.index >= 0) sum += ` + (R${d.index} << ${d.scale})`;
    return plain(`R${d.reg} = (${sum}) | 0;`);
  }
  if (d.mod !== 3 || (size !== 4 && size !== 1)) return null;
  const reg = (n: number): string => registerRead(size, n);
  const into = (n: number): string => registerWrite(size, n, 'fx');
  if (e === alu.aluRmReg) return aluOperation(d.variant, reg(d.rm), reg(d.reg), size, into(d.rm), live);
  if (e === alu.aluRegRm) return aluOperation(d.variant, reg(d.reg), reg(d.rm), size, into(d.reg), live);
  if (e === alu.aluRmImm) return aluOperation(d.variant, reg(d.rm), `${size === 4 ? d.imm | 0 : d.imm}`, size, into(d.rm), live);
  if (size !== 4) return null;
  const dead = (live & ARITH) === 0;
  if (e === alu.testRmReg || e === alu.testRmImm) {
    if (dead) return { code: '', flags: null, writes: ARITH };
    const b = e === alu.testRmReg ? reg(d.reg) : `${d.imm | 0}`;
    return { code: `fx = ${reg(d.rm)} & ${b}; ${record(OP_LOGIC, '0', '0', 'fx', 4)}`, flags: 'logic', writes: ARITH };
  }
  if (e === alu.incrementRegister) {
    const up = d.variant === 0, writes = ARITH & ~CF;
    if ((live & writes) === 0) return { code: `R${d.reg} = (R${d.reg} ${up ? '+' : '-'} 1) | 0;`, flags: null, writes };
    // CF is kept: when the record is that of an inlined 32-bit snippet just
    // before (`known`), CF is computed from fa/fb/fx here (an ADD's or SUB's
    // carry, a logic operation's 0, or already eager after INC/DEC) instead
    // of by computeFlagOf from the record.
    let carry = '', keep = (live & CF) !== 0;
    if (keep && known !== null) {
      const cf = known === 'add' ? (mutated('inc-after-add-drops-carry') ? 'false' : '(fx >>> 0) < (fa >>> 0)') : known === 'sub' ? '(fa >>> 0) < (fb >>> 0)' : null;
      carry = cf !== null ? `fl = (fl & ${~CF}) | (${cf} ? ${CF} : 0); ` : known === 'logic' ? `fl &= ${~CF}; ` : '';
      keep = false;
    }
    return {
      code: `{ ${carry}const a = ${reg(d.reg)}, x = (a ${up ? '+' : '-'} 1) | 0; R${d.reg} = x; ${record(up ? OP_ADD : OP_SUB, 'a', '1', 'x', 4, writes, keep)} }`,
      flags: up ? 'inc' : 'dec', writes,
    };
  }
  if (e === move.moveRmReg) return plain(`R${d.rm} = R${d.reg};`);
  if (e === move.moveRegRm) return plain(`R${d.reg} = R${d.rm};`);
  if (e === move.moveRmImm) return plain(`R${d.rm} = ${d.imm | 0};`);
  if (e === shift.shiftByImmediate && (d.imm & 0x20) === 0) {
    // Counts with bit 5 set are left to the executor (so is its count mask).
    const count = d.imm & 0x1f;
    if (count === 0) return plain(''); // no bit and no flag changes
    return shiftRegister(d.variant, d.rm, count, live);
  }
  if (e === mul.multiplySignedInto) {
    // IMUL reg, reg(, imm): the exact product leaves the int32 range exactly
    // when the double product differs from the 32-bit one (a double is exact
    // up to 2^53, and a product beyond that is far outside the range).
    const b = d.imm2 ? `${d.imm | 0}` : `R${d.reg}`;
    if (dead) return { code: `R${d.reg} = Math.imul(R${d.rm}, ${b});`, flags: null, writes: ARITH };
    return { code: `{ const a = R${d.rm}, b = ${b}, x = Math.imul(a, b), o = a * b !== x; R${d.reg} = x; ${resultFlags('x', `(o ? ${CF | OF} : 0)`)} }`, flags: null, writes: ARITH };
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
  const zero = `(lz & ${ZF} ? (fx & mask[ls]) === 0 : (fl & ${ZF}) !== 0)`;
  return cc === 4 ? zero : cc === 5 ? `!${zero}` : `cnd(${cc}, fl, lz, lop, fa, fb, fx, ls)`;
}

export const CS_LIMIT = `cpu.segLimit[${CS}]`;

/** Near jumps the block writes inline (32-bit operand size): Jcc and JMP rel. */
export const isInlinedJump = (d: Decoded): boolean => d.exec === control.jumpConditional && d.operandSize === 4;
export const isInlinedBranch = (d: Decoded): boolean =>
  (d.exec === control.jumpConditional || d.exec === control.jumpRelative) && d.operandSize === 4;
