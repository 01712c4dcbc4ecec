// Integer expressions, as nasm parses and evaluates them. Values are 64-bit
// two's complement (nasm's own width). A value is either a plain number or
// *relocatable*: an address inside a section (a label, `$`, `$$`). nasm lets
// only `reloc ± number` and `reloc − reloc` stay simple; any other operator on
// an address is an error, and nasm picks full-width encodings for addresses
// (see instructions.ts), so the distinction is kept here.
//
// Precedence, lowest first (nasm manual §3.5): || ; ^^ ; && ;
// comparisons (= == != <> < <= > >= <=>) ; | ; ^ ; & ; shifts (<< >> <<< >>>) ;
// + - ; * / // % %% ; unary + - ~ !.  `/` and `%` are unsigned, `//` and `%%`
// signed (truncating toward zero), `>>` is logical and `>>>` arithmetic.
import type { Token } from './lexer';

export type Expr =
  | { readonly kind: 'num'; readonly value: bigint; readonly column: number }
  | { readonly kind: 'sym'; readonly name: string; readonly column: number }
  | { readonly kind: 'here'; readonly column: number }
  | { readonly kind: 'sectionStart'; readonly column: number }
  | { readonly kind: 'unary'; readonly op: string; readonly arg: Expr; readonly column: number }
  | { readonly kind: 'binary'; readonly op: string; readonly left: Expr; readonly right: Expr; readonly column: number };

/** A known value; `section` is set for an address inside that section. */
export interface Value {
  readonly value: bigint;
  readonly section: string | null;
}
export type Evaluated = { readonly kind: 'known'; readonly value: Value } | { readonly kind: 'unknown' };

export type ExprError = { readonly kind: 'error'; readonly column: number; readonly message: string };
export type Parsed = { readonly kind: 'ok'; readonly expr: Expr; readonly next: number } | ExprError;

const LEVELS: readonly (readonly string[])[] = [
  ['||'], ['^^'], ['&&'],
  ['=', '==', '!=', '<>', '<', '<=', '>', '>=', '<=>'],
  ['|'], ['^'], ['&'], ['<<', '>>', '<<<', '>>>'], ['+', '-'], ['*', '/', '//', '%', '%%'],
];

const column = (tokens: readonly Token[], at: number): number =>
  tokens[at]?.column ?? (tokens.length > 0 ? tokens[tokens.length - 1]!.column + tokens[tokens.length - 1]!.text.length : 1);

/** Parses an expression starting at tokens[start]; stops before a token that
 * cannot continue it (a comma, a bracket, the end). Names are passed through
 * `name` (the caller expands local labels `.x`). */
export function parseExpression(tokens: readonly Token[], start: number, name: (text: string) => string = (t) => t): Parsed {
  const binary = (level: number, at: number): Parsed => {
    if (level === LEVELS.length) return unary(at);
    let left = binary(level + 1, at);
    if (left.kind === 'error') return left;
    for (;;) {
      const t: Token | undefined = tokens[left.next];
      if (t === undefined || t.kind !== 'punct' || !LEVELS[level]!.includes(t.text)) return left;
      const right = binary(level + 1, left.next + 1);
      if (right.kind === 'error') return right;
      left = { kind: 'ok', expr: { kind: 'binary', op: t.text, left: left.expr, right: right.expr, column: t.column }, next: right.next };
    }
  };
  const unary = (at: number): Parsed => {
    const t = tokens[at];
    if (t === undefined) return { kind: 'error', column: column(tokens, at), message: 'expected an expression' };
    if (t.kind === 'punct' && ['+', '-', '~', '!'].includes(t.text)) {
      const arg = unary(at + 1);
      if (arg.kind === 'error') return arg;
      return { kind: 'ok', expr: { kind: 'unary', op: t.text, arg: arg.expr, column: t.column }, next: arg.next };
    }
    if (t.kind === 'punct' && t.text === '(') {
      const inner = binary(0, at + 1);
      if (inner.kind === 'error') return inner;
      const close = tokens[inner.next];
      if (close?.kind !== 'punct' || close.text !== ')') return { kind: 'error', column: column(tokens, inner.next), message: "expected ')'" };
      return { kind: 'ok', expr: inner.expr, next: inner.next + 1 };
    }
    if (t.kind === 'number') return { kind: 'ok', expr: { kind: 'num', value: t.value, column: t.column }, next: at + 1 };
    if (t.kind === 'string') {
      // A character constant: its bytes, little-endian (nasm: 'ab' = 0x6261).
      if (t.bytes.length > 8) return { kind: 'error', column: t.column, message: 'character constant is longer than 8 bytes' };
      const value = t.bytes.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);
      return { kind: 'ok', expr: { kind: 'num', value, column: t.column }, next: at + 1 };
    }
    if (t.kind === 'ident') {
      if (t.text === '$') return { kind: 'ok', expr: { kind: 'here', column: t.column }, next: at + 1 };
      if (t.text === '$$') return { kind: 'ok', expr: { kind: 'sectionStart', column: t.column }, next: at + 1 };
      return { kind: 'ok', expr: { kind: 'sym', name: name(t.text), column: t.column }, next: at + 1 };
    }
    return { kind: 'error', column: t.column, message: `expected an expression, found '${t.text}'` };
  };
  return binary(0, start);
}

/** What an expression needs from the assembler to be evaluated. `symbol`
 * returns undefined for a name not (yet) defined. */
export interface EvalEnv {
  readonly symbol: (name: string) => Evaluated | undefined;
  readonly here: Evaluated;
  readonly sectionStart: Evaluated;
  /** In the final pass an undefined name is an error; before, it is unknown. */
  readonly final: boolean;
}

export type EvalResult = Evaluated | ExprError;

const wrap = (v: bigint): bigint => BigInt.asIntN(64, v);
const unsigned = (v: bigint): bigint => BigInt.asUintN(64, v);
const bool = (b: boolean): bigint => (b ? 1n : 0n);
const known = (value: bigint, section: string | null = null): Evaluated => ({ kind: 'known', value: { value: wrap(value), section } });

/** The operators that work on plain numbers. */
function scalar(op: string, a: bigint, b: bigint): bigint | 'divide-by-zero' {
  switch (op) {
    case '||': return bool(a !== 0n || b !== 0n);
    case '^^': return bool((a !== 0n) !== (b !== 0n));
    case '&&': return bool(a !== 0n && b !== 0n);
    case '=': case '==': return bool(a === b);
    case '!=': case '<>': return bool(a !== b);
    case '<': return bool(a < b);
    case '<=': return bool(a <= b);
    case '>': return bool(a > b);
    case '>=': return bool(a >= b);
    case '<=>': return a < b ? -1n : a > b ? 1n : 0n;
    case '|': return a | b;
    case '^': return a ^ b;
    case '&': return a & b;
    case '<<': case '<<<': return b >= 64n || b < 0n ? 0n : a << b;
    case '>>': return unsigned(b) >= 64n ? 0n : unsigned(a) >> unsigned(b);
    case '>>>': return a >> (unsigned(b) >= 64n ? 63n : b);
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return b === 0n ? 'divide-by-zero' : unsigned(a) / unsigned(b);
    case '%': return b === 0n ? 'divide-by-zero' : unsigned(a) % unsigned(b);
    case '//': return b === 0n ? 'divide-by-zero' : a / b;
    case '%%': return b === 0n ? 'divide-by-zero' : a % b;
    default: return 0n;
  }
}

export function evaluate(expr: Expr, env: EvalEnv): EvalResult {
  switch (expr.kind) {
    case 'num': return known(expr.value);
    case 'here': return env.here;
    case 'sectionStart': return env.sectionStart;
    case 'sym': {
      const v = env.symbol(expr.name);
      if (v !== undefined) return v;
      return env.final ? { kind: 'error', column: expr.column, message: `undefined symbol '${expr.name}'` } : { kind: 'unknown' };
    }
    case 'unary': {
      const a = evaluate(expr.arg, env);
      if (a.kind !== 'known') return a;
      if (expr.op === '+') return a;
      if (a.value.section !== null) return { kind: 'error', column: expr.column, message: `operator '${expr.op}' may only be applied to numbers, not to an address` };
      const v = a.value.value;
      return known(expr.op === '-' ? -v : expr.op === '~' ? ~v : bool(v === 0n));
    }
    case 'binary': {
      const a = evaluate(expr.left, env);
      if (a.kind === 'error') return a;
      const b = evaluate(expr.right, env);
      if (b.kind === 'error') return b;
      if (a.kind === 'unknown' || b.kind === 'unknown') return { kind: 'unknown' };
      const [x, y] = [a.value, b.value];
      if (x.section !== null || y.section !== null) {
        // Address arithmetic: address ± number, number + address, address − address.
        if (expr.op === '+' && (x.section === null || y.section === null)) return known(x.value + y.value, x.section ?? y.section);
        if (expr.op === '-' && y.section === null) return known(x.value - y.value, x.section);
        if (expr.op === '-' && x.section !== null) return known(x.value - y.value);
        return { kind: 'error', column: expr.column, message: `operator '${expr.op}' may only be applied to numbers, not to an address` };
      }
      const r = scalar(expr.op, x.value, y.value);
      if (r === 'divide-by-zero') return { kind: 'error', column: expr.column, message: 'division by zero' };
      return known(r);
    }
  }
}
