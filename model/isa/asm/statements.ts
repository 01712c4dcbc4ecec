// Statements: one preprocessed line into an optional label and an optional
// statement (directive, data, reservation, `times`, or instruction). Local
// labels `.x` are named here, after the last ordinary label before them
// (`main.x`), because that depends only on source order.
import type { Token } from './lexer';
import { tokenize } from './lexer';
import { type Expr, parseExpression } from './expression';
import { type OperandSyntax, isKeyword, parseOperand } from './operands';
import type { Line } from './preprocess';
import { type AsmError, type SourceLocation, asmError } from './source';

export type DataItem = { readonly kind: 'expr'; readonly expr: Expr; readonly column: number } | { readonly kind: 'string'; readonly bytes: readonly number[] };
export type Unit = 1 | 2 | 4 | 8;
export type Prefix = 'rep' | 'repe' | 'repne' | 'lock' | 'o16' | 'o32' | 'a16' | 'a32' | 'es' | 'cs' | 'ss' | 'ds' | 'fs' | 'gs';

export type Statement =
  | { readonly kind: 'data'; readonly unit: Unit; readonly items: readonly DataItem[] }
  | { readonly kind: 'reserve'; readonly unit: Unit; readonly count: Expr }
  | { readonly kind: 'times'; readonly count: Expr; readonly body: Statement }
  | { readonly kind: 'instruction'; readonly mnemonic: string; readonly prefixes: readonly Prefix[]; readonly operands: readonly OperandSyntax[] }
  | { readonly kind: 'equ'; readonly name: string; readonly value: Expr }
  | { readonly kind: 'section'; readonly name: string }
  | { readonly kind: 'org'; readonly address: Expr }
  | { readonly kind: 'align'; readonly boundary: Expr; readonly fill: 'nop' | 'zero' }
  | { readonly kind: 'global'; readonly names: readonly { name: string; column: number }[] }
  /** `incbin "file"[, skip[, count]]`, as parsed; assemble.ts reads the file and makes it a `binary`. */
  | { readonly kind: 'incbin'; readonly file: string; readonly column: number; readonly skip: Expr | null; readonly count: Expr | null }
  /** A file's bytes (from `incbin`), `skip` bytes left out, at most `count` kept. */
  | { readonly kind: 'binary'; readonly bytes: Uint8Array; readonly skip: Expr | null; readonly count: Expr | null }
  | { readonly kind: 'none' };

export interface ParsedLine {
  readonly at: SourceLocation;
  readonly label: { readonly name: string; readonly column: number } | null;
  readonly statement: Statement;
}

const DATA: Record<string, Unit> = { db: 1, dw: 2, dd: 4, dq: 8 };
const RESERVE: Record<string, Unit> = { resb: 1, resw: 2, resd: 4, resq: 8 };
const PREFIXES: Record<string, Prefix> = { rep: 'rep', repe: 'repe', repz: 'repe', repne: 'repne', repnz: 'repne', lock: 'lock', o16: 'o16', o32: 'o32', a16: 'a16', a32: 'a32' };
const SEGMENT_PREFIXES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
const DIRECTIVES = ['bits', 'use32', 'use16', 'org', 'section', 'segment', 'global', 'extern', 'align', 'alignb', 'cpu', 'default', 'times', 'equ', 'absolute', 'common', 'incbin'];

type Fail = { kind: 'error'; column: number; message: string };
type Parsed<T> = { kind: 'ok'; value: T } | Fail;

/** A name is a label if it is not a keyword of the language. */
function looksLikeLabel(name: string, isMnemonic: (m: string) => boolean): boolean {
  const n = name.toLowerCase();
  return !isMnemonic(n) && !DIRECTIVES.includes(n) && DATA[n] === undefined && RESERVE[n] === undefined && PREFIXES[n] === undefined && !isKeyword(n);
}

/** Parses all lines; `isMnemonic` tells instructions from labels written without a colon. */
export function parseLines(lines: readonly Line[], isMnemonic: (m: string) => boolean): { lines: ParsedLine[]; errors: AsmError[] } {
  const out: ParsedLine[] = [];
  const errors: AsmError[] = [];
  let scope = '';
  const name = (text: string): string => (text.startsWith('.') && !text.startsWith('..') ? scope + text : text);
  for (const line of lines) {
    const at0 = { file: line.file, line: line.line };
    const lexed = tokenize(line.text, at0);
    const inMacro = (e: AsmError): AsmError => (line.macro ? { ...e, message: `${e.message} (in macro '${line.macro}')` } : e);
    if (lexed.kind === 'error') { errors.push(...lexed.errors.map(inMacro)); continue; }
    let tokens = lexed.value;
    // `[bits 32]`, `[section .data]`: the bracketed form of a directive.
    if (tokens[0]?.kind === 'punct' && tokens[0].text === '[' && tokens[1]?.kind === 'ident' && DIRECTIVES.includes(tokens[1].text.toLowerCase())) {
      tokens = tokens.slice(1, tokens[tokens.length - 1]?.text === ']' ? -1 : undefined);
    }
    let at = 0;
    let label: ParsedLine['label'] = null;
    const t0 = tokens[0];
    if (t0?.kind === 'ident' && t0.text !== '$' && t0.text !== '$$') {
      const colon = tokens[1]?.kind === 'punct' && tokens[1].text === ':';
      if (colon || looksLikeLabel(t0.text, isMnemonic)) {
        label = { name: name(t0.text), column: t0.column };
        if (!t0.text.startsWith('.') && !t0.text.startsWith('..@')) scope = t0.text;
        at = colon ? 2 : 1;
      }
    }
    const parsed = parseStatement(tokens, at, name, isMnemonic, label);
    if (parsed.kind === 'error' && label !== null && at === 1 && t0?.kind === 'ident' && tokens.length > 1) {
      // `foo eax`: a misspelt instruction, not a label without a colon.
      errors.push(inMacro(asmError({ ...at0, column: t0.column }, `unknown instruction '${t0.text}'`)));
      continue;
    }
    if (parsed.kind === 'error') {
      errors.push(inMacro(asmError({ ...at0, column: parsed.column }, parsed.message)));
      continue;
    }
    const statement = parsed.value;
    // `name equ value` defines the name instead of labelling a place.
    out.push({ at: { ...at0, column: (tokens[0]?.column ?? 1) }, label: statement.kind === 'equ' ? null : label, statement });
  }
  return { lines: out, errors };
}

function endOf(tokens: readonly Token[]): number {
  const last = tokens[tokens.length - 1];
  return last === undefined ? 1 : last.column + last.text.length;
}

function expectEnd<T>(tokens: readonly Token[], at: number, value: T): Parsed<T> {
  const t = tokens[at];
  return t === undefined ? { kind: 'ok', value } : { kind: 'error', column: t.column, message: `unexpected '${t.text}' at the end of the statement` };
}

function expression(tokens: readonly Token[], at: number, name: (t: string) => string): Parsed<{ expr: Expr; next: number }> {
  const p = parseExpression(tokens, at, name);
  return p.kind === 'error' ? p : { kind: 'ok', value: { expr: p.expr, next: p.next } };
}

function parseStatement(
  tokens: readonly Token[], start: number, name: (t: string) => string, isMnemonic: (m: string) => boolean, label: ParsedLine['label'],
): Parsed<Statement> {
  const t = tokens[start];
  if (t === undefined) return { kind: 'ok', value: { kind: 'none' } };
  if (t.kind !== 'ident') return { kind: 'error', column: t.column, message: `expected an instruction or a directive, found '${t.text}'` };
  const word = t.text.toLowerCase();
  const after = start + 1;
  const single = (): Parsed<{ expr: Expr; next: number }> =>
    tokens[after] === undefined ? { kind: 'error', column: endOf(tokens), message: `'${word}' needs a value` } : expression(tokens, after, name);
  if (word === 'equ') {
    if (label === null) return { kind: 'error', column: t.column, message: "'equ' needs a label before it" };
    const v = single();
    return v.kind === 'error' ? v : expectEnd(tokens, v.value.next, { kind: 'equ', name: label.name, value: v.value.expr });
  }
  if (DATA[word] !== undefined) {
    const items: DataItem[] = [];
    let at = after;
    for (;;) {
      const item = tokens[at];
      if (item === undefined) return { kind: 'error', column: endOf(tokens), message: `'${word}' needs a value` };
      const next = tokens[at + 1];
      if (item.kind === 'string' && (next === undefined || (next.kind === 'punct' && next.text === ','))) {
        items.push({ kind: 'string', bytes: item.bytes });
        at++;
      } else {
        const v = expression(tokens, at, name);
        if (v.kind === 'error') return v;
        items.push({ kind: 'expr', expr: v.value.expr, column: item.column });
        at = v.value.next;
      }
      const sep = tokens[at];
      if (sep === undefined) return { kind: 'ok', value: { kind: 'data', unit: DATA[word]!, items } };
      if (sep.kind !== 'punct' || sep.text !== ',') return { kind: 'error', column: sep.column, message: `expected ',' between ${word} values, found '${sep.text}'` };
      at++;
    }
  }
  if (RESERVE[word] !== undefined) {
    const v = single();
    return v.kind === 'error' ? v : expectEnd(tokens, v.value.next, { kind: 'reserve', unit: RESERVE[word]!, count: v.value.expr });
  }
  if (word === 'times') {
    const v = single();
    if (v.kind === 'error') return v;
    const body = parseStatement(tokens, v.value.next, name, isMnemonic, null);
    if (body.kind === 'error') return body;
    if (body.value.kind !== 'data' && body.value.kind !== 'instruction' && body.value.kind !== 'reserve') {
      return { kind: 'error', column: tokens[v.value.next]?.column ?? endOf(tokens), message: "'times' must be followed by data, a reservation or an instruction" };
    }
    return { kind: 'ok', value: { kind: 'times', count: v.value.expr, body: body.value } };
  }
  if (word === 'bits' || word === 'use32' || word === 'use16') {
    const n = word === 'bits' ? tokens[after] : undefined;
    if (word === 'use32' || (n?.kind === 'number' && n.value === 32n)) return expectEnd(tokens, word === 'bits' ? after + 1 : after, { kind: 'none' });
    return { kind: 'error', column: n?.column ?? t.column, message: 'only 32-bit code is supported (bits 32)' };
  }
  if (word === 'cpu' || word === 'default') return { kind: 'ok', value: { kind: 'none' } };
  if (word === 'org') {
    const v = single();
    return v.kind === 'error' ? v : expectEnd(tokens, v.value.next, { kind: 'org', address: v.value.expr });
  }
  if (word === 'section' || word === 'segment') {
    const n = tokens[after];
    if (n?.kind !== 'ident') return { kind: 'error', column: n?.column ?? endOf(tokens), message: `'${word}' needs a section name` };
    const sectionName = n.text.toLowerCase();
    if (!['.text', '.data', '.bss', '.rodata'].includes(sectionName)) {
      return { kind: 'error', column: n.column, message: `unknown section '${n.text}' (use .text, .rodata, .data or .bss)` };
    }
    return { kind: 'ok', value: { kind: 'section', name: sectionName } }; // section attributes are ignored
  }
  if (word === 'global') {
    const names: { name: string; column: number }[] = [];
    for (let at = after; at < tokens.length; at++) {
      const n = tokens[at]!;
      if (n.kind === 'ident') names.push({ name: name(n.text), column: n.column });
      else if (n.kind === 'punct' && n.text === ':') at++; // `global f:function`
      else if (n.kind !== 'punct' || n.text !== ',') return { kind: 'error', column: n.column, message: `expected a symbol name after 'global'` };
    }
    return { kind: 'ok', value: { kind: 'global', names } };
  }
  if (word === 'incbin') {
    const f = tokens[after];
    if (f?.kind !== 'string') return { kind: 'error', column: f?.column ?? endOf(tokens), message: "'incbin' needs a quoted file name" };
    const file = String.fromCharCode(...f.bytes);
    const exprs: Expr[] = [];
    let at = after + 1;
    while (at < tokens.length && exprs.length < 2) {
      const sep = tokens[at]!;
      if (sep.kind !== 'punct' || sep.text !== ',') return { kind: 'error', column: sep.column, message: `expected ',' after the incbin file name or skip, found '${sep.text}'` };
      const e = expression(tokens, at + 1, name);
      if (e.kind === 'error') return e;
      exprs.push(e.value.expr);
      at = e.value.next;
    }
    return expectEnd(tokens, at, { kind: 'incbin', file, column: f.column, skip: exprs[0] ?? null, count: exprs[1] ?? null });
  }
  if (word === 'extern' || word === 'common' || word === 'absolute') {
    return { kind: 'error', column: t.column, message: `'${word}' is not supported: the assembler links nothing, every symbol must be defined in the source` };
  }
  if (word === 'align' || word === 'alignb') {
    const v = single();
    if (v.kind === 'error') return v;
    const rest = tokens.slice(v.value.next).map((x) => x.text.toLowerCase()).join(' ');
    const fill = rest === '' ? (word === 'align' ? 'nop' : 'zero') : rest === ', db 0' || rest === ', nop' ? (rest === ', nop' ? 'nop' : 'zero') : null;
    if (fill === null) return { kind: 'error', column: tokens[v.value.next]!.column, message: `'${word}' supports only 'align N', 'align N, nop' and 'align N, db 0'` };
    return { kind: 'ok', value: { kind: 'align', boundary: v.value.expr, fill } };
  }
  // An instruction, after its prefixes.
  const prefixes: Prefix[] = [];
  let at = start;
  for (;;) {
    const p = tokens[at];
    if (p?.kind !== 'ident') break;
    const w = p.text.toLowerCase();
    if (PREFIXES[w] !== undefined) prefixes.push(PREFIXES[w]!);
    else if (SEGMENT_PREFIXES.includes(w) && tokens[at + 1]?.kind === 'ident') prefixes.push(w as Prefix);
    else break;
    at++;
  }
  const m = tokens[at];
  if (m === undefined) return { kind: 'ok', value: { kind: 'instruction', mnemonic: prefixes.length > 0 ? '' : word, prefixes, operands: [] } };
  if (m.kind !== 'ident') return { kind: 'error', column: m.column, message: `expected an instruction, found '${m.text}'` };
  const mnemonic = m.text.toLowerCase();
  if (!isMnemonic(mnemonic)) return { kind: 'error', column: m.column, message: `unknown instruction '${m.text}'` };
  const operands: OperandSyntax[] = [];
  at++;
  while (at < tokens.length) {
    const o = parseOperand(tokens, at, name);
    if (o.kind === 'error') return o;
    operands.push(o.operand);
    at = o.next;
    const sep = tokens[at];
    if (sep === undefined) break;
    if (sep.kind !== 'punct' || sep.text !== ',') return { kind: 'error', column: sep.column, message: `expected ',' between operands, found '${sep.text}'` };
    at++;
    if (tokens[at] === undefined) return { kind: 'error', column: endOf(tokens), message: 'expected an operand after ,' };
  }
  return { kind: 'ok', value: { kind: 'instruction', mnemonic, prefixes, operands } };
}
