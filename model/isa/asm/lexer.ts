// The lexer: one logical line of NASM source (comments already removed by
// the preprocessor) into tokens, each with the 1-based column it starts at.
// Numbers take every form nasm accepts (0x1f, 1fh, $1f, 0b101, 101b, 0o17,
// 17q, 0d12, 12d, underscores as separators); strings are '…', "…" or `…`
// (only back-quoted strings know escapes, as in nasm).
import { type Result, ok, fail, asmError, type SourceLocation } from './source';

export type Token =
  | { readonly kind: 'ident'; readonly text: string; readonly column: number }
  | { readonly kind: 'number'; readonly value: bigint; readonly text: string; readonly column: number }
  | { readonly kind: 'string'; readonly bytes: readonly number[]; readonly text: string; readonly column: number }
  | { readonly kind: 'punct'; readonly text: string; readonly column: number };

const IDENT_START = /[A-Za-z._?]/;
const IDENT_CHAR = /[A-Za-z0-9_$#@~.?]/;
const PUNCTUATION = ['<<<', '>>>', '<=>', '//', '%%', '<<', '>>', '==', '!=', '<>', '<=', '>=', '&&', '||', '^^',
  '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '(', ')', '[', ']', ',', ':', '=', '<', '>', '{', '}'];

export const isIdentStart = (c: string): boolean => IDENT_START.test(c);
export const isIdentChar = (c: string): boolean => IDENT_CHAR.test(c);

const RADIX_LETTERS: Record<string, number> = { x: 16, h: 16, d: 10, t: 10, o: 8, q: 8, b: 2, y: 2 };

/** Reads a nasm number; null if the text is not a valid number. A radix
 * prefix (0x, 0h, 0d, 0t, 0o, 0q, 0b, 0y) is tried first, then a suffix. */
export function parseNumber(text: string): bigint | null {
  const clean = text.replace(/_/g, '').toLowerCase();
  if (clean.startsWith('$')) return digitsValue(clean.slice(1), 16);
  if (clean.length > 2 && clean[0] === '0' && RADIX_LETTERS[clean[1]!] !== undefined) {
    const v = digitsValue(clean.slice(2), RADIX_LETTERS[clean[1]!]!);
    if (v !== null) return v;
  }
  const last = clean[clean.length - 1]!;
  if (clean.length > 1 && RADIX_LETTERS[last] !== undefined) {
    const v = digitsValue(clean.slice(0, -1), RADIX_LETTERS[last]!);
    if (v !== null) return v;
  }
  return digitsValue(clean, 10);
}

function digitsValue(digits: string, radix: number): bigint | null {
  if (digits.length === 0) return null;
  let value = 0n;
  for (const c of digits) {
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= radix) return null;
    value = value * BigInt(radix) + BigInt(d);
  }
  return BigInt.asUintN(64, value);
}

const ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, a: 7, b: 8, f: 12, v: 11, e: 27, '\\': 92, "'": 39, '"': 34, '`': 96, '?': 63 };

/** The bytes of a string literal's body (UTF-8), decoding escapes in `…`. */
function stringBytes(body: string, backquoted: boolean): number[] {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (backquoted && c === '\\' && i + 1 < body.length) {
      const e = body[i + 1]!;
      if (e === 'x') {
        const hex = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 2))?.[0] ?? '';
        bytes.push(parseInt(hex || '0', 16));
        i += 1 + hex.length;
        continue;
      }
      if (/[0-7]/.test(e)) {
        const oct = /^[0-7]{1,3}/.exec(body.slice(i + 1))![0];
        bytes.push(parseInt(oct, 8) & 0xff);
        i += oct.length;
        continue;
      }
      bytes.push(ESCAPES[e] ?? e.charCodeAt(0));
      i += 1;
      continue;
    }
    bytes.push(...encoder.encode(c));
  }
  return bytes;
}

/** Splits one line into tokens; `at` locates the line for error messages. */
export function tokenize(text: string, at: Omit<SourceLocation, 'column'>): Result<Token[]> {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const column = i + 1;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += c === '`' && text[j] === '\\' ? 2 : 1;
      if (j >= text.length) return fail(asmError({ ...at, column }, `unterminated string (missing closing ${c})`));
      tokens.push({ kind: 'string', bytes: stringBytes(text.slice(i + 1, j), c === '`'), text: text.slice(i, j + 1), column });
      i = j + 1;
    } else if (/[0-9]/.test(c) || (c === '$' && /[0-9]/.test(text[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < text.length && /[0-9A-Za-z_]/.test(text[j]!)) j++;
      const word = text.slice(i, j);
      const value = parseNumber(word);
      if (value === null) return fail(asmError({ ...at, column }, `invalid number '${word}'`));
      tokens.push({ kind: 'number', value, text: word, column });
      i = j;
    } else if (c === '$' && text[i + 1] === '$') {
      tokens.push({ kind: 'ident', text: '$$', column });
      i += 2;
    } else if (c === '$' && isIdentStart(text[i + 1] ?? '')) {
      // `$name` is an identifier that may look like a keyword ($eax).
      let j = i + 2;
      while (j < text.length && isIdentChar(text[j]!)) j++;
      tokens.push({ kind: 'ident', text: text.slice(i + 1, j), column });
      i = j;
    } else if (c === '$') {
      tokens.push({ kind: 'ident', text: '$', column });
      i++;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < text.length && isIdentChar(text[j]!)) j++;
      tokens.push({ kind: 'ident', text: text.slice(i, j), column });
      i = j;
    } else {
      const p = PUNCTUATION.find((q) => text.startsWith(q, i));
      if (p === undefined) return fail(asmError({ ...at, column }, `unexpected character '${c}'`));
      tokens.push({ kind: 'punct', text: p, column });
      i += p.length;
    }
  }
  return ok(tokens);
}
