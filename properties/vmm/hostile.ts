// Arbitrary hostile guests: Multiboot images whose ring-1 code is a random
// sequence of privileged and sensitive instructions, loads of random
// selectors from a random guest GDT, and accesses toward the VMM region.
// Every instruction sits in its own 16-byte slot; the guest's exception
// handlers skip to the next slot, so one fault does not end the program.
// The program runs at ring 1 (the guest kernel) or at ring 3 (a guest user
// process: the prologue loads a GDT whose last entries are fixed, a TSS
// whose SS1:ESP1 is the kernel stack, and IRETs to ring 3); optionally the
// PIT interrupts it every `timer` instructions (a trap gate at vector 0x20
// on a DPL-1 code segment, so a direct gate, whose handler acknowledges the
// PIC and returns), so that interrupts arrive at arbitrary points.
import fc from 'fast-check';
import type { Instruction, Operand } from '../../model/isa/ast';
import { encodeResult } from '../../model/isa/encoder';
import { assembleText } from '../../model/isa/asm/assemble';
import { BOOT_CODE_SELECTOR, BOOT_DATA_SELECTOR } from '../../model/vmm/config';
import { gateDescriptor, segmentDescriptor, systemDescriptor, type RawDescriptor } from '../../model/vmm/descriptors';
import { dwordBytes } from '../../model/vmm/guest-paging';

export const LOAD = 0x100000;
const ENTRY = LOAD + 0x40;
const SLOTS = LOAD + 0x80;
export const GDT = 0x110000, GDT_PTR = 0x110800, IDT = 0x111000, IDT_PTR = 0x111800, HANDLERS = 0x112000, SCRATCH = 0x113000;
/** The prologue (timer set-up, the drop to ring 3), the guest's TSS, the stacks. */
const PROLOGUE = 0x112800, TIMER_HANDLER = 0x112c00, TSS = 0x113800, KERNEL_STACK = 0x10f000, USER_STACK = 0x10e000;
/** Fixed GDT entries of a ring-3 guest: ring-1 code, the TSS, user code, user data. */
const RING1_CODE = 28, TSS_ENTRY = 29, USER_CODE = 30, USER_DATA = 31;
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

/** One hostile slot: an instruction, or a short sequence that fits a slot. */
export type HostileSlot = Instruction | readonly Instruction[];

/** One hostile instruction (or a selector load: MOV AX, sel then MOV Sreg, AX). */
export const hostileInstruction: fc.Arbitrary<HostileSlot> = fc.oneof(
  fc.tuple(r32, edgeAddress).map(([r, v]) => insn('mov', reg(32, r), imm(32, v))),
  fc.tuple(r32, r32).map(([a, b]) => insn('mov', mem(32, a, 0), reg(32, b))),
  fc.tuple(r32, r32).map(([a, b]) => insn('mov', reg(32, b), mem(32, a, 0))),
  fc.tuple(dataSreg, selector).map(([s, sel]) => [insn('mov', reg(16, 0), imm(16, sel)), insn('mov', { kind: 'sreg', reg: s }, reg(16, 0))]),
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

/**
 * [VMM.MSR.2] Slots of issue 14: aim SYSENTER at ring 0 with a guest-chosen
 * CS/EIP/ESP, then try it; SYSENTER, SYSEXIT. Kept apart from
 * hostileInstruction so the memory-mode and non-interference properties draw
 * the same guests as before. RDTSC and RDMSR of the TSC are not drawn: they
 * read the machine's counter, a timing channel between guests that VMM.NI
 * leaves out as it leaves out timing (spec/vmm.md VMM.TSC.1).
 */
export const msrSlot: fc.Arbitrary<HostileSlot> = fc.oneof(
  fc.tuple(fc.constantFrom(0x174, 0x175, 0x176, 0x10, 0x1b), edgeAddress, fc.boolean()).map(([msr, v, enter]) => [
    insn('mov', reg(32, 1), imm(32, msr)), insn('mov', reg(32, 0), imm(32, v)), insn('wrmsr'), ...(enter ? [insn('sysenter')] : []),
  ]),
  fc.constantFrom(insn('sysenter'), insn('sysexit')),
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
  readonly program: readonly HostileSlot[];
  readonly gdt: readonly RawDescriptor[];
  /** The ring the program runs in (1 when absent). */
  readonly ring?: 1 | 3;
  /** Instructions between timer interrupts, or none (absent). */
  readonly timer?: number | null;
  /** A CR4 the prologue loads at ring 1 first (none when absent): CR4.TSD for the ring-3 RDTSC of VMM.TSC.1. */
  readonly cr4?: number;
}

export const hostileGuest: fc.Arbitrary<HostileGuest> = fc.record({
  program: fc.array(hostileInstruction, { minLength: 1, maxLength: 40 }),
  gdt: fc.array(guestDescriptor, { minLength: GDT_ENTRIES - 1, maxLength: GDT_ENTRIES - 1 }),
  ring: fc.constantFrom(1, 3) as fc.Arbitrary<1 | 3>,
  timer: fc.option(fc.integer({ min: 20, max: 400 }), { nil: null }),
});

/** Hostile guests whose slots also draw msrSlot (the single-guest invariants property). */
export const hostileGuestWithMsrs: fc.Arbitrary<HostileGuest> = fc.record({
  program: fc.array(fc.oneof({ weight: 12, arbitrary: hostileInstruction }, { weight: 1, arbitrary: msrSlot }), { minLength: 1, maxLength: 40 }),
  gdt: fc.array(guestDescriptor, { minLength: GDT_ENTRIES - 1, maxLength: GDT_ENTRIES - 1 }),
  ring: fc.constantFrom(1, 3) as fc.Arbitrary<1 | 3>,
  timer: fc.option(fc.integer({ min: 20, max: 400 }), { nil: null }),
});

const flat = (type: number, dpl: number): RawDescriptor => segmentDescriptor({ base: 0, limitField: 0xfbfff, type, dpl });

/** The prologue: program the PIC and PIT when there is a timer, then enter the slots at the program's ring. */
function prologue(guest: HostileGuest): Uint8Array {
  const sel = (entry: number, rpl: number) => (entry << 3) | rpl;
  const timer = guest.timer ?? null;
  const lines = [
    'bits 32', `org ${PROLOGUE}`,
    ...(guest.cr4 === undefined ? [] : [`mov eax, ${guest.cr4}`, 'mov cr4, eax']),
    ...(timer === null ? [] : [
      // ICW1..ICW4: vectors 0x20.., cascade, 8086 mode; then only IRQ 0 unmasked.
      'mov al, 0x11', 'out 0x20, al', 'mov al, 0x20', 'out 0x21, al', 'mov al, 4', 'out 0x21, al', 'mov al, 1', 'out 0x21, al',
      'mov al, 0xfe', 'out 0x21, al',
      // PIT channel 0, mode 2 (rate generator), low then high byte.
      'mov al, 0x34', 'out 0x43, al', `mov al, ${timer & 0xff}`, 'out 0x40, al', `mov al, ${timer >>> 8}`, 'out 0x40, al',
      'sti',
    ]),
    ...(guest.ring === 3 ? [
      `lgdt [${GDT_PTR}]`, `lidt [${IDT_PTR}]`, `mov ax, ${sel(TSS_ENTRY, 0)}`, 'ltr ax',
      `push dword ${sel(USER_DATA, 3)}`, `push dword ${USER_STACK}`, 'pushfd', `push dword ${sel(USER_CODE, 3)}`, `push dword ${SLOTS}`, 'iretd',
    ] : [`jmp ${SLOTS}`]),
  ];
  const r = assembleText({ 'p.asm': lines.join('\n') }, 'p.asm', { format: 'bin' });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.bytes;
}

/** Exception vectors that push an error code (SDM vol. 3, 6.13). */
const WITH_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);

/** The flat Multiboot image (a.out kludge) of a hostile guest. */
export function hostileImage(guest: HostileGuest): Uint8Array {
  const size = TSS + 0x68 - LOAD;
  const image = new Uint8Array(size);
  const view = new DataView(image.buffer);
  const put32 = (address: number, v: number) => view.setUint32(address - LOAD, v >>> 0, true);
  const put16 = (address: number, v: number) => view.setUint16(address - LOAD, v, true);
  const bytes = (address: number, b: ArrayLike<number>) => image.set(Array.from(b), address - LOAD);
  // Multiboot header: magic, flags (bit 16: address fields valid), checksum, addresses.
  const flags = 0x00010000;
  [0x1badb002, flags, -(0x1badb002 + flags), LOAD, LOAD, LOAD + size, 0, ENTRY].forEach((v, i) => put32(LOAD + 4 * i, v));
  // Entry: LIDT [IDT_PTR] first, so faults reach the handlers; then the prologue, then the slots.
  const lidt = encodeResult(insn('lidt', mem(48, null, IDT_PTR)));
  if (lidt.kind !== 'ok') throw new Error('cannot encode the entry LIDT');
  bytes(ENTRY, lidt.bytes);
  bytes(ENTRY + lidt.bytes.length, [0xe9, ...dwordBytes(PROLOGUE - (ENTRY + lidt.bytes.length + 5))]); // jmp PROLOGUE
  bytes(PROLOGUE, prologue(guest));
  guest.program.forEach((entry, i) => {
    const slot = SLOTS + 16 * i;
    image.fill(0x90, slot - LOAD, slot + 16 - LOAD);
    const encoded = (Array.isArray(entry) ? entry : [entry] as Instruction[]).map((x) => encodeResult(x));
    const code = encoded.flatMap((e) => (e.kind === 'ok' ? [...e.bytes] : []));
    if (encoded.every((e) => e.kind === 'ok') && code.length <= 16) bytes(slot, code);
  });
  bytes(SLOTS + 16 * guest.program.length, [0xeb, 0xfe]); // jmp $
  const fixed: Array<[number, RawDescriptor]> = guest.ring === 3
    ? [[RING1_CODE, flat(0xb, 1)], [TSS_ENTRY, systemDescriptor({ base: TSS, limit: 0x67, type: 0x9 })], [USER_CODE, flat(0xb, 3)], [USER_DATA, flat(0x3, 3)]]
    : [];
  const gdt = guest.gdt.map((d, i) => fixed.find(([e]) => e === i + 1)?.[1] ?? d);
  gdt.forEach((d, i) => { put32(GDT + 8 * (i + 1), d.low); put32(GDT + 8 * (i + 1) + 4, d.high); });
  // The guest's TSS: its kernel stack for entries from ring 3 (SS1:ESP1; VMM.EXIT.2).
  put32(TSS + 12, KERNEL_STACK); put32(TSS + 16, BOOT_DATA_SELECTOR);
  put16(GDT_PTR, GDT_ENTRIES * 8 - 1); put32(GDT_PTR + 2, GDT);
  for (let v = 0; v < 32; v++) {
    const handler = HANDLERS + 32 * v;
    const g = gateDescriptor({ selector: BOOT_CODE_SELECTOR, offset: handler, type: 0xe, dpl: 1 });
    put32(IDT + 8 * v, g.low); put32(IDT + 8 * v + 4, g.high);
    // [add esp, 4] add dword [esp], 16 ; and dword [esp], -16 ; iret
    bytes(handler, [...(WITH_ERROR_CODE.has(v) ? [0x83, 0xc4, 0x04] : []), 0x83, 0x04, 0x24, 0x10, 0x83, 0x24, 0x24, 0xf0, 0xcf]);
  }
  // Vector 0x20: the timer, a DPL-1 trap gate (IF stays set) on a DPL-1 guest
  // code segment when there is one (a direct gate), else on the boot segment.
  const timerGate = gateDescriptor({ selector: guest.ring === 3 ? (RING1_CODE << 3) | 1 : BOOT_CODE_SELECTOR, offset: TIMER_HANDLER, type: 0xf, dpl: 1 });
  put32(IDT + 8 * 0x20, timerGate.low); put32(IDT + 8 * 0x20 + 4, timerGate.high);
  bytes(TIMER_HANDLER, [0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf]); // push eax; mov al, 0x20; out 0x20, al; pop eax; iret
  put16(IDT_PTR, 0x21 * 8 - 1); put32(IDT_PTR + 2, IDT);
  return image;
}
