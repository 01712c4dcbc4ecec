// Arbitrary hostile guests: Multiboot images whose ring-1 code is a random
// sequence of privileged and sensitive instructions, loads of random
// selectors from a random guest GDT, and accesses toward the VMM region.
// Every instruction sits in its own 16-byte slot; the guest's exception
// handlers skip to the next slot, so one fault does not end the program.
import fc from 'fast-check';
import type { Instruction, Operand } from '../../model/isa/ast';
import { encodeResult } from '../../model/isa/encoder';
import { BOOT_CODE_SELECTOR } from '../../model/vmm/config';
import { gateDescriptor, segmentDescriptor, type RawDescriptor } from '../../model/vmm/descriptors';

export const LOAD = 0x100000;
const ENTRY = LOAD + 0x40;
const SLOTS = LOAD + 0x80;
export const GDT = 0x110000, GDT_PTR = 0x110800, IDT = 0x111000, IDT_PTR = 0x111800, HANDLERS = 0x112000, SCRATCH = 0x113000;
const GDT_ENTRIES = 32;

const reg = (size: 8 | 16 | 32, r: number): Operand => ({ kind: 'reg', size, reg: r });
const imm = (size: 8 | 16 | 32, value: number): Operand => ({ kind: 'imm', size, value: value >>> 0 });
const mem = (size: 0 | 8 | 16 | 32 | 48, base: number | null, disp: number): Operand => ({ kind: 'mem', size, base, index: null, scale: 1, disp: disp >>> 0 });
const insn = (mnemonic: string, ...operands: Operand[]): Instruction => ({ mnemonic, operands, operandSize: 32, segment: null, rep: null, lock: false });

const edgeAddress = fc.oneof(
  fc.constantFrom(0xfc000000, 0xfbfffffc, 0xfc001000, 0xffffffff, 0xfffff000, 0, 0x1000, GDT, SCRATCH),
  fc.nat({ max: 0xffffffff }),
);
const selector = fc.oneof(
  fc.integer({ min: 0, max: GDT_ENTRIES - 1 }).chain((i) => fc.integer({ min: 0, max: 3 }).map((rpl) => (i << 3) | rpl)),
  fc.constantFrom(0xfe1, 0xfe9, 0xfc0, 0xfc8, 0xfd0, 0xfc1, 0xfc9, 0),
);
const r32 = fc.integer({ min: 0, max: 7 }).filter((r) => r !== 4);
const dataSreg = fc.constantFrom(0, 2, 3, 4, 5); // es ss ds fs gs

/** One hostile instruction. */
export const hostileInstruction: fc.Arbitrary<Instruction> = fc.oneof(
  fc.tuple(r32, edgeAddress).map(([r, v]) => insn('mov', reg(32, r), imm(32, v))),
  fc.tuple(r32, r32).map(([a, b]) => insn('mov', mem(32, a, 0), reg(32, b))),
  fc.tuple(r32, r32).map(([a, b]) => insn('mov', reg(32, b), mem(32, a, 0))),
  fc.tuple(dataSreg, selector).map(([s, sel]) => insn('mov', reg(16, 0), imm(16, sel))).chain((load) =>
    dataSreg.map((s) => [load, insn('mov', { kind: 'sreg', reg: s }, reg(16, 0))] as const)).map(([, m]) => m),
  fc.constant(insn('lgdt', mem(48, null, GDT_PTR))),
  fc.constant(insn('lidt', mem(48, null, IDT_PTR))),
  fc.constantFrom(insn('cli'), insn('sti'), insn('pushf'), insn('popf'), insn('clts')),
  fc.tuple(fc.constantFrom(0, 3, 4) as fc.Arbitrary<0 | 3 | 4>, r32).map(([c, r]) => insn('mov', { kind: 'creg', reg: c }, reg(32, r))),
  fc.tuple(fc.constantFrom(0, 2, 3, 4) as fc.Arbitrary<0 | 2 | 3 | 4>, r32).map(([c, r]) => insn('mov', reg(32, r), { kind: 'creg', reg: c })),
  r32.map((r) => insn('invlpg', mem(0, r, 0))),
  fc.constantFrom(0xe9, 0x80, 0x21, 0x60, 0x3f8).map((p) => insn('out', imm(8, p & 0xff), reg(8, 0))),
  fc.constantFrom(0xe9, 0x21, 0x60, 0x71).map((p) => insn('in', reg(8, 0), imm(8, p))),
  fc.tuple(fc.constantFrom('lldt', 'ltr'), r32).map(([m, r]) => insn(m, reg(16, r))),
  fc.integer({ min: 0, max: 255 }).map((v) => insn('int', imm(8, v))),
  fc.constantFrom('sgdt', 'sidt').map((m) => insn(m, mem(48, null, SCRATCH))),
);

/** A random guest descriptor: segments of every kind and call gates, some aimed at the monitor. */
export const guestDescriptor: fc.Arbitrary<RawDescriptor> = fc.oneof(
  fc.record({
    base: fc.oneof(fc.constantFrom(0, 0x1000, 0x10000000, 0xfbfff000, 0xfc000000, 0xffff0000), fc.nat({ max: 0xffffffff })),
    limitField: fc.oneof(fc.constantFrom(0, 0xfff, 0xfbfff, 0xfffff), fc.nat({ max: 0xfffff })),
    type: fc.constantFrom(0x2, 0x3, 0x6, 0x7, 0xa, 0xb, 0xe, 0xf),
    dpl: fc.integer({ min: 0, max: 3 }),
    big: fc.boolean(),
    granular: fc.boolean(),
  }).map((f) => segmentDescriptor(f)),
  fc.record({ selector, offset: fc.nat({ max: 0xffffffff }), dpl: fc.integer({ min: 0, max: 3 }) })
    .map((g) => gateDescriptor({ ...g, type: 0xc })),
);

export interface HostileGuest {
  readonly program: readonly Instruction[];
  readonly gdt: readonly RawDescriptor[];
}

export const hostileGuest: fc.Arbitrary<HostileGuest> = fc.record({
  program: fc.array(hostileInstruction, { minLength: 1, maxLength: 40 }),
  gdt: fc.array(guestDescriptor, { minLength: GDT_ENTRIES - 1, maxLength: GDT_ENTRIES - 1 }),
});

/** Exception vectors that push an error code (SDM vol. 3, 6.13). */
const WITH_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);

/** The flat Multiboot image (a.out kludge) of a hostile guest. */
export function hostileImage(guest: HostileGuest): Uint8Array {
  const size = SCRATCH + 0x100 - LOAD;
  const image = new Uint8Array(size);
  const view = new DataView(image.buffer);
  const put32 = (address: number, v: number) => view.setUint32(address - LOAD, v >>> 0, true);
  const put16 = (address: number, v: number) => view.setUint16(address - LOAD, v, true);
  const bytes = (address: number, b: ArrayLike<number>) => image.set(Array.from(b), address - LOAD);
  // Multiboot header: magic, flags (bit 16: address fields valid), checksum, addresses.
  const flags = 0x00010000;
  [0x1badb002, flags, -(0x1badb002 + flags), LOAD, LOAD, LOAD + size, 0, ENTRY].forEach((v, i) => put32(LOAD + 4 * i, v));
  // Entry: LIDT [IDT_PTR] first, so faults reach the handlers; then the slots.
  bytes(ENTRY, encodeResult(insn('lidt', mem(48, null, IDT_PTR))).kind === 'ok' ? (encodeResult(insn('lidt', mem(48, null, IDT_PTR))) as { bytes: Uint8Array }).bytes : []);
  image.fill(0x90, ENTRY + 7 - LOAD, SLOTS - LOAD);
  guest.program.forEach((instruction, i) => {
    const slot = SLOTS + 16 * i;
    image.fill(0x90, slot - LOAD, slot + 16 - LOAD);
    const e = encodeResult(instruction);
    if (e.kind === 'ok' && e.bytes.length <= 16) bytes(slot, e.bytes);
  });
  bytes(SLOTS + 16 * guest.program.length, [0xeb, 0xfe]); // jmp $
  guest.gdt.forEach((d, i) => { put32(GDT + 8 * (i + 1), d.low); put32(GDT + 8 * (i + 1) + 4, d.high); });
  put16(GDT_PTR, GDT_ENTRIES * 8 - 1); put32(GDT_PTR + 2, GDT);
  for (let v = 0; v < 32; v++) {
    const handler = HANDLERS + 32 * v;
    const g = gateDescriptor({ selector: BOOT_CODE_SELECTOR, offset: handler, type: 0xe, dpl: 1 });
    put32(IDT + 8 * v, g.low); put32(IDT + 8 * v + 4, g.high);
    // [add esp, 4] add dword [esp], 16 ; and dword [esp], -16 ; iret
    bytes(handler, [...(WITH_ERROR_CODE.has(v) ? [0x83, 0xc4, 0x04] : []), 0x83, 0x04, 0x24, 0x10, 0x83, 0x24, 0x24, 0xf0, 0xcf]);
  }
  put16(IDT_PTR, 32 * 8 - 1); put32(IDT_PTR + 2, IDT);
  return image;
}
