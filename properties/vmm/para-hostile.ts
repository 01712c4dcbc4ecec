// Hostile guests for the para interface: the hostile guests of hostile.ts
// (random privileged and sensitive instructions, selector loads, accesses
// toward the VMM region, at ring 1 or 3, with or without a timer) with
// hypercalls mixed into their streams: random operations with random or
// edge arguments, and mmu_update batches read from the guest's scratch page,
// which the other slots scribble on.
import fc from 'fast-check';
import type { Instruction, Operand } from '../../model/isa/ast';
import { HYPERCALL_VECTOR, Hypercall } from '../../model/vmm/para/interface';
import { hostileGuest, hostileInstruction, SCRATCH, type HostileGuest, type HostileSlot } from './hostile';

const reg32 = (r: number): Operand => ({ kind: 'reg', size: 32, reg: r });
const imm32 = (v: number): Operand => ({ kind: 'imm', size: 32, value: v >>> 0 });
const insn = (mnemonic: string, ...operands: Operand[]): Instruction => ({ mnemonic, operands, operandSize: 32, segment: null, rep: null, lock: false });
const EAX = 0, ECX = 1, EBX = 3;
const hypercallInt = insn('int', { kind: 'imm', size: 8, value: HYPERCALL_VECTOR });

const edge = fc.constantFrom(0, 1, 4, 0xfff, 0x1000, 0x7ff, 0xffff, 0x00100000, 0x00200000, 0x00fff000, 0x01000000, 0xfc000000, 0xffffffff);

/** One hypercall slot (12 bytes: two MOVs and INT 0x82, so it fits a 16-byte slot; the other argument comes from earlier slots). */
export const hypercallSlot: fc.Arbitrary<HostileSlot> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 8 }), edge).map(([op, c]) => [insn('mov', reg32(EAX), imm32(op)), insn('mov', reg32(ECX), imm32(c)), hypercallInt]),
  fc.constant([insn('mov', reg32(EAX), imm32(Hypercall.mmuUpdate)), insn('mov', reg32(EBX), imm32(SCRATCH)), hypercallInt]),
  edge.map((d) => [insn('mov', reg32(EAX), imm32(Hypercall.newBaseptr)), insn('mov', reg32(EBX), imm32(d)), hypercallInt]),
);

const memAt = (address: number): Operand => ({ kind: 'mem', size: 32, base: null, index: null, scale: 1, disp: address >>> 0 });
/** Plausible mmu_update requests written to the scratch page (ptr at +0, val at +4):
 * entries of fresh frames as directory or table, values naming fresh frames,
 * the image, frames beyond the partition, writable or not. */
const requestWord = fc.tuple(fc.constantFrom(0, 4), fc.oneof(
  fc.constantFrom(0x00120000 | 1, 0x00120004 | 1, 0x00121000, 0x00121ffc, 0x00120000 + 4 * 0x3f0 + 1, 0x00113000),
  fc.constantFrom(0x00121007, 0x00121005, 0x00122003, 0x00120003, 0x00100001, 0x00100003, 0x02000001, 0x00122083),
)).map(([offset, value]) => insn('mov', memAt(SCRATCH + offset), imm32(value)));

/** Hostile guests whose streams include hypercalls. */
export const paraHostileGuest: fc.Arbitrary<HostileGuest> = fc.tuple(hostileGuest, fc.array(fc.oneof(hostileInstruction, hypercallSlot, hypercallSlot, requestWord, requestWord), { minLength: 1, maxLength: 40 }))
  .map(([g, program]) => ({ ...g, program }));
