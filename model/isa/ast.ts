// The instruction AST: what an IA-32 instruction *is*, independent of how it
// is encoded. The decoder produces it, the encoder and disassembler consume
// it, the assembler builds it from text, and the CPU model executes it.
//
// The AST is canonical: two encodings of the same instruction (say
// `83 C0 01` and `81 C0 01 00 00 00`, both `add eax, 1`) decode to the same
// AST, and the encoder picks the encoding nasm picks. So decode(encode(i))
// equals i for every well-formed i, while encode(decode(b)) equals b only when
// b is nasm's own choice.

/** Width of a register, an immediate or a memory operand, in bits. */
export type OperandSize = 8 | 16 | 32;

/**
 * Width of a memory operand in bits. 0: the instruction does not access the
 * operand as data (LEA, INVLPG); 48: a pseudo-descriptor (LGDT/SGDT, 16-bit
 * limit and 32-bit base) or a far pointer m16:32; 64: BOUND's pair of dwords,
 * CMPXCHG8B's quadword or an x87 m64; 80: an x87 m80 (extended real, packed BCD).
 */
export type MemorySize = 0 | 8 | 16 | 32 | 48 | 64 | 80;

/** Segment registers in their encoding order (the sreg field of ModRM). */
export const SEGMENT_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const;
export type SegmentName = (typeof SEGMENT_NAMES)[number];

/** Condition codes in their encoding order (the low nibble of Jcc/SETcc/CMOVcc). */
export const CONDITION_NAMES = [
  'o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g',
] as const;
export type Condition = number; // 0..15, index into CONDITION_NAMES

export type Operand =
  /** General register. reg is 0..7 in encoding order: for 32 bits
   * eax ecx edx ebx esp ebp esi edi; for 16 bits ax..di; for 8 bits
   * al cl dl bl ah ch dh bh. */
  | { readonly kind: 'reg'; readonly size: OperandSize; readonly reg: number }
  /** Memory operand: [base + index*scale + disp]. With 32-bit addressing
   * disp is an unsigned 32-bit number (wraps like the hardware does). With
   * 16-bit addressing (Instruction.addressSize 16) base and index are the
   * 16-bit registers of the 8086 forms (base BX or BP, index SI or DI, or
   * either alone; scale 1) and disp is an unsigned 16-bit number. The
   * segment comes from Instruction.segment or from the default rule. */
  | {
      readonly kind: 'mem';
      readonly size: MemorySize;
      readonly base: number | null;
      readonly index: number | null; // never 4 (esp cannot be an index)
      readonly scale: 1 | 2 | 4 | 8;
      readonly disp: number;
    }
  /** Immediate. value is the unsigned size-bit number after the
   * instruction's own extension (an imm8 sign-extended to 32 bits is stored
   * as a 32-bit immediate), so the AST does not depend on the encoding. */
  | { readonly kind: 'imm'; readonly size: OperandSize; readonly value: number }
  /** Relative branch target: offset is signed, from the end of the
   * instruction; size is the width of the encoded displacement (8 = short). */
  | { readonly kind: 'rel'; readonly size: 8 | 16 | 32; readonly offset: number }
  /** Direct far pointer (JMP/CALL ptr16:32). */
  | { readonly kind: 'far'; readonly selector: number; readonly offset: number }
  /** Segment register, 0..5 in SEGMENT_NAMES order. */
  | { readonly kind: 'sreg'; readonly reg: number }
  /** Control register CR0, CR2, CR3 or CR4. */
  | { readonly kind: 'creg'; readonly reg: 0 | 2 | 3 | 4 }
  /** Debug register DR0..DR7 (MOV to/from DRn). */
  | { readonly kind: 'dreg'; readonly reg: number }
  /** x87 stack register ST(reg), 0..7 (nasm writes st0..st7). */
  | { readonly kind: 'st'; readonly reg: number };

export type RepPrefix = 'rep' | 'repe' | 'repne';

export interface Instruction {
  /** Lower-case mnemonic from the opcode map (model/isa/opcodes.ts). Far
   * transfers are 'jmpf', 'callf', 'retf'; conditional families are 'jcc',
   * 'setcc', 'cmovcc' with `condition`; string instructions are 'movs',
   * 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs' whose element size is in
   * `elementSize`. */
  readonly mnemonic: string;
  readonly operands: readonly Operand[];
  /** Effective operand size: 16 when a 0x66 prefix is present, else 32. */
  readonly operandSize: 16 | 32;
  /** 16 when a 0x67 prefix gives a memory operand 16-bit addressing
   * (ENC.PREFIX.3); absent for 32-bit addressing. */
  readonly addressSize?: 16;
  /** Explicit segment override prefix, or null for the default segment. */
  readonly segment: SegmentName | null;
  readonly rep: RepPrefix | null;
  readonly lock: boolean;
  /** For jcc/setcc/cmovcc: the condition, 0..15. */
  readonly condition?: Condition;
  /** For string instructions: element size in bits. */
  readonly elementSize?: OperandSize;
}
