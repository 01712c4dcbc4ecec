// The vocabulary the opcode map uses to describe an operand of one encoding
// form. The letters follow the Intel manual's opcode-map notation (Appendix A
// of volume 2) so that a reader can hold the table next to the manual:
// E = ModRM r/m field (register or memory), G = ModRM reg field, I =
// immediate, J = relative displacement, O = absolute offset (moffs), A =
// direct far pointer, M = memory only, S = segment register in the reg
// field, C = control register in the reg field, R = register in the r/m field
// whatever mod says, Z = register in the low three bits of the opcode.
// Size letters: b = byte, w = word, v = the operand size (16 or 32),
// d = dword.

export type OperandSpec =
  | 'Eb' | 'Ev' | 'Ew'
  /** r/m whose register form has the operand size but whose memory form is
   * always 16 bits (MOV to/from a segment register, LAR/LSL source, SLDT, STR, SMSW). */
  | 'Esv'
  | 'Gb' | 'Gv'
  /** A 16-bit register in the reg field whatever the operand size (ARPL). */
  | 'Gw'
  /** Memory only, not accessed as data (LEA, INVLPG). */
  | 'M'
  /** Memory only: a far pointer, 16-bit selector and operand-size offset. */
  | 'Mp'
  /** Memory only: the same far pointer, loaded into a segment register and a
   * register (LDS, LES, LFS, LGS, LSS; nasm writes no `far` there). */
  | 'Mf'
  /** Memory only: a quadword (CMPXCHG8B, x87 m64). */
  | 'Mq'
  /** Memory only, of a fixed size: x87 m16, m32, m80. */
  | 'Mw' | 'Md' | 'Mt'
  /** x87: ST(i) in the r/m field (mod 11 only), and ST(0) itself. */
  | 'STi' | 'ST0'
  /** AX whatever the operand size (FNSTSW AX). */
  | 'AX'
  /** Memory only: a pseudo-descriptor (16-bit limit, 32-bit base). */
  | 'Ms'
  /** Memory only: BOUND's pair of operand-size signed bounds. */
  | 'Ma'
  | 'Ib' | 'Iw' | 'Iv'
  /** An imm8 that the processor sign-extends to the operand size. */
  | 'Ibs'
  | 'Jb' | 'Jv'
  | 'Ap'
  | 'Ob' | 'Ov'
  | 'Sw' | 'Cd' | 'Rd'
  /** A debug register in the reg field (MOV DRn). */
  | 'Dd'
  | 'Zb' | 'Zv' | 'Zd'
  | 'AL' | 'eAX' | 'CL' | 'DX'
  /** The constant 1 of the short shift forms (an imm8 of value 1 in the AST). */
  | 'One'
  | 'ES' | 'CS' | 'SS' | 'DS' | 'FS' | 'GS';

/** Specs that need a ModRM byte. */
export const MODRM_SPECS: ReadonlySet<OperandSpec> = new Set<OperandSpec>([
  'Eb', 'Ev', 'Ew', 'Esv', 'Gb', 'Gv', 'Gw', 'M', 'Mp', 'Mf', 'Mq', 'Mw', 'Md', 'Mt', 'Ms', 'Ma', 'Sw', 'Cd', 'Dd', 'Rd', 'STi',
]);

/** Specs that live in the r/m half of ModRM. */
export const RM_SPECS: ReadonlySet<OperandSpec> = new Set<OperandSpec>([
  'Eb', 'Ev', 'Ew', 'Esv', 'M', 'Mp', 'Mf', 'Mq', 'Mw', 'Md', 'Mt', 'Ms', 'Ma', 'Rd', 'STi',
]);

/** Memory-only specs: a register in r/m is #UD. */
export const MEMORY_ONLY_SPECS: ReadonlySet<OperandSpec> = new Set<OperandSpec>(['M', 'Mp', 'Mf', 'Mq', 'Mw', 'Md', 'Mt', 'Ms', 'Ma']);

/** Specs whose width is the operand size. */
export const SIZED_BY_OPERAND_SIZE: ReadonlySet<OperandSpec> = new Set<OperandSpec>([
  'Ev', 'Esv', 'Gv', 'Iv', 'Ibs', 'Jv', 'Ov', 'Zv', 'eAX', 'Mp', 'Mf', 'Ma', 'Ap',
]);

export const FIXED_SEGMENT: Partial<Record<OperandSpec, number>> = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 };
