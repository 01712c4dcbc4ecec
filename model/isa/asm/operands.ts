// Operand syntax: registers, `size [seg:base+index*scale+disp]` in any order
// nasm accepts, immediates and branch targets with `short`/`near`/`far`, and
// direct far pointers `sel:offset`. Memory addresses are put in the form nasm
// encodes: `[eax*2]` becomes `[eax+eax]`, `[eax*3]` `[eax+eax*2]`, `[eax*1]`
// `[eax]`, `[eax+esp]` `[esp+eax]` (esp cannot be an index); with two
// registers the one written with `*` is the index, else the second one.
import type { MemorySize, OperandSize, SegmentName } from '../ast';
import { SEGMENT_NAMES } from '../ast';
import type { Token } from './lexer';
import { type Expr, parseExpression } from './expression';

export type Distance = 'short' | 'near' | 'far' | null;

export type OperandSyntax =
  | { readonly kind: 'reg'; readonly size: OperandSize; readonly reg: number; readonly column: number }
  | { readonly kind: 'sreg'; readonly reg: number; readonly column: number }
  | { readonly kind: 'creg'; readonly reg: 0 | 2 | 3 | 4; readonly column: number }
  | { readonly kind: 'st'; readonly reg: number; readonly column: number }
  | { readonly kind: 'dreg'; readonly reg: number; readonly column: number }
  | {
      readonly kind: 'mem';
      readonly size: MemorySize | null;
      readonly segment: SegmentName | null;
      readonly base: number | null;
      readonly index: number | null;
      readonly scale: 1 | 2 | 4 | 8;
      readonly disp: Expr | null;
      readonly far: boolean;
      /** Written with 16-bit registers ([bx+si]): 16-bit addressing. */
      readonly address16: boolean;
      readonly column: number;
    }
  | { readonly kind: 'imm'; readonly size: OperandSize | null; readonly value: Expr; readonly distance: Distance; readonly column: number }
  | { readonly kind: 'far'; readonly selector: Expr; readonly offset: Expr; readonly size: OperandSize | null; readonly column: number };

const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const REG8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const CONTROL = ['cr0', 'cr2', 'cr3', 'cr4'];
const SIZES: Record<string, number> = { byte: 8, word: 16, dword: 32, fword: 48, qword: 64, tword: 80, oword: 128 };

export type RegisterName = { size: OperandSize; reg: number } | { sreg: number } | { creg: 0 | 2 | 3 | 4 } | { st: number } | { dreg: number };

export function registerNamed(name: string): RegisterName | null {
  const n = name.toLowerCase();
  for (const [size, names] of [[32, REG32], [16, REG16], [8, REG8]] as const) {
    const k = names.indexOf(n);
    if (k >= 0) return { size, reg: k };
  }
  const s = (SEGMENT_NAMES as readonly string[]).indexOf(n);
  if (s >= 0) return { sreg: s };
  if (CONTROL.includes(n)) return { creg: Number(n[2]) as 0 | 2 | 3 | 4 };
  if (/^st[0-7]$/.test(n)) return { st: Number(n[2]) };
  if (/^dr[0-7]$/.test(n)) return { dreg: Number(n[2]) };
  return null;
}

export const isKeyword = (name: string): boolean =>
  registerNamed(name) !== null || SIZES[name.toLowerCase()] !== undefined || ['short', 'near', 'far', 'strict'].includes(name.toLowerCase());

type Fail = { readonly kind: 'error'; readonly column: number; readonly message: string };
export type ParsedOperand = { readonly kind: 'ok'; readonly operand: OperandSyntax; readonly next: number } | Fail;

const isPunct = (t: Token | undefined, text: string): boolean => t?.kind === 'punct' && t.text === text;

/** One operand from tokens[start]; stops at a top-level comma or the end. */
export function parseOperand(tokens: readonly Token[], start: number, name: (text: string) => string): ParsedOperand {
  let at = start;
  let size: number | null = null;
  let distance: Distance = null;
  const first = tokens[start];
  const column = first?.column ?? 1;
  for (;;) {
    const t = tokens[at];
    if (t?.kind !== 'ident') break;
    const word = t.text.toLowerCase();
    if (SIZES[word] !== undefined) size = SIZES[word]!;
    else if (word === 'short' || word === 'near' || word === 'far') distance = word;
    else if (word !== 'strict') break;
    at++;
  }
  const t = tokens[at];
  if (t === undefined) return { kind: 'error', column: first === undefined ? 1 : column, message: 'expected an operand' };
  if ((size === 80 && !isPunct(t, '[')) || size === 128) return { kind: 'error', column, message: `'${first!.kind === 'ident' ? first!.text : ''}' operands are not supported` };
  if (isPunct(t, '[')) return parseMemory(tokens, at + 1, size, distance === 'far', column, name);
  if (t.kind === 'ident') {
    const r = registerNamed(t.text);
    if (r !== null && !isPunct(tokens[at + 1], ':')) {
      if (size !== null) return { kind: 'error', column, message: `a size keyword cannot be applied to register ${t.text}` };
      const operand: OperandSyntax = 'size' in r ? { kind: 'reg', size: r.size, reg: r.reg, column }
        : 'sreg' in r ? { kind: 'sreg', reg: r.sreg, column } : 'st' in r ? { kind: 'st', reg: r.st, column } : 'dreg' in r ? { kind: 'dreg', reg: r.dreg, column } : { kind: 'creg', reg: r.creg, column };
      return { kind: 'ok', operand, next: at + 1 };
    }
    if (r !== null && 'sreg' in r && isPunct(tokens[at + 2], '[')) {
      return { kind: 'error', column, message: `write the segment inside the brackets: [${t.text}:…]` };
    }
  }
  const value = parseExpression(tokens, at, name);
  if (value.kind === 'error') return value;
  if (isPunct(tokens[value.next], ':')) {
    const offset = parseExpression(tokens, value.next + 1, name);
    if (offset.kind === 'error') return offset;
    return { kind: 'ok', operand: { kind: 'far', selector: value.expr, offset: offset.expr, size: size as OperandSize | null, column }, next: offset.next };
  }
  if (size === 48 || size === 64) return { kind: 'error', column, message: 'an immediate can only be a byte, word or dword' };
  return { kind: 'ok', operand: { kind: 'imm', size: size as OperandSize | null, value: value.expr, distance, column }, next: value.next };
}

interface Term { reg: number; scale: bigint; scaled: boolean; column: number; bits: 16 | 32 }

/** The registers 16-bit addressing can use: BX, BP, SI, DI (numbers as in REG16). */
const ADDRESS16 = new Set([3, 5, 6, 7]);

/** Splits an address expression into register terms and the displacement. */
function linearize(e: Expr, negate: boolean, terms: Term[], rest: Expr[]): Fail | null {
  const reg16 = (x: Expr): number => (x.kind === 'sym' ? REG16.indexOf(x.name.toLowerCase()) : -1);
  const reg32 = (x: Expr): number | null => (x.kind === 'sym' ? (REG32.indexOf(x.name.toLowerCase()) >= 0 ? REG32.indexOf(x.name.toLowerCase()) : ADDRESS16.has(reg16(x)) ? reg16(x) : -1) : -1) as number;
  const bitsOf = (x: Expr): 16 | 32 => (reg16(x) >= 0 ? 16 : 32);
  const isReg = (x: Expr): boolean => (reg32(x) ?? -1) >= 0;
  const hasReg = (x: Expr): boolean =>
    x.kind === 'sym' ? registerNamed(x.name) !== null : x.kind === 'unary' ? hasReg(x.arg) : x.kind === 'binary' ? hasReg(x.left) || hasReg(x.right) : false;
  if (e.kind === 'sym' && registerNamed(e.name) !== null && !isReg(e)) {
    return { kind: 'error', column: e.column, message: `only 32-bit registers and BX, BP, SI, DI can address memory, not ${e.name}` };
  }
  if (isReg(e)) {
    if (negate) return { kind: 'error', column: e.column, message: 'a register cannot be subtracted in an address' };
    terms.push({ reg: reg32(e)!, scale: 1n, scaled: false, column: e.column, bits: bitsOf(e) });
    return null;
  }
  if (e.kind === 'binary' && (e.op === '+' || e.op === '-') && hasReg(e)) {
    return linearize(e.left, negate, terms, rest) ?? linearize(e.right, e.op === '-' ? !negate : negate, terms, rest);
  }
  if (e.kind === 'binary' && e.op === '*' && (isReg(e.left) || isReg(e.right))) {
    const [r, k] = isReg(e.left) ? [e.left, e.right] : [e.right, e.left];
    if (hasReg(k) || negate) return { kind: 'error', column: e.column, message: 'invalid effective address' };
    const scale = constant(k);
    if (scale === null) return { kind: 'error', column: k.column, message: 'a scale must be a constant number' };
    terms.push({ reg: reg32(r)!, scale, scaled: true, column: r.column, bits: bitsOf(r) });
    return null;
  }
  if (hasReg(e)) return { kind: 'error', column: e.column, message: 'invalid effective address: registers may only be added or scaled' };
  rest.push(negate ? { kind: 'unary', op: '-', arg: e, column: e.column } : e);
  return null;
}

/** The value of an expression made only of numbers, or null. */
function constant(e: Expr): bigint | null {
  if (e.kind === 'num') return e.value;
  if (e.kind === 'unary') {
    const a = constant(e.arg);
    return a === null ? null : e.op === '-' ? -a : e.op === '~' ? ~a : e.op === '+' ? a : null;
  }
  if (e.kind === 'binary') {
    const a = constant(e.left);
    const b = constant(e.right);
    if (a === null || b === null) return null;
    return e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : e.op === '<<' ? a << b : null;
  }
  return null;
}

function parseMemory(tokens: readonly Token[], start: number, size: number | null, far: boolean, column: number, name: (t: string) => string): ParsedOperand {
  let at = start;
  // `nosplit`: keep `[eax*2]` as an index without a base (and `[eax*1]` as
  // an index), instead of nasm's shorter `[eax+eax]` (and `[eax]`).
  let segment: SegmentName | null = null;
  let nosplit = false;
  for (;;) {
    const s = tokens[at];
    if (s?.kind === 'ident' && s.text.toLowerCase() === 'nosplit') { nosplit = true; at++; continue; }
    if (s?.kind === 'ident' && (SEGMENT_NAMES as readonly string[]).includes(s.text.toLowerCase()) && isPunct(tokens[at + 1], ':')) {
      segment = s.text.toLowerCase() as SegmentName;
      at += 2;
      continue;
    }
    break;
  }
  // Registers are parsed as names and picked out of the expression after.
  const parsed = parseExpression(tokens, at, (t) => (registerNamed(t) !== null ? t : name(t)));
  if (parsed.kind === 'error') return parsed;
  if (!isPunct(tokens[parsed.next], ']')) return { kind: 'error', column: tokens[parsed.next]?.column ?? column, message: "expected ']' to close the memory operand" };
  const terms: Term[] = [];
  const rest: Expr[] = [];
  const bad = linearize(parsed.expr, false, terms, rest);
  if (bad !== null) return bad;
  const disp = rest.reduce<Expr | null>((acc, e) => (acc === null ? e : { kind: 'binary', op: '+', left: acc, right: e, column: e.column }), null);
  const fail = (message: string): Fail => ({ kind: 'error', column: terms[0]?.column ?? column, message });
  if (terms.some((t) => t.bits === 16)) {
    // [ENC.MEM16.1] 16-bit addressing: BX or BP, SI or DI, or one of the four; no scale.
    if (terms.some((t) => t.bits === 32)) return fail('16-bit and 32-bit registers cannot be mixed in an address');
    if (terms.some((t) => t.scale !== 1n)) return fail('16-bit addressing has no scale');
    const regs = terms.map((t) => t.reg);
    const b = regs.find((r) => r === 3 || r === 5) ?? null;
    const x = regs.find((r) => r === 6 || r === 7) ?? null;
    if (regs.length === 2 && (b === null || x === null)) return fail('a 16-bit address is BX or BP plus SI or DI');
    const [base16, index16] = regs.length === 2 ? [b, x] : [regs[0] ?? null, null];
    return {
      kind: 'ok',
      operand: { kind: 'mem', size: size as MemorySize | null, segment, base: base16, index: index16, scale: 1, disp, far, address16: true, column },
      next: parsed.next + 1,
    };
  }
  let base: number | null = null;
  let index: number | null = null;
  let scale = 1n;
  if (terms.length > 2) return fail('too many registers in a memory operand');
  if (terms.length === 2) {
    const [a, b] = terms as [Term, Term];
    if (a.scaled && b.scaled && a.scale !== 1n && b.scale !== 1n) return fail('only one register can be scaled');
    const [baseTerm, indexTerm] = a.scaled && !b.scaled ? [b, a] : b.scaled && !a.scaled ? [a, b] : b.scaled && b.scale !== 1n ? [a, b] : a.scale !== 1n ? [b, a] : [a, b];
    base = baseTerm.reg;
    index = indexTerm.reg;
    scale = indexTerm.scale;
  } else if (terms.length === 1) {
    const t = terms[0]!;
    if (nosplit && t.scaled) { index = t.reg; scale = t.scale; }
    else if (t.scale === 1n) base = t.reg;
    else if (t.scale === 2n || t.scale === 3n || t.scale === 5n || t.scale === 9n) { base = t.reg; index = t.reg; scale = t.scale - 1n; }
    else { index = t.reg; scale = t.scale; }
  }
  if (index === 4) {
    if (scale !== 1n || base === 4) return fail('esp cannot be an index register');
    [base, index] = [4, base];
  }
  if (![1n, 2n, 4n, 8n].includes(scale)) return fail(`a scale must be 1, 2, 4 or 8, not ${scale}`);
  return {
    kind: 'ok',
    operand: { kind: 'mem', size: size as MemorySize | null, segment, base, index, scale: Number(scale) as 1 | 2 | 4 | 8, disp, far, address16: false, column },
    next: parsed.next + 1,
  };
}
