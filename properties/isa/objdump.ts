// objdump as an oracle for the decoder: run it once over many byte strings
// and bring both its text and our decoded AST to one normalised form.
//
// Normalisation (documented in spec/encoding.md, "What the tests check"):
// - mnemonic lower-case; objdump's `sal` is `shl`; the size suffix of
//   lgdtd/lidtd/sgdtd/sidtd dropped; prefixes written as words (rep, repz,
//   repnz, lock, data16, segment names, bnd, notrack) are taken off the front;
// - operand sizes (`DWORD PTR`) are dropped, because the mnemonic and the
//   registers already carry the size; the segment override of a memory
//   operand is part of its token (objdump writes `ds:` on every absolute
//   address, so ours without an override counts as ds there);
// - every operand becomes a token: `r:eax`, `i:<unsigned value>` (branch
//   targets too, as absolute addresses), `m:<base>,<index>,<scale>,<disp>@<segment>`,
//   `f:<selector>:<offset>`, `s:es`, `c:cr0`;
// - string instructions are compared by mnemonic and element size only.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Instruction, Operand } from '../../model/isa/ast';
import { SEGMENT_NAMES } from '../../model/isa/ast';
import { mnemonicText, registerName } from '../../model/isa/disassembler';

export interface ObjdumpLine { readonly length: number; readonly text: string }

/** Disassemble a flat 32-bit binary with objdump; lines by address. */
export function objdumpLines(bytes: Uint8Array): Map<number, ObjdumpLine> {
  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-objdump-'));
  try {
    const file = join(dir, 'in.bin');
    writeFileSync(file, bytes);
    const out = execFileSync('objdump', ['-D', '-b', 'binary', '-m', 'i386', '-M', 'intel', '--insn-width=16', file], {
      encoding: 'utf8', maxBuffer: 1 << 28,
    });
    const lines = new Map<number, ObjdumpLine>();
    for (const line of out.split('\n')) {
      const m = /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$/.exec(line);
      if (m === null) continue;
      lines.set(parseInt(m[1]!, 16), { length: m[2]!.split(' ').length, text: m[3]!.trim() });
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Normalised {
  readonly mnemonic: string;
  readonly operands: readonly string[];
  readonly rep: boolean;
  readonly lock: boolean;
}

const PREFIX_WORDS = new Set(['rep', 'repz', 'repnz', 'repe', 'repne', 'lock', 'data16', 'addr16', 'bnd', 'notrack', 'xacquire', 'xrelease',
  ...SEGMENT_NAMES]);
const REGISTERS = new Set([8, 16, 32].flatMap((s) => [0, 1, 2, 3, 4, 5, 6, 7].map((r) => registerName(s as 8 | 16 | 32, r))));
const REGISTER_NUMBER = new Map([
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r) => [registerName(32, r), r] as const),
  // 16-bit addressing (ENC.MEM16.1): BX, BP, SI, DI keep their register numbers.
  ...[3, 5, 6, 7].map((r) => [registerName(16, r), r] as const),
]);

/** Split objdump's operand list at top-level commas. */
function splitOperands(text: string): string[] {
  if (text === '') return [];
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) { parts.push(current); current = ''; } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

function memoryToken(base: number | null, index: number | null, scale: number, disp: number, segment: string): string {
  return `m:${base ?? '-'},${index ?? '-'},${index === null ? 1 : scale},${disp >>> 0}@${segment}`;
}

/** One objdump operand -> token. */
function objdumpOperand(raw: string): string {
  let t = raw.replace(/\b(BYTE|WORD|DWORD|FWORD|QWORD|TBYTE|XMMWORD) PTR /g, '').trim();
  const segment = /^(es|cs|ss|ds|fs|gs):/.exec(t)?.[1] ?? '-';
  t = t.replace(/^(es|cs|ss|ds|fs|gs):/, '');
  if (REGISTERS.has(t)) return `r:${t}`;
  if (/^(es|cs|ss|ds|fs|gs)$/.test(t)) return `s:${t}`;
  if (/^cr[0-7]$/.test(t)) return `c:${t}`;
  if (t === 'st') return 'st:0';
  if (/^db[0-7]$/.test(t)) return `d:dr${t[2]}`;
  if (/^dr[0-7]$/.test(t)) return `d:${t}`;
  const stack = /^st\((\d)\)$/.exec(t);
  if (stack !== null) return `st:${stack[1]}`;
  let m = /^(0x[0-9a-f]+|\d+):(0x[0-9a-f]+|\d+)$/.exec(t);
  if (m !== null) return `f:${Number(m[1])}:${Number(m[2])}`;
  if (/^(0x[0-9a-f]+|\d+)$/.test(t)) return `i:${Number(t) >>> 0}`;
  m = /^(0x[0-9a-f]+|\d+)\s*<.*>$/.exec(t);
  if (m !== null) return `i:${Number(m[1]) >>> 0}`;
  const bracket = /^\[(.*)\]$/.exec(t);
  if (bracket !== null) {
    let base: number | null = null;
    let index: number | null = null;
    let scale = 1;
    let disp = 0;
    for (const term of bracket[1]!.match(/[+-]?[^+-]+/g) ?? []) {
      const sign = term.startsWith('-') ? -1 : 1;
      const body = term.replace(/^[+-]/, '');
      const scaled = /^(\w+)\*(\d)$/.exec(body);
      // `eiz` is objdump's name for "SIB index 100: no index".
      if (scaled !== null && scaled[1] === 'eiz') continue;
      if (scaled !== null) { index = REGISTER_NUMBER.get(scaled[1]!) ?? -1; scale = Number(scaled[2]); }
      // A second plain register is the index of a 16-bit address ([bx+si]).
      else if (REGISTER_NUMBER.has(body)) { if (base === null) base = REGISTER_NUMBER.get(body)!; else index = REGISTER_NUMBER.get(body)!; }
      else disp += sign * Number(body);
    }
    // An absolute address through a SIB byte ([eiz*2+disp]) is written without the ds: objdump puts on the short form.
    return memoryToken(base, index, scale, disp, base === null && index === null && segment === '-' ? 'ds' : segment);
  }
  return `?:${t}`;
}

/** objdump's text -> normalised form, or null for `(bad)`. */
export function normaliseObjdump(text: string): Normalised | null {
  const words = text.replace(/\s+/g, ' ').split(' ');
  let rep = false;
  let lock = false;
  let notrack = false;
  while (words.length > 1 && PREFIX_WORDS.has(words[0]!)) {
    const w = words.shift()!;
    if (w.startsWith('rep')) rep = true;
    if (w === 'lock') lock = true;
    if (w === 'notrack') notrack = true;
  }
  let mnemonic = words.shift()!;
  // objdump marks FNENI, FNDISI (8087 only) and FNSETPM (287 only) in the mnemonic: `fneni(8087 only)`.
  if (/\(\d+$/.test(mnemonic)) { mnemonic = mnemonic.replace(/\(.*$/, ''); words.length = 0; }
  // UD0 is #UD by definition: objdump names it, we call it invalid (UD1 we decode, SYS.UD2.1).
  if (mnemonic === '(bad)' || mnemonic === 'ud0') return null;
  mnemonic = withoutSizeSuffix(mnemonic).replace(/\(.*\)$/, '');
  // objdump's names of the 287's FSETPM and of the 8087-only FNENI/FNDISI (nasm: fsetpm, fneni, fndisi).
  if (mnemonic === 'fnsetpm') mnemonic = 'fsetpm';
  if (mnemonic === 'fwait') mnemonic = 'wait';
  // The 16-bit environment and state forms (66 prefix): objdump adds a `w` (fnstenvw); we write o16.
  if (/^(fnstenv|fldenv|fnsave|frstor)[wd]$/.test(mnemonic)) mnemonic = mnemonic.slice(0, -1);
  // The hint NOPs (ENC.NOP.2): objdump writes nopl/nopw, and PREFETCHh for 0F 18 /0../3.
  if (/^(nop[lw]|prefetch(nta|t0|t1|t2))$/.test(mnemonic)) mnemonic = 'nop';
  if (mnemonic === 'sal') mnemonic = 'shl';
  if (/^(lgdt|lidt|sgdt|sidt)[dw]$/.test(mnemonic)) mnemonic = mnemonic.slice(0, 4);
  const operandText = words.join(' ').replace(/\s*#.*$/, '');
  let operands = splitOperands(operandText).map(objdumpOperand);
  // A bare absolute address is written `ds:0x1234` (no brackets).
  operands = operands.map((o, k) => {
    const raw = splitOperands(operandText)[k]!;
    return /(^|PTR |\s)(es|cs|ss|ds|fs|gs):(0x[0-9a-f]+|\d+)$/.test(raw) ? memoryToken(null, null, 1, Number(raw.split(':').pop()), /(es|cs|ss|ds|fs|gs):/.exec(raw)![1]!) : o;
  });
  if (['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs'].includes(mnemonic)) {
    const size = /\b(BYTE|WORD|DWORD) PTR/.exec(operandText)?.[1];
    operands = [`e:${size === 'BYTE' ? 8 : size === 'WORD' ? 16 : 32}`];
  }
  // `notrack` is objdump's name for a 3E prefix on an indirect branch (CET); without CET it is a DS override.
  // objdump's choice of which segment prefix it shows beside `notrack` is its own; the segment is not compared there.
  if (notrack) operands = operands.map((o) => o.replace(/@[a-z-]+$/, '@?'));
  // XLAT's implicit operand: objdump writes `BYTE PTR ds:[ebx]`; ours has none (the segment is compared through normaliseOurs).
  if (mnemonic === 'xlat') operands = operands.map((o) => o.replace(/@-$/, '@ds'));
  // 66 90 is NOP at operand size 16; objdump writes it `xchg ax,ax`.
  if (mnemonic === 'xchg' && operands.join(',') === 'r:ax,r:ax') return { mnemonic: 'nop', operands: [], rep, lock };
  // `?` is objdump's name for a register number that does not exist (segment register 6 or 7): invalid.
  if (operands.includes('?:?')) return null;
  return { mnemonic, operands: commutative(mnemonic, operands), rep, lock };
}

/** XCHG's operands are unordered (objdump and nasm put them differently). */
function commutative(mnemonic: string, operands: string[]): string[] {
  return mnemonic === 'xchg' ? [...operands].sort() : operands;
}

/** objdump marks 16-bit stack and return forms with a `w` suffix (pushw, retfw, enterw); the operand size is compared through the operands. */
const SUFFIXED = new Set(['push', 'pop', 'ret', 'retf', 'enter', 'leave', 'iret', 'pushf', 'popf', 'pusha', 'popa', 'call', 'jmp']);
function withoutSizeSuffix(mnemonic: string): string {
  return mnemonic.endsWith('w') && SUFFIXED.has(mnemonic.slice(0, -1)) ? mnemonic.slice(0, -1) : mnemonic;
}

function ourOperand(o: Operand, i: Instruction, end: number): string {
  switch (o.kind) {
    case 'reg': return `r:${registerName(o.size, o.reg)}`;
    case 'sreg': return `s:${SEGMENT_NAMES[o.reg]}`;
    case 'creg': return `c:cr${o.reg}`;
    case 'st': return `st:${o.reg}`;
    case 'dreg': return `d:dr${o.reg}`;
    case 'imm': return `i:${o.value >>> 0}`;
    case 'far': return `f:${o.selector}:${o.offset}`;
    // objdump names the segment of a bracketed operand only when a prefix gives one, and always names it (ds by default) for an absolute address.
    case 'mem': return memoryToken(o.base, o.index, o.scale,
      // objdump writes a 16-bit displacement after a register as a signed number.
      i.addressSize === 16 && (o.base !== null || o.index !== null) ? ((o.disp << 16) >> 16) >>> 0 : o.disp,
      i.segment ?? (o.base === null && o.index === null ? 'ds' : '-'));
    case 'rel': return `i:${i.operandSize === 16 ? (end + o.offset) & 0xffff : (end + o.offset) >>> 0}`;
  }
}

/** Our decoded instruction at `address` (of `length` bytes) in the normalised form. */
export function normaliseOurs(i: Instruction, address: number, length: number): Normalised {
  let mnemonic = withoutSizeSuffix(mnemonicText(i));
  if (SUFFIXED.has(i.mnemonic)) mnemonic = mnemonic === 'jmp' || mnemonic === 'call' ? mnemonic : i.mnemonic;
  if (i.elementSize !== undefined) {
    return { mnemonic: i.mnemonic, operands: [`e:${i.elementSize}`], rep: i.rep !== null, lock: i.lock };
  }
  if (i.mnemonic === 'retf') mnemonic = 'retf';
  if (i.mnemonic.startsWith('hint_nop')) mnemonic = 'nop';
  if (i.mnemonic === 'xlat') return { mnemonic: 'xlat', operands: [memoryToken(3, null, 1, 0, i.segment ?? 'ds')], rep: false, lock: i.lock };
  const end = address + length;
  return { mnemonic, operands: commutative(mnemonic, i.operands.map((o) => ourOperand(o, i, end))), rep: i.rep !== null, lock: i.lock };
}

/** Operand tokens equal, where objdump's `@?` (segment not known) matches any segment of ours. */
export function sameOperands(theirs: readonly string[], ours: readonly string[]): boolean {
  return theirs.length === ours.length && theirs.every((t, k) =>
    t.endsWith('@?') ? ours[k]!.replace(/@[a-z-]+$/, '@?') === t : ours[k] === t);
}
