// The encoder: instruction AST -> bytes, choosing the encoding nasm (-Ox,
// its default) chooses, so that our bytes and nasm's compare equal.
//
// encode() throws EncodeError when no form of the map takes the given
// operands: that is a caller's mistake (a malformed AST), not an
// architectural event. encodeResult() returns the same as a tagged union.

import type { Instruction, Operand } from './ast';
import type { Form } from './opcodes';
import { formsOf } from './opcodes';
import type { OperandSpec } from './operand-spec';
import { FIXED_SEGMENT, RM_SPECS } from './operand-spec';

export class EncodeError extends Error {
  override readonly name = 'EncodeError';
}

const SEGMENT_PREFIX: Record<string, number> = { es: 0x26, cs: 0x2e, ss: 0x36, ds: 0x3e, fs: 0x64, gs: 0x65 };

const fitsSigned8 = (value: number): boolean => {
  const v = value | 0;
  return v >= -128 && v <= 127;
};

/** An immediate of `size` bits whose value survives truncation to 8 bits and sign extension. */
function signExtendsFromByte(value: number, size: number): boolean {
  const byte = ((value & 0xff) << 24) >> 24;
  const mask = size === 32 ? 0xffffffff : (1 << size) - 1;
  return ((byte & mask) >>> 0) === (value >>> 0);
}

/** Does operand `o` fit spec `s` at operand size `os`? */
export function operandFits(spec: OperandSpec, o: Operand, os: 16 | 32, form: Form): boolean {
  switch (spec) {
    case 'Eb': return (o.kind === 'reg' && o.size === 8) || (o.kind === 'mem' && o.size === 8);
    case 'Ev': return (o.kind === 'reg' || o.kind === 'mem') && o.size === os;
    case 'Ew': return (o.kind === 'reg' || o.kind === 'mem') && o.size === 16;
    case 'Esv': return (o.kind === 'reg' && o.size === os) || (o.kind === 'mem' && o.size === 16);
    case 'Gb': return o.kind === 'reg' && o.size === 8;
    case 'Gv': return o.kind === 'reg' && o.size === os;
    case 'Gw': return o.kind === 'reg' && o.size === 16;
    case 'M': return o.kind === 'mem' && o.size === 0;
    case 'Mp': case 'Mf': return o.kind === 'mem' && o.size === os + 16;
    case 'Mq': return o.kind === 'mem' && o.size === 64;
    case 'Mw': return o.kind === 'mem' && o.size === 16;
    case 'Md': return o.kind === 'mem' && o.size === 32;
    case 'Mt': return o.kind === 'mem' && o.size === 80;
    case 'STi': return o.kind === 'st';
    case 'ST0': return o.kind === 'st' && o.reg === 0;
    case 'AX': return o.kind === 'reg' && o.size === 16 && o.reg === 0;
    case 'Ms': return o.kind === 'mem' && o.size === 48;
    case 'Ma': return o.kind === 'mem' && o.size === os * 2;
    case 'Ib': return o.kind === 'imm' && o.size === 8;
    case 'Iw': return o.kind === 'imm' && o.size === 16;
    case 'Iv': return o.kind === 'imm' && o.size === os;
    case 'Ibs': return o.kind === 'imm' && o.size === os && signExtendsFromByte(o.value, os);
    case 'Jb': return o.kind === 'rel' && o.size === 8;
    case 'Jv': return o.kind === 'rel' && o.size === os;
    case 'Ap': return o.kind === 'far';
    case 'Ob': return o.kind === 'mem' && o.size === 8 && o.base === null && o.index === null;
    case 'Ov': return o.kind === 'mem' && o.size === os && o.base === null && o.index === null;
    case 'Sw': return o.kind === 'sreg';
    case 'Cd': return o.kind === 'creg';
    case 'Dd': return o.kind === 'dreg';
    case 'Rd': return o.kind === 'reg' && o.size === 32;
    case 'Zb': return o.kind === 'reg' && o.size === 8;
    case 'Zv': return o.kind === 'reg' && o.size === os && !(form.notRegister0 && o.reg === 0);
    case 'Zd': return o.kind === 'reg' && o.size === 32;
    case 'AL': return o.kind === 'reg' && o.size === 8 && o.reg === 0;
    case 'eAX': return o.kind === 'reg' && o.size === os && o.reg === 0;
    case 'CL': return o.kind === 'reg' && o.size === 8 && o.reg === 1;
    case 'DX': return o.kind === 'reg' && o.size === 16 && o.reg === 2;
    case 'One': return o.kind === 'imm' && o.size === 8 && o.value === 1;
    default: return o.kind === 'sreg' && o.reg === FIXED_SEGMENT[spec];
  }
}

/** Does the instruction fit the form (operands, condition, element size)? */
export function formFits(form: Form, i: Instruction): boolean {
  if (form.operands.length !== i.operands.length) return false;
  if ((form.low === 'cond') !== (i.condition !== undefined)) return false;
  if (i.condition !== undefined && !(Number.isInteger(i.condition) && i.condition >= 0 && i.condition < 16)) return false;
  if (form.element === null) {
    if (i.elementSize !== undefined) return false;
  } else {
    const element = form.element === 8 ? 8 : i.operandSize;
    if (i.elementSize !== element) return false;
  }
  return form.operands.every((spec, k) => operandFits(spec, i.operands[k]!, i.operandSize, form));
}

function pushLittleEndian(out: number[], value: number, bytes: number): void {
  for (let k = 0; k < bytes; k++) out.push((value >>> (8 * k)) & 0xff);
}

/** SIB's scale field for each scale factor. */
const SCALE_BITS = { 1: 0, 2: 1, 4: 2, 8: 3 } as const;

/** ModRM (+SIB, +displacement) for a memory operand [ENC.MEM.*]. */
function encodeMemory(out: number[], reg: number, m: Extract<Operand, { kind: 'mem' }>): void {
  const disp = m.disp >>> 0;
  const scaleBits = SCALE_BITS[m.scale];
  // [ENC.MEM.1] No base and no index: mod 00, r/m 101, disp32.
  if (m.base === null && m.index === null) {
    out.push((reg << 3) | 5);
    pushLittleEndian(out, disp, 4);
    return;
  }
  // [ENC.CHOICE.3] The shortest displacement: none when zero (except with
  // base EBP, whose mod 00 slot means "no base"), disp8 when it fits.
  const modFor = (base: number): number => (disp === 0 && base !== 5 ? 0 : fitsSigned8(disp) ? 1 : 2);
  const pushDisp = (mod: number): void => {
    if (mod === 1) out.push(disp & 0xff);
    else if (mod === 2) pushLittleEndian(out, disp, 4);
  };
  if (m.index === null && m.base !== 4) {
    const mod = modFor(m.base!);
    out.push((mod << 6) | (reg << 3) | m.base!);
    pushDisp(mod);
    return;
  }
  // [ENC.MEM.2] A SIB byte: needed for an index, and for base ESP.
  const index = m.index ?? 4;
  if (m.base === null) {
    // [ENC.MEM.3] SIB base 101 with mod 00: no base, disp32.
    out.push((reg << 3) | 4, (scaleBits << 6) | (index << 3) | 5);
    pushLittleEndian(out, disp, 4);
    return;
  }
  const mod = modFor(m.base);
  out.push((mod << 6) | (reg << 3) | 4, (scaleBits << 6) | (index << 3) | m.base);
  pushDisp(mod);
}

/** [ENC.MEM16.1] ModRM (+disp8/disp16) for a 16-bit-addressed memory operand. */
function encodeMemory16(out: number[], reg: number, m: Extract<Operand, { kind: 'mem' }>): void {
  const disp = m.disp & 0xffff;
  if (m.base === null && m.index === null) {
    out.push((reg << 3) | 6);
    pushLittleEndian(out, disp, 2);
    return;
  }
  const rm = [[3, 6], [3, 7], [5, 6], [5, 7], [6, null], [7, null], [5, null], [3, null]]
    .findIndex(([b, x]) => b === m.base && x === m.index);
  if (rm < 0) throw new EncodeError('internal: no 16-bit form for this base and index');
  const signed = (disp << 16) >> 16;
  // [ENC.CHOICE.3] No displacement when zero (except [bp], whose mod 00 slot is the disp16 form), disp8 when it fits.
  const mod = disp === 0 && rm !== 6 ? 0 : signed >= -128 && signed <= 127 ? 1 : 2;
  out.push((mod << 6) | (reg << 3) | rm);
  if (mod === 1) out.push(disp & 0xff);
  else if (mod === 2) pushLittleEndian(out, disp, 2);
}

function registerNumber(o: Operand): number {
  if (o.kind === 'reg' || o.kind === 'sreg' || o.kind === 'creg' || o.kind === 'dreg' || o.kind === 'st') return o.reg;
  throw new EncodeError(`internal: operand ${o.kind} has no register number`);
}

/** Encode with one given form (which must fit). */
export function encodeWithForm(form: Form, i: Instruction): Uint8Array {
  return new Uint8Array(bytesWithForm(form, i));
}

/** encodeWithForm's bytes, as a plain array (encodeResult compares the
 * forms that fit by their length, and makes a typed array of the shortest
 * only). */
function bytesWithForm(form: Form, i: Instruction): number[] {
  const out: number[] = [];
  // [ENC.PREFIX.4] Prefix order as nasm emits it: LOCK or REP, then the
  // segment override, then the operand-size prefix.
  if (i.lock) out.push(0xf0);
  if (i.rep !== null) out.push(i.rep === 'repne' ? 0xf2 : 0xf3);
  if (i.segment !== null) out.push(SEGMENT_PREFIX[i.segment]!);
  if (i.operandSize === 16) out.push(0x66);
  if (i.addressSize === 16) out.push(0x67);
  // [ENC.PREFIX.8] A mandatory prefix (F3 of PAUSE, TZCNT, LZCNT) comes last, right before the opcode.
  if (form.prefix !== null) out.push(form.prefix);
  const opcode = [...form.opcode];
  if (form.low !== null) {
    const z = form.low === 'cond' ? i.condition! : registerNumber(i.operands[form.operands.findIndex((s) => s[0] === 'Z')]!);
    opcode[opcode.length - 1]! += z;
  }
  out.push(...opcode);
  if (form.modrmByte !== null) out.push(form.modrmByte);
  else if (form.modrm) {
    let reg = form.digit ?? 0;
    let rm: Operand | null = null;
    form.operands.forEach((spec, k) => {
      const o = i.operands[k]!;
      if (RM_SPECS.has(spec)) rm = o;
      else if (spec === 'Gb' || spec === 'Gv' || spec === 'Gw' || spec === 'Sw' || spec === 'Cd' || spec === 'Dd') reg = registerNumber(o);
    });
    const rmOperand = rm as Operand | null;
    if (rmOperand === null) throw new EncodeError('internal: ModRM form without an r/m operand');
    if (rmOperand.kind === 'mem') (i.addressSize === 16 ? encodeMemory16 : encodeMemory)(out, reg, rmOperand);
    else out.push(0xc0 | (reg << 3) | registerNumber(rmOperand));
  }
  form.operands.forEach((spec, k) => {
    const o = i.operands[k]!;
    if (o.kind === 'mem' && (spec === 'Ob' || spec === 'Ov')) pushLittleEndian(out, o.disp >>> 0, i.addressSize === 16 ? 2 : 4);
    else if (o.kind === 'imm' && spec !== 'One') {
      const bytes = spec === 'Ib' || spec === 'Ibs' ? 1 : spec === 'Iw' ? 2 : i.operandSize / 8;
      pushLittleEndian(out, o.value, bytes);
    } else if (o.kind === 'rel') pushLittleEndian(out, o.offset, o.size / 8);
    else if (o.kind === 'far') {
      pushLittleEndian(out, o.offset, i.operandSize / 8);
      pushLittleEndian(out, o.selector, 2);
    }
  });
  return out;
}

export type EncodeResult = { kind: 'ok'; bytes: Uint8Array; form: Form } | { kind: 'error'; message: string };

function describeOperand(o: Operand): string {
  switch (o.kind) {
    case 'reg': return `reg${o.size}`;
    case 'mem': return o.size === 0 ? 'mem' : `mem${o.size}`;
    case 'imm': return `imm${o.size}`;
    case 'rel': return `rel${o.size}`;
    case 'far': return 'ptr16:32';
    case 'sreg': return 'sreg';
    case 'creg': return 'creg';
    case 'st': return 'st';
    case 'dreg': return 'dreg';
  }
}

/** Why an instruction is malformed beyond its operand forms, or null. */
function prefixProblem(i: Instruction, form: Form): string | null {
  if (i.rep !== null && form.element === null) return `'${i.mnemonic}' takes no REP prefix`;
  if (i.lock && !(form.lockable && i.operands.some((o) => o.kind === 'mem'))) return `'${i.mnemonic}' with these operands takes no LOCK prefix`;
  return null;
}

/**
 * Encode an instruction [ENC.CHOICE.1]: among the forms that fit, the
 * shortest encoding; on a tie, the form listed first in the map.
 */
export function encodeResult(i: Instruction): EncodeResult {
  const forms = formsOf(i.mnemonic);
  if (forms.length === 0) return { kind: 'error', message: `unknown mnemonic '${i.mnemonic}'` };
  let best: { bytes: number[]; form: Form } | null = null;
  let problem: string | null = null;
  for (const form of forms) {
    if (form.decodeOnly || !formFits(form, i)) continue;
    const p = prefixProblem(i, form);
    if (p !== null) { problem = p; continue; }
    const bytes = bytesWithForm(form, i);
    if (best === null || bytes.length < best.bytes.length) best = { bytes, form };
  }
  if (best !== null) return { kind: 'ok', bytes: new Uint8Array(best.bytes), form: best.form };
  if (problem !== null) return { kind: 'error', message: problem };
  const shape = i.operands.map(describeOperand).join(', ');
  return {
    kind: 'error',
    message: `no form of '${i.mnemonic}' takes (${shape}) at operand size ${i.operandSize}` +
      (i.elementSize !== undefined ? ` with element size ${i.elementSize}` : ''),
  };
}

/** Encode an instruction, throwing EncodeError when no form fits. */
export function encode(i: Instruction): Uint8Array {
  const r = encodeResult(i);
  if (r.kind === 'error') throw new EncodeError(r.message);
  return r.bytes;
}
