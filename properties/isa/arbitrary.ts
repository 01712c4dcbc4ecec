// Arbitrary instructions, derived from the opcode map: pick a form, then
// fill each operand spec with edge-biased values. Only canonical ASTs come
// out (decode(encode(i)) is i): the one non-canonical shape a form can make
// is filtered out below, with its reason.

import type fc from 'fast-check';
import * as gen from '../gen';
import type { Instruction, Operand, RepPrefix, SegmentName } from '../../model/isa/ast';
import { SEGMENT_NAMES } from '../../model/isa/ast';
import type { Form } from '../../model/isa/opcodes';
import { addressesImplicitly, COMPARING_STRING_MNEMONICS, FORMS } from '../../model/isa/opcodes';
import type { OperandSpec } from '../../model/isa/operand-spec';
import { FIXED_SEGMENT, SIZED_BY_OPERAND_SIZE } from '../../model/isa/operand-spec';

const EDGE_32 = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xffffff80, 0xffffff7f];

/** An unsigned value of `bits` bits, biased toward 0, 1, sign boundaries and all ones. */
export function edgeBiased(bits: 8 | 16 | 32): gen.Gen<number> {
  const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  const edges = [...new Set(EDGE_32.map((v) => (v & mask) >>> 0))];
  return gen.oneof(
    { weight: 1, arbitrary: gen.constantFrom(...edges) },
    { weight: 1, arbitrary: gen.integer({ min: 0, max: mask }).map((v) => v >>> 0) },
  );
}

/** A value of `bits` bits that an imm8 sign-extends to. */
function signExtendedByte(bits: 16 | 32): gen.Gen<number> {
  return gen.oneof(gen.constantFrom(0, 1, 0x7f, -1, -128), gen.integer({ min: -128, max: 127 }))
    .map((v) => (bits === 32 ? v >>> 0 : v & 0xffff));
}

const register = (size: 8 | 16 | 32, min = 0): gen.Gen<Operand> =>
  gen.integer({ min, max: 7 }).map((reg) => ({ kind: 'reg' as const, size, reg }));

const displacement: gen.Gen<number> = gen.oneof(
  gen.constantFrom(0, 1, 0x7f, 0x80, 0xffffff80, 0xffffff7f, 0xffffffff, 0x7fffffff, 0x80000000),
  gen.integer({ min: -128, max: 127 }).map((v) => v >>> 0),
  gen.integer({ min: 0, max: 0xffffffff }),
);

/** A memory operand of every ModRM/SIB shape: no base, base, base+index, index only. */
export function memory(size: Extract<Operand, { kind: 'mem' }>['size']): gen.Gen<Operand> {
  // A tuple, not a record: the same draws, without building an object per draw to map.
  return gen.tuple(
    gen.option(gen.integer({ min: 0, max: 7 }), { freq: 5 }),
    gen.option(gen.constantFrom(0, 1, 2, 3, 5, 6, 7), { freq: 2 }),
    gen.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
    displacement,
  ).map(([base, index, scale, disp]) => ({
    kind: 'mem' as const, size, base, index, scale: index === null ? (1 as const) : scale, disp,
  }));
}

function operand(spec: OperandSpec, os: 16 | 32, position: number): gen.Gen<Operand> {
  switch (spec) {
    case 'Eb': return gen.oneof(register(8), memory(8));
    case 'Ev': return gen.oneof(register(os), memory(os));
    case 'Ew': return gen.oneof(register(16), memory(16));
    case 'Esv': return gen.oneof(register(os), memory(16));
    case 'Gb': return register(8);
    case 'Gv': return register(os);
    case 'M': return memory(0);
    case 'Mp': case 'Mf': return memory(os === 16 ? 32 : 48);
    case 'Mq': return memory(64);
    case 'Mw': return memory(16);
    case 'Md': return memory(32);
    case 'Mt': return memory(80);
    case 'Dd': return gen.integer({ min: 0, max: 7 }).map((reg) => ({ kind: 'dreg' as const, reg }));
    case 'STi': return gen.integer({ min: 0, max: 7 }).map((reg) => ({ kind: 'st' as const, reg }));
    case 'ST0': return gen.constant({ kind: 'st' as const, reg: 0 });
    case 'AX': return gen.constant({ kind: 'reg' as const, size: 16 as const, reg: 0 });
    case 'Gw': return register(16);
    case 'Ms': return memory(48);
    case 'Ma': return memory(os === 16 ? 32 : 64);
    case 'Ib': return edgeBiased(8).map((value) => ({ kind: 'imm' as const, size: 8 as const, value }));
    case 'Iw': return edgeBiased(16).map((value) => ({ kind: 'imm' as const, size: 16 as const, value }));
    case 'Iv': return edgeBiased(os).map((value) => ({ kind: 'imm' as const, size: os, value }));
    case 'Ibs': return signExtendedByte(os).map((value) => ({ kind: 'imm' as const, size: os, value }));
    case 'Jb': return gen.integer({ min: -128, max: 127 }).map((offset) => ({ kind: 'rel' as const, size: 8 as const, offset }));
    case 'Jv': return gen.integer({ min: -0x80000000, max: 0x7fffffff }).map((offset) => ({ kind: 'rel' as const, size: 32 as const, offset }));
    case 'Ap': return gen.record({ selector: edgeBiased(16), offset: edgeBiased(os) }).map((f) => ({ kind: 'far' as const, ...f }));
    case 'Ob': return displacement.map((disp) => ({ kind: 'mem' as const, size: 8 as const, base: null, index: null, scale: 1 as const, disp }));
    case 'Ov': return displacement.map((disp) => ({ kind: 'mem' as const, size: os, base: null, index: null, scale: 1 as const, disp }));
    // MOV to CS is #UD: a segment-register destination is never CS.
    case 'Sw': return gen.constantFrom(...(position === 0 ? [0, 2, 3, 4, 5] : [0, 1, 2, 3, 4, 5])).map((reg) => ({ kind: 'sreg' as const, reg }));
    case 'Cd': return gen.constantFrom(0 as const, 2 as const, 3 as const, 4 as const).map((reg) => ({ kind: 'creg' as const, reg }));
    case 'Rd': case 'Zd': return register(32);
    case 'Zb': return register(8);
    case 'Zv': return register(os);
    case 'AL': return gen.constant({ kind: 'reg' as const, size: 8 as const, reg: 0 });
    case 'eAX': return gen.constant({ kind: 'reg' as const, size: os, reg: 0 });
    case 'CL': return gen.constant({ kind: 'reg' as const, size: 8 as const, reg: 1 });
    case 'DX': return gen.constant({ kind: 'reg' as const, size: 16 as const, reg: 2 });
    case 'One': return gen.constant({ kind: 'imm' as const, size: 8 as const, value: 1 });
    default: return gen.constant({ kind: 'sreg' as const, reg: FIXED_SEGMENT[spec]! });
  }
}

const SIZE_SENSITIVE_WITHOUT_OPERANDS = new Set(['cbw', 'cwd', 'pusha', 'popa', 'pushf', 'popf', 'iret', 'ret', 'retf', 'enter', 'leave', 'push', 'pop']);

/** Operand sizes worth generating for a form: 16 only where the prefix changes something. */
function operandSizes(form: Form): (16 | 32)[] {
  if (form.operands.some((s) => s === 'Jb' || s === 'Jv')) return [32];
  // BSWAP r16 is undefined; MOVZX/MOVSX r16, r/m16 is a plain move that nasm refuses to write.
  if (form.mnemonic === 'bswap' || form.operands.includes('Ew') && form.operands.includes('Gv')) return [32];
  const sized = form.operands.some((s) => SIZED_BY_OPERAND_SIZE.has(s)) || form.element === 'v' ||
    SIZE_SENSITIVE_WITHOUT_OPERANDS.has(form.mnemonic);
  return sized ? [32, 16] : [32];
}

/**
 * The non-canonical shapes a form can make: XCHG r, EAX is encoded as 90+r,
 * which decodes as XCHG EAX, r; and XCHG EAX, EAX (and AX, AX) is encoded
 * as 90 like nasm does, which decodes as NOP.
 */
function isCanonical(i: Instruction): boolean {
  if (i.mnemonic === 'xchg') {
    const [a, b] = i.operands;
    if (a?.kind === 'reg' && b?.kind === 'reg' && b.reg === 0 && b.size !== 8) return false;
  }
  return true;
}

/** [ENC.MEM16.1] A 16-bit-addressed memory operand: every r/m shape, disp16 edge-biased. */
const memory16Shape = gen.record({
  pair: gen.constantFrom<[number | null, number | null]>([3, 6], [3, 7], [5, 6], [5, 7], [6, null], [7, null], [5, null], [3, null], [null, null]),
  disp: edgeBiased(16),
});

const ofForm = new Map<Form, gen.Gen<Instruction>>();

/** A canonical instruction of one form (its Gen built once per form: a campaign draws it many times). */
export function instructionOfForm(form: Form): gen.Gen<Instruction> {
  let g = ofForm.get(form);
  if (g === undefined) {
    const bySize = new Map<16 | 32, gen.Gen<Instruction>>();
    const sized = (os: 16 | 32): gen.Gen<Instruction> => {
      let s = bySize.get(os);
      if (s === undefined) bySize.set(os, s = instructionOfFormAndSize(form, os));
      return s;
    };
    g = gen.constantFrom(...operandSizes(form)).chain(sized).filter(isCanonical);
    ofForm.set(form, g);
  }
  return g;
}

export function arbInstructionOfForm(form: Form): fc.Arbitrary<Instruction> {
  return instructionOfForm(form).arbitrary;
}

function instructionOfFormAndSize(form: Form, os: 16 | 32): gen.Gen<Instruction> {
  const ops = gen.tuple(...form.operands.map((s, k) => operand(s, os, k)));
  const isString = form.element !== null;
  // A tuple, not a record (as in memory()).
  return gen.tuple(
    ops,
    gen.integer({ min: 0, max: 15 }),
    gen.option(gen.constantFrom<SegmentName>(...SEGMENT_NAMES), { freq: 3 }),
    gen.option(gen.constantFrom<'first' | 'repne'>('first', 'repne'), { freq: 2 }),
    gen.boolean(),
    gen.option(memory16Shape, { freq: 4 }),
  ).map(([drawn, condition, segment, rep, lock, a16]): Instruction => {
    const hasMemory = drawn.some((o) => o.kind === 'mem');
    // [ENC.PREFIX.3] 0x67 on a memory operand, or on an instruction that addresses through SI, DI, CX or BX (INS.ADDR16.1).
    const sixteen = a16 !== null && (hasMemory || addressesImplicitly(form));
    const moffs = form.operands.includes('Ob') || form.operands.includes('Ov');
    const operands = !sixteen ? drawn : drawn.map((o): Operand => o.kind !== 'mem' ? o
      : moffs ? { ...o, disp: a16.disp } : { ...o, base: a16.pair[0], index: a16.pair[1], scale: 1, disp: a16.disp });
    const repPrefix: RepPrefix | null = !isString || rep === null ? null
      : rep === 'repne' ? 'repne' : COMPARING_STRING_MNEMONICS.has(form.mnemonic) ? 'repe' : 'rep';
    return {
      mnemonic: form.mnemonic,
      operands,
      operandSize: os,
      segment: hasMemory || isString ? segment : null,
      rep: repPrefix,
      lock: lock && form.lockable && hasMemory,
      ...(form.low === 'cond' ? { condition } : {}),
      ...(isString ? { elementSize: form.element === 8 ? 8 : os } : {}),
      ...(sixteen ? { addressSize: 16 as const } : {}),
    };
  });
}

const ENCODABLE = FORMS.filter((f) => !f.decodeOnly && !f.encodeOnly);
/** The 63 hint NOPs are drawn as if they were a few forms, so they do not crowd out the rest of the map. */
const HINT_NOP_FORMS = ENCODABLE.filter((f) => f.mnemonic.startsWith('hint_nop'));
const ENCODABLE_FORMS = ENCODABLE.filter((f) => !f.mnemonic.startsWith('hint_nop'));

/** A canonical instruction drawn uniformly over the encodable forms of the map (the hint NOPs together weigh as two). */
export const anyInstruction: gen.Gen<Instruction> = gen.oneof(
  { weight: ENCODABLE_FORMS.length, arbitrary: gen.constantFrom(...ENCODABLE_FORMS) },
  { weight: 2, arbitrary: gen.constantFrom(...HINT_NOP_FORMS) },
).chain(instructionOfForm);

export function arbInstruction(): fc.Arbitrary<Instruction> {
  return anyInstruction.arbitrary;
}
