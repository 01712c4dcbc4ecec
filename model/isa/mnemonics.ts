// Text-level helpers for the assembler: NASM mnemonic spellings -> the
// map's mnemonics, and (mnemonic, parsed operands, prefixes) -> a canonical
// Instruction, all derived from the opcode map (opcodes.ts).
//
// Conventions (the AST has one mnemonic where NASM has two spellings):
//   cbw: CBW at operand size 16, CWDE at 32; cwd: CWD at 16, CDQ at 32;
//   pusha/popa/pushf/popf/iret: the operand size says the width (pushad,
//   pushfd, iretd are the 32-bit spellings, ...w the 16-bit ones);
//   movs/cmps/stos/lods/scas/ins/outs: elementSize says b/w/d;
//   jcc/setcc/cmovcc: condition 0..15; sal is shl; retn is ret.

import type { Instruction, MemorySize, Operand, OperandSize, RepPrefix, SegmentName } from './ast';
import { CONDITION_NAMES } from './ast';
import { encodeResult, encodeWithForm, formFits } from './encoder';
import type { Form } from './opcodes';
import { addressesImplicitly, CONDITIONAL_MNEMONICS, MNEMONICS, formsOf, STRING_MNEMONICS } from './opcodes';
import type { OperandSpec } from './operand-spec';

export interface ParsedMnemonic {
  readonly mnemonic: string;
  readonly condition?: number;
  readonly elementSize?: OperandSize;
  /** Operand size implied by the spelling (cwde, iretd, pushfw, movsw), or null. */
  readonly operandSize: 16 | 32 | null;
  /** 16: the spelling implies the address-size prefix (jcxz, INS.ADDR16.1). */
  readonly addressSize?: 16;
}

/** Every NASM spelling of each condition, by condition number. */
const CONDITION_SPELLINGS: readonly (readonly string[])[] = [
  ['o'], ['no'], ['b', 'c', 'nae'], ['ae', 'nb', 'nc'], ['e', 'z'], ['ne', 'nz'], ['be', 'na'], ['a', 'nbe'],
  ['s'], ['ns'], ['p', 'pe'], ['np', 'po'], ['l', 'nge'], ['ge', 'nl'], ['le', 'ng'], ['g', 'nle'],
];

const CONDITION_BY_SPELLING: ReadonlyMap<string, number> = new Map(
  CONDITION_SPELLINGS.flatMap((names, cond) => names.map((n) => [n, cond] as const)),
);

const CONDITIONAL_PREFIX: Readonly<Record<string, string>> = { jcc: 'j', setcc: 'set', cmovcc: 'cmov' };

const SIZED_SPELLINGS: Readonly<Record<string, ParsedMnemonic>> = {
  cwde: { mnemonic: 'cbw', operandSize: 32 }, cbw: { mnemonic: 'cbw', operandSize: 16 },
  cdq: { mnemonic: 'cwd', operandSize: 32 }, cwd: { mnemonic: 'cwd', operandSize: 16 },
  pushad: { mnemonic: 'pusha', operandSize: 32 }, pushaw: { mnemonic: 'pusha', operandSize: 16 },
  popad: { mnemonic: 'popa', operandSize: 32 }, popaw: { mnemonic: 'popa', operandSize: 16 },
  pushfd: { mnemonic: 'pushf', operandSize: 32 }, pushfw: { mnemonic: 'pushf', operandSize: 16 },
  popfd: { mnemonic: 'popf', operandSize: 32 }, popfw: { mnemonic: 'popf', operandSize: 16 },
  iretd: { mnemonic: 'iret', operandSize: 32 }, iretw: { mnemonic: 'iret', operandSize: 16 },
  sal: { mnemonic: 'shl', operandSize: null }, retn: { mnemonic: 'ret', operandSize: null },
  xlatb: { mnemonic: 'xlat', operandSize: null }, jcxz: { mnemonic: 'jecxz', operandSize: null, addressSize: 16 }, fwait: { mnemonic: 'wait', operandSize: null }, icebp: { mnemonic: 'int1', operandSize: null },
};

const ELEMENT_SUFFIX: Readonly<Record<string, OperandSize>> = { b: 8, w: 16, d: 32 };

/** NASM mnemonic text -> the map's mnemonic (and condition, element size, operand size), or null. */
export function parseMnemonic(text: string): ParsedMnemonic | null {
  const t = text.toLowerCase();
  const sized = SIZED_SPELLINGS[t];
  if (sized !== undefined) return sized;
  if (MNEMONICS.includes(t) && !CONDITIONAL_MNEMONICS.has(t) && !STRING_MNEMONICS.has(t)) {
    return { mnemonic: t, operandSize: null };
  }
  for (const [mnemonic, prefix] of Object.entries(CONDITIONAL_PREFIX)) {
    if (!t.startsWith(prefix)) continue;
    const condition = CONDITION_BY_SPELLING.get(t.slice(prefix.length));
    if (condition !== undefined) return { mnemonic, condition, operandSize: null };
  }
  for (const mnemonic of STRING_MNEMONICS) {
    if (t.length !== mnemonic.length + 1 || !t.startsWith(mnemonic)) continue;
    const element = ELEMENT_SUFFIX[t[t.length - 1]!];
    if (element !== undefined) {
      return { mnemonic, elementSize: element, operandSize: element === 8 ? null : (element as 16 | 32) };
    }
  }
  return null;
}

/** The NASM spelling of a condition (the first of its spellings, as in CONDITION_NAMES). */
export function conditionName(condition: number): string {
  return CONDITION_NAMES[condition] ?? '?';
}

/** An operand as the assembler parsed it, before it knows the instruction's form. */
export type AsmOperand =
  | { readonly kind: 'reg'; readonly size: OperandSize; readonly reg: number }
  | { readonly kind: 'sreg'; readonly reg: number }
  | { readonly kind: 'creg'; readonly reg: 0 | 2 | 3 | 4 }
  | { readonly kind: 'st'; readonly reg: number }
  | { readonly kind: 'dreg'; readonly reg: number }
  /** size null: not written (`[eax]`); far: written `far [...]`. */
  | {
      readonly kind: 'mem'; readonly size: MemorySize | null; readonly base: number | null;
      readonly index: number | null; readonly scale: 1 | 2 | 4 | 8; readonly disp: number;
      readonly segment: SegmentName | null; readonly far?: boolean;
      /** 16-bit addressing ([bx+si]). */
      readonly address16?: boolean;
    }
  /** value: the integer the expression evaluated to (may be negative);
   * size: an explicit `byte`/`word`/`dword`, or null. */
  | { readonly kind: 'imm'; readonly value: number; readonly size: OperandSize | null }
  | { readonly kind: 'far'; readonly selector: number; readonly offset: number }
  /** A branch target address; size: `short`/`near` as written, or null (shortest that reaches). */
  | { readonly kind: 'target'; readonly address: number; readonly size: 'short' | 'near' | null };

export interface AsmPrefixes {
  readonly rep?: RepPrefix | null;
  readonly lock?: boolean;
  readonly segment?: SegmentName | null;
  /** `o16`/`o32` written explicitly. */
  readonly operandSize?: 16 | 32 | null;
  /** `a16`/`a32` written explicitly. */
  readonly addressSize?: 16 | 32 | null;
}

export type BuildResult = { kind: 'ok'; instruction: Instruction } | { kind: 'error'; message: string };

const fitsWidth = (value: number, bits: number): boolean =>
  Number.isInteger(value) && value >= -(2 ** (bits - 1)) && value < 2 ** bits;
const truncate = (value: number, bits: number): number => (bits === 32 ? value >>> 0 : value & ((1 << bits) - 1));

/** The memory size a spec implies, at operand size os. */
function memorySizeOf(spec: OperandSpec, os: 16 | 32): MemorySize | null {
  switch (spec) {
    case 'Eb': case 'Ob': return 8;
    case 'Ev': case 'Ov': return os;
    case 'Ew': case 'Esv': return 16;
    case 'M': return 0;
    case 'Mp': case 'Mf': return (os + 16) as MemorySize;
    case 'Mq': return 64;
    case 'Mw': return 16;
    case 'Md': return 32;
    case 'Mt': return 80;
    case 'Ms': return 48;
    case 'Ma': return (os * 2) as MemorySize;
    default: return null;
  }
}

function immediateSizeOf(spec: OperandSpec, os: 16 | 32): OperandSize | null {
  switch (spec) {
    case 'Ib': case 'One': return 8;
    case 'Iw': return 16;
    case 'Iv': case 'Ibs': return os;
    default: return null;
  }
}

/** Turn one parsed operand into an AST operand for `spec`, or null if it cannot be. Targets become rel 0 (fixed later). */
function toOperand(spec: OperandSpec, a: AsmOperand, os: 16 | 32, address16 = false): Operand | null {
  switch (a.kind) {
    case 'reg': case 'sreg': case 'creg': case 'far': case 'st': case 'dreg':
      return a;
    case 'mem': {
      const implied = memorySizeOf(spec, os);
      if (implied === null) return null;
      const memoryOnly = spec === 'M' || spec === 'Mp' || spec === 'Mf' || spec === 'Ms' || spec === 'Ma';
      if ((spec === 'Mp') !== (a.far === true)) return null;
      if (!memoryOnly && a.size !== null && a.size !== implied) return null;
      return { kind: 'mem', size: implied, base: a.base, index: a.index, scale: a.scale, disp: address16 ? a.disp & 0xffff : a.disp >>> 0 };
    }
    case 'imm': {
      const size = immediateSizeOf(spec, os);
      if (size === null || !fitsWidth(a.value, size)) return null;
      if (a.size !== null && a.size !== size && !(spec === 'Ibs' && a.size === 8)) return null;
      return { kind: 'imm', size, value: truncate(a.value, size) };
    }
    case 'target': {
      if (spec === 'Jb' && a.size !== 'near') return { kind: 'rel', size: 8, offset: 0 };
      if (spec === 'Jv' && a.size !== 'short') return { kind: 'rel', size: os, offset: 0 };
      return null;
    }
  }
}

function describe(a: AsmOperand): string {
  switch (a.kind) {
    case 'reg': return `reg${a.size}`;
    case 'mem': return a.size === null ? 'mem' : `mem${a.size}`;
    case 'imm': return 'imm';
    case 'target': return 'label';
    default: return a.kind;
  }
}

interface Candidate { readonly instruction: Instruction; readonly length: number }

/** Try one form at one operand size; fix up relative offsets from the address. */
function tryForm(form: Form, base: Omit<Instruction, 'operands'>, operands: readonly AsmOperand[], address: number): Candidate | null {
  const ops: Operand[] = [];
  for (let k = 0; k < operands.length; k++) {
    const o = toOperand(form.operands[k]!, operands[k]!, base.operandSize, base.addressSize === 16);
    if (o === null) return null;
    ops.push(o);
  }
  let instruction: Instruction = { ...base, operands: ops };
  if (!formFits(form, instruction)) return null;
  const length = encodeWithForm(form, instruction).length;
  const targetAt = operands.findIndex((o) => o.kind === 'target');
  if (targetAt >= 0) {
    const target = operands[targetAt] as Extract<AsmOperand, { kind: 'target' }>;
    const rel = ops[targetAt] as Extract<Operand, { kind: 'rel' }>;
    const offset = (target.address - (address + length)) | 0;
    if (rel.size === 8 && (offset < -128 || offset > 127)) return null;
    const fixed = [...ops];
    fixed[targetAt] = { kind: 'rel', size: rel.size, offset: rel.size === 16 ? ((offset << 16) >> 16) : offset };
    instruction = { ...instruction, operands: fixed };
  }
  return { instruction, length };
}

/**
 * Build the canonical Instruction for a line of assembly. `address` is the
 * address of the instruction (for relative branch targets). Errors say
 * what no form of the map accepts.
 */
export function buildInstruction(
  text: string, operands: readonly AsmOperand[], prefixes: AsmPrefixes = {}, address = 0,
): BuildResult {
  const parsed = parseMnemonic(text);
  if (parsed === null) return { kind: 'error', message: `unknown mnemonic '${text}'` };
  let mnemonic = parsed.mnemonic;
  let ops = [...operands];
  let rep = prefixes.rep ?? null;
  // [ENC.PREFIX.8] `rep nop` is PAUSE and `rep bsf`/`rep bsr` are TZCNT/LZCNT: nasm writes the same bytes.
  const repeated = rep === 'rep' ? ({ nop: 'pause', bsf: 'tzcnt', bsr: 'lzcnt' } as Record<string, string>)[mnemonic] : undefined;
  if (repeated !== undefined && !(mnemonic === 'nop' && ops.length > 0)) { mnemonic = repeated; rep = null; }
  // `jmp far [m]`, `jmp sel:off`: the far transfers have their own mnemonics.
  if ((mnemonic === 'jmp' || mnemonic === 'call') && ops.length === 1 &&
      (ops[0]!.kind === 'far' || (ops[0]!.kind === 'mem' && ops[0]!.far === true))) {
    mnemonic = mnemonic === 'jmp' ? 'jmpf' : 'callf';
  }
  // `imul r, imm` is NASM shorthand for `imul r, r, imm`; `aam`/`aad` default to base 10.
  if (mnemonic === 'imul' && ops.length === 2 && ops[1]!.kind === 'imm') ops = [ops[0]!, ops[0]!, ops[1]!];
  if ((mnemonic === 'aam' || mnemonic === 'aad') && ops.length === 0) ops = [{ kind: 'imm', value: 10, size: null }];
  const memory = ops.find((o): o is Extract<AsmOperand, { kind: 'mem' }> => o.kind === 'mem');
  const segment = memory?.segment ?? prefixes.segment ?? null;
  // [ENC.PREFIX.3] 16-bit registers in the address, or `a16`, make the address 16-bit.
  const address16 = memory !== undefined && (memory.address16 === true || prefixes.addressSize === 16);
  if (memory !== undefined && memory.address16 !== true && prefixes.addressSize === 16 && (memory.base !== null || memory.index !== null)) {
    return { kind: 'error', message: 'a16 with 32-bit registers in the address' };
  }
  const sizes: (16 | 32)[] = prefixes.operandSize != null ? [prefixes.operandSize]
    : parsed.operandSize !== null ? [parsed.operandSize] : [32, 16];
  const orders = mnemonic === 'xchg' || mnemonic === 'test' ? [ops, [...ops].reverse()] : [ops];
  for (const os of sizes) {
    const found: Candidate[] = [];
    for (const order of orders) {
      for (const form of formsOf(mnemonic)) {
        if (form.decodeOnly) continue;
        const base: Omit<Instruction, 'operands'> = {
          mnemonic, operandSize: os, segment, rep, lock: prefixes.lock ?? false,
          ...(address16 || ((prefixes.addressSize === 16 || parsed.addressSize === 16) && addressesImplicitly(form)) ? { addressSize: 16 as const } : {}),
          ...(parsed.condition !== undefined ? { condition: parsed.condition } : {}),
          ...(form.element !== null ? { elementSize: parsed.elementSize ?? (form.element === 8 ? 8 : os) } : {}),
        };
        if (form.element !== null && parsed.elementSize === undefined) continue;
        const c = tryForm(form, base, order, address);
        if (c !== null) found.push(c);
      }
      if (found.length > 0) break;
    }
    if (found.length === 0) continue;
    // Different memory sizes from an unsized memory operand: ambiguous, as in nasm.
    const memSizes = new Set(found.map((c) => c.instruction.operands.find((o) => o.kind === 'mem')?.size));
    if (memSizes.size > 1 && memory !== undefined && memory.size === null && !ops.some((o) => o.kind === 'reg')) {
      return { kind: 'error', message: `operation size not specified for '${text}'` };
    }
    // Prefer the shortest (a short branch when the target is in reach).
    found.sort((a, b) => a.length - b.length);
    const chosen = found[0]!.instruction;
    const check = encodeResult(chosen);
    if (check.kind === 'error') return { kind: 'error', message: check.message };
    return { kind: 'ok', instruction: chosen };
  }
  const shape = operands.map(describe).join(', ');
  return { kind: 'error', message: `no form of '${text}' takes (${shape})` };
}
