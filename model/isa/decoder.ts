// The decoder: bytes -> instruction AST. Table-driven: the two opcode maps
// (one-byte and 0F-escaped) are built once from FORMS, so a decode is a few
// array look-ups plus the ModRM/SIB arithmetic.

import type { Instruction, Operand, RepPrefix, SegmentName } from './ast';
import type { Form } from './opcodes';
import { addressesImplicitly, COMPARING_STRING_MNEMONICS, ESCAPED_UNDEFINED, ESCAPED_UNSUPPORTED, FORMS, ONE_BYTE_UNSUPPORTED } from './opcodes';
import type { OperandSpec } from './operand-spec';
import { FIXED_SEGMENT, MEMORY_ONLY_SPECS, RM_SPECS } from './operand-spec';

export type DecodeResult =
  | { readonly kind: 'ok'; readonly instruction: Instruction; readonly length: number }
  /** Architectural #UD: the bytes are not an instruction. */
  | { readonly kind: 'undefined'; readonly length: number }
  /** Valid IA-32 that the model does not implement: a model error, not a fault. */
  | { readonly kind: 'unsupported'; readonly reason: string }
  /** The bytes ran out: `needed` bytes from the offset would let decoding go on. */
  | { readonly kind: 'truncated'; readonly needed: number }
  /** More than 15 bytes: #GP(0). */
  | { readonly kind: 'too-long' };

/** [ENC.LENGTH.1] No instruction is longer than 15 bytes. */
export const MAX_INSTRUCTION_LENGTH = 15;

/** A form at one opcode, with what the decoder asks of it worked out once when the map is built. */
interface Slot {
  readonly form: Form;
  readonly low: number;
  /** The r/m operand must be memory (LEA, LGDT, BOUND, far indirect, INVLPG). */
  readonly memoryOnly: boolean;
  /** The spec of the r/m operand when it may be memory (null for none, or for MOV CRn's register-only r/m). */
  readonly rmSpec: OperandSpec | null;
  readonly controlRegister: boolean;
  /** 'destination' for MOV Sreg, r/m; 'source' for MOV r/m, Sreg. */
  readonly segmentRegister: 'none' | 'source' | 'destination';
  /** The instruction reads memory through a segment (so an override is recorded). */
  readonly usesSegment: boolean;
}

function slot(form: Form, low: number): Slot {
  const rmSpec = form.operands.find((s) => RM_SPECS.has(s) && s !== 'Rd') ?? null;
  return {
    form,
    low,
    memoryOnly: form.operands.some((s) => MEMORY_ONLY_SPECS.has(s)),
    rmSpec,
    controlRegister: form.operands.includes('Cd'),
    segmentRegister: !form.operands.includes('Sw') ? 'none' : form.operands[0] === 'Sw' ? 'destination' : 'source',
    usesSegment: rmSpec !== null || form.element !== null || form.implicitMemory || form.operands.includes('Ob') || form.operands.includes('Ov'),
  };
}
/** One opcode: either a form that needs no /digit, or up to eight by digit;
 * x87 escapes also have register forms (mod 11) by digit or by the whole ModRM byte. */
interface OpcodeEntry {
  plain: Slot | null;
  byDigit: (Slot | null)[] | null;
  registerByDigit: (Slot | null)[] | null;
  /** Indexed by ModRM & 0x3F, mod 11 only. */
  byModrm: (Slot | null)[] | null;
}

function buildMap(escaped: boolean, prefix: number | null = null): (OpcodeEntry | null)[] {
  const map: (OpcodeEntry | null)[] = new Array(256).fill(null);
  for (const form of FORMS) {
    if (form.encodeOnly || form.prefix !== prefix) continue;
    const isEscaped = form.opcode[0] === 0x0f;
    if (isEscaped !== escaped) continue;
    const last = form.opcode[form.opcode.length - 1]!;
    const count = form.low === 'reg' ? 8 : form.low === 'cond' ? 16 : 1;
    for (let low = 0; low < count; low++) {
      if (form.notRegister0 && low === 0) continue;
      const entry = (map[last + low] ??= { plain: null, byDigit: null, registerByDigit: null, byModrm: null });
      // The first form listed for a slot wins (e.g. NOP before XCHG EAX, EAX).
      if (form.modrmByte !== null) {
        entry.byModrm ??= new Array(64).fill(null);
        entry.byModrm[form.modrmByte & 0x3f] ??= slot(form, low);
      } else if (form.registerOnly) {
        entry.registerByDigit ??= new Array(8).fill(null);
        entry.registerByDigit[form.digit!] ??= slot(form, low);
      } else if (form.digit === null) entry.plain ??= slot(form, low);
      else {
        entry.byDigit ??= new Array(8).fill(null);
        entry.byDigit[form.digit] ??= slot(form, low);
      }
    }
  }
  return map;
}

const ONE_BYTE_MAP = buildMap(false);
const ESCAPED_MAP = buildMap(true);
/** Forms whose opcode includes a mandatory F3 prefix (PAUSE, TZCNT, LZCNT). */
const F3_ONE_BYTE_MAP = buildMap(false, 0xf3);
const F3_ESCAPED_MAP = buildMap(true, 0xf3);

/** One-byte opcodes that are valid IA-32 but not modelled, with the reason. */
function unsupportedOneByte(opcode: number): string {
  return `${ONE_BYTE_UNSUPPORTED.get(opcode) ?? `opcode ${opcode.toString(16)}`} is not modelled`;
}

const PREFIX_SEGMENT: (SegmentName | undefined)[] = (() => {
  const table: (SegmentName | undefined)[] = new Array(256).fill(undefined);
  Object.assign(table, { 0x26: 'es', 0x2e: 'cs', 0x36: 'ss', 0x3e: 'ds', 0x64: 'fs', 0x65: 'gs' });
  return table;
})();

const TRUNCATED = (needed: number): DecodeResult => ({ kind: 'truncated', needed });

/** Thrown inside the decoder only, to unwind to decode(); never escapes it. */
class Stop { constructor(readonly result: DecodeResult) {} }

/**
 * The read position within one instruction. It lives only for one call of
 * decode() and never escapes it: the only mutable thing in the decoder.
 */
interface Cursor {
  readonly bytes: ArrayLike<number>;
  readonly start: number;
  used: number;
}

function nextByte(c: Cursor): number {
  // [ENC.LENGTH.2] Reading a 16th byte is #GP(0), whether or not the bytes go on.
  if (c.used >= MAX_INSTRUCTION_LENGTH) throw new Stop({ kind: 'too-long' });
  const at = c.start + c.used;
  if (at >= c.bytes.length) throw new Stop(TRUNCATED(c.used + 1));
  c.used++;
  return c.bytes[at]! & 0xff;
}

function littleEndian(c: Cursor, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) v += nextByte(c) * 2 ** (8 * k);
  return v;
}

const signed8 = (b: number): number => (b << 24) >> 24;

/** Decode the r/m half of ModRM as memory [ENC.MEM.*]. */
function decodeMemory(c: Cursor, mod: number, rm: number, size: Extract<Operand, { kind: 'mem' }>['size']): Operand {
  let base: number | null = rm;
  let index: number | null = null;
  let scale: 1 | 2 | 4 | 8 = 1;
  if (rm === 4) {
    // [ENC.MEM.2] r/m 100 means a SIB byte follows.
    const sib = nextByte(c);
    scale = (1 << (sib >> 6)) as 1 | 2 | 4 | 8;
    const i = (sib >> 3) & 7;
    // [ENC.MEM.4] SIB index 100 means no index (and the scale is then meaningless).
    index = i === 4 ? null : i;
    if (index === null) scale = 1;
    base = sib & 7;
    // [ENC.MEM.3] SIB base 101 with mod 00: no base, a disp32 follows.
    if (base === 5 && mod === 0) base = null;
  } else if (rm === 5 && mod === 0) {
    // [ENC.MEM.1] mod 00 r/m 101: no base, no index, a disp32 follows.
    base = null;
  }
  let disp = 0;
  if (mod === 1) disp = signed8(nextByte(c)) >>> 0;
  else if (mod === 2 || base === null) disp = littleEndian(c, 4) >>> 0;
  return { kind: 'mem', size, base, index, scale, disp };
}

/** [ENC.MEM16.1] The 16-bit forms of r/m (with a 0x67 prefix): base and index by r/m. */
const MEMORY16: readonly (readonly [number | null, number | null])[] = [
  [3, 6], [3, 7], [5, 6], [5, 7], [6, null], [7, null], [5, null], [3, null],
];

/** Decode the r/m half of ModRM as a 16-bit-addressed memory operand [ENC.MEM16.1]. */
function decodeMemory16(c: Cursor, mod: number, rm: number, size: Extract<Operand, { kind: 'mem' }>['size']): Operand {
  let [base, index] = MEMORY16[rm]!;
  // mod 00 with r/m 110: no base, no index, a disp16 follows.
  if (mod === 0 && rm === 6) base = null;
  let disp = 0;
  if (mod === 1) disp = signed8(nextByte(c)) & 0xffff;
  else if (mod === 2 || base === null && index === null) disp = littleEndian(c, 2);
  return { kind: 'mem', size, base, index, scale: 1, disp };
}

function memorySize(spec: OperandSpec, os: 16 | 32): Extract<Operand, { kind: 'mem' }>['size'] {
  switch (spec) {
    case 'Eb': case 'Ob': return 8;
    case 'Ev': case 'Ov': return os;
    case 'M': return 0;
    case 'Mp': case 'Mf': return os === 16 ? 32 : 48;
    case 'Mq': return 64;
    case 'Mw': return 16;
    case 'Md': return 32;
    case 'Mt': return 80;
    case 'Ms': return 48;
    case 'Ma': return os === 16 ? 32 : 64;
    default: return 16; // Ew, Esv
  }
}

function registerSize(spec: OperandSpec, os: 16 | 32): 8 | 16 | 32 {
  if (spec === 'Eb' || spec === 'Gb' || spec === 'Zb') return 8;
  if (spec === 'Ew' || spec === 'Gw') return 16;
  if (spec === 'Rd' || spec === 'Zd') return 32;
  return os;
}

function decodeAt(bytes: ArrayLike<number>, offset: number): DecodeResult {
  const c: Cursor = { bytes, start: offset, used: 0 };
  let operandSize: 16 | 32 = 32;
  let segment: SegmentName | null = null;
  let repByte: number | null = null;
  let lock = false;
  let address16 = false;
  let opcode: number;
  // [ENC.PREFIX.1] Prefixes come in any order and may repeat.
  for (;;) {
    const b = nextByte(c);
    if (b === 0x66) operandSize = 16;
    // [ENC.PREFIX.3] The address-size prefix selects 16-bit addressing.
    else if (b === 0x67) address16 = true;
    // [ENC.PREFIX.2] Of several segment overrides, the last one counts.
    else if (PREFIX_SEGMENT[b] !== undefined) segment = PREFIX_SEGMENT[b]!;
    else if (b === 0xf2 || b === 0xf3) repByte = b;
    else if (b === 0xf0) lock = true;
    else { opcode = b; break; }
  }
  let entry: OpcodeEntry | null;
  if (opcode === 0x0f) {
    opcode = nextByte(c);
    // [ENC.UD.4] An opcode of an extension this CPU does not have is #UD, with or without a prefix.
    if (ESCAPED_UNDEFINED.has(opcode)) return { kind: 'undefined', length: c.used };
    // [ENC.PREFIX.8] F3 0F BC/BD have forms of their own (TZCNT, LZCNT);
    // [ENC.PREFIX.6] before any other 0F opcode F2 and F3 are ignored.
    entry = (repByte === 0xf3 ? F3_ESCAPED_MAP[opcode] : null) ?? ESCAPED_MAP[opcode]!;
    // [ENC.UNSUPPORTED.1] Valid opcodes outside the model are a model error, not #UD.
    if (entry === null) {
      const name = ESCAPED_UNSUPPORTED.get(opcode) ?? `opcode 0F ${opcode.toString(16).padStart(2, '0')}`;
      return { kind: 'unsupported', reason: `${name} is not modelled` };
    }
  } else {
    // [ENC.NOP.1] F3 90 is PAUSE.
    entry = (repByte === 0xf3 ? F3_ONE_BYTE_MAP[opcode] : null) ?? ONE_BYTE_MAP[opcode]!;
    if (entry === null) return { kind: 'unsupported', reason: unsupportedOneByte(opcode) };
  }
  let modrm = -1;
  let found = entry.plain;
  if (entry.byDigit !== null || entry.registerByDigit !== null || entry.byModrm !== null) {
    modrm = nextByte(c);
    const x87Register = modrm >= 0xc0 && (entry.registerByDigit !== null || entry.byModrm !== null);
    found = x87Register
      ? entry.byModrm?.[modrm & 0x3f] ?? entry.registerByDigit?.[(modrm >> 3) & 7] ?? null
      : entry.byDigit?.[(modrm >> 3) & 7] ?? null;
    if (found === null) {
      // [ENC.UD.1] An unassigned /digit of a group is #UD (on this CPU also
      // XABORT/XBEGIN at C6/C7 F8 and the extensions of 0F 01 with mod 11:
      // CPUID reports no TSX, VMX, MONITOR or XSAVE).
      return { kind: 'undefined', length: c.used };
    }
  }
  const here = found!;
  const { form, low } = here;
  if (form.mnemonic === 'bswap' && operandSize === 16) return { kind: 'unsupported', reason: 'BSWAP with a 16-bit operand (result undefined) is not modelled' };
  if (form.modrm && modrm < 0) modrm = nextByte(c);
  const mod = modrm >> 6;
  const regField = (modrm >> 3) & 7;
  const rmField = modrm & 7;
  // [ENC.UD.2] A register where the form needs memory (LEA, LGDT, BOUND, far indirect, INVLPG) is #UD.
  if (mod === 3 && here.memoryOnly) return { kind: 'undefined', length: c.used };
  // [ENC.UD.3] MOV to or from CR1, CR5, CR6 or CR7 is #UD; a segment register number above 5 is #UD, and MOV to CS is #UD.
  if (here.controlRegister && !(regField === 0 || regField === 2 || regField === 3 || regField === 4)) return { kind: 'undefined', length: c.used };
  if (here.segmentRegister !== 'none' && (regField > 5 || (here.segmentRegister === 'destination' && regField === 1))) return { kind: 'undefined', length: c.used };

  let memory: Operand | null = null;
  if (here.rmSpec !== null && mod !== 3) memory = (address16 ? decodeMemory16 : decodeMemory)(c, mod, rmField, memorySize(here.rmSpec, operandSize));
  const operands: Operand[] = [];
  for (const spec of form.operands) operands.push(decodeOperand(spec, c, operandSize, low, regField, rmField, memory, address16));
  const addressed = operands.some((o) => o.kind === 'mem');
  // [ENC.PREFIX.5] LOCK is allowed only on the lockable instructions, and only with a memory destination.
  if (lock && !(form.lockable && memory !== null)) return { kind: 'undefined', length: c.used };
  const isString = form.element !== null;
  // [ENC.PREFIX.6] F3/F2 before a string instruction are REP (REPE) and REPNE; elsewhere they are ignored.
  let rep: RepPrefix | null = null;
  if (isString && repByte !== null) {
    rep = repByte === 0xf2 ? 'repne' : COMPARING_STRING_MNEMONICS.has(form.mnemonic) ? 'repe' : 'rep';
  }
  const instruction: Instruction = {
    mnemonic: form.mnemonic,
    operands,
    operandSize,
    // [ENC.PREFIX.7] A segment override on an instruction without a memory operand has no effect and is not recorded.
    segment: here.usesSegment ? segment : null,
    rep,
    lock,
    ...(form.low === 'cond' ? { condition: low } : {}),
    ...(isString ? { elementSize: form.element === 8 ? 8 : operandSize } : {}),
    // [ENC.PREFIX.3] The prefix is recorded on an instruction with a memory
    // operand or one that addresses through registers of its own (strings,
    // LOOP, JCXZ, XLAT: INS.ADDR16.1); elsewhere it has no effect and is not.
    ...(address16 && (addressed || addressesImplicitly(form)) ? { addressSize: 16 as const } : {}),
  };
  return { kind: 'ok', instruction, length: c.used };
}

function decodeOperand(
  spec: OperandSpec, c: Cursor, os: 16 | 32, low: number, regField: number, rmField: number, memory: Operand | null,
  address16: boolean,
): Operand {
  switch (spec) {
    case 'Eb': case 'Ev': case 'Ew': case 'Esv': case 'M': case 'Mp': case 'Mf': case 'Mq': case 'Ms': case 'Ma':
    case 'Mw': case 'Md': case 'Mt':
      return memory ?? { kind: 'reg', size: registerSize(spec, os), reg: rmField };
    case 'Rd': return { kind: 'reg', size: 32, reg: rmField };
    case 'STi': return { kind: 'st', reg: rmField };
    case 'ST0': return { kind: 'st', reg: 0 };
    case 'AX': return { kind: 'reg', size: 16, reg: 0 };
    case 'Gb': case 'Gv': case 'Gw': return { kind: 'reg', size: registerSize(spec, os), reg: regField };
    case 'Sw': return { kind: 'sreg', reg: regField };
    case 'Cd': return { kind: 'creg', reg: regField as 0 | 2 | 3 | 4 };
    case 'Dd': return { kind: 'dreg', reg: regField };
    case 'Zb': case 'Zv': case 'Zd': return { kind: 'reg', size: registerSize(spec, os), reg: low };
    case 'AL': return { kind: 'reg', size: 8, reg: 0 };
    case 'eAX': return { kind: 'reg', size: os, reg: 0 };
    case 'CL': return { kind: 'reg', size: 8, reg: 1 };
    case 'DX': return { kind: 'reg', size: 16, reg: 2 };
    case 'One': return { kind: 'imm', size: 8, value: 1 };
    case 'Ib': return { kind: 'imm', size: 8, value: nextByte(c) };
    case 'Iw': return { kind: 'imm', size: 16, value: littleEndian(c, 2) };
    case 'Iv': return { kind: 'imm', size: os, value: littleEndian(c, os / 8) };
    // [ENC.IMM.1] A sign-extended imm8 is stored at the operand size, already extended.
    case 'Ibs': {
      const v = signed8(nextByte(c));
      return { kind: 'imm', size: os, value: os === 32 ? v >>> 0 : v & 0xffff };
    }
    case 'Jb': return { kind: 'rel', size: 8, offset: signed8(nextByte(c)) };
    case 'Jv': {
      const v = littleEndian(c, os / 8);
      return { kind: 'rel', size: os, offset: os === 32 ? v | 0 : (v << 16) >> 16 };
    }
    case 'Ap': {
      const offset = littleEndian(c, os / 8);
      return { kind: 'far', selector: littleEndian(c, 2), offset };
    }
    case 'Ob': case 'Ov':
      return { kind: 'mem', size: spec === 'Ob' ? 8 : os, base: null, index: null, scale: 1, disp: littleEndian(c, address16 ? 2 : 4) >>> 0 };
    default: return { kind: 'sreg', reg: FIXED_SEGMENT[spec]! };
  }
}

/**
 * [ENC.MAP.1] What decode answers for each opcode of both maps (modelled,
 * #UD, unsupported with its reason) is the table of spec/encoding.md.
 *
 * Decode one instruction at `offset` of `bytes`. Never throws: every outcome
 * (an instruction, #UD, a model error, running out of bytes, the 15-byte
 * limit) is a case of DecodeResult.
 */
export function decode(bytes: ArrayLike<number>, offset = 0): DecodeResult {
  try {
    return decodeAt(bytes, offset);
  } catch (e) {
    if (e instanceof Stop) return e.result;
    throw e;
  }
}
