// Hostile first guests for VMM.NI: the hostile guests of hostile.ts (random
// privileged and sensitive instructions, random descriptor tables) given,
// in addition, their own paging with random page-table contents aimed at
// the other guest's partition, the monitor frames and the VMM region,
// stores through those mappings, runtime writes of random frames into their
// page tables, console output, and a programmed timer whose interrupt they
// leave pending.
import fc from 'fast-check';
import type { Instruction, Operand } from '../../model/isa/ast';
import { hostileGuest, hostileImage, type HostileGuest, type HostileSlot } from './hostile';
import { guestLayout } from '../../model/vmm/guests/layout';

const LOAD = 0x100000;
const DIRECTORY = 0x114000, IDENTITY = 0x115000, DATA_TABLE = 0x116000, END = 0x117000;
const DATA = 0x400000;
const DATA_PAGES = 16;

const other = guestLayout(1);
const own = guestLayout(0);
/** Frames a hostile entry may name: its own, the edge of its partition, the other guest's partition and monitor frames, its own monitor frames, the VMM region, anything. */
const frame = fc.oneof(
  fc.constantFrom(0x200000, 0x300000, own.partitionSize - 0x1000, own.partitionSize, own.monitorBase, own.monitorBase + 0x8000,
    other.partitionBase, other.partitionBase + 0x100000, other.partitionBase + 0x108000, other.monitorBase, other.monitorBase + 0x8000, 0xfc000000),
  fc.integer({ min: 0, max: 0xfffff }).map((f) => f << 12 >>> 0),
);
const entry = fc.tuple(frame, fc.constantFrom(7, 7, 3, 5, 1, 0)).map(([f, bits]) => (f | bits) >>> 0);

export interface HostilePagedGuest {
  readonly base: HostileGuest;
  /** The 16 entries of the table that maps 4 MiB..4 MiB + 64 KiB. */
  readonly table: readonly number[];
  /** Start from a clean table (its own frames) and leave the hostility to runtime writes: direct mode refuses a hostile table outright. */
  readonly cleanTable: boolean;
  /** Also point the directory slot of the VMM base at that table. */
  readonly mapVmmSlot: boolean;
  readonly timerReload: number | null;
  readonly extra: readonly Instruction[];
}

const reg = (size: 8 | 32, r: number): Operand => ({ kind: 'reg', size, reg: r });
const imm = (size: 8 | 32, value: number): Operand => ({ kind: 'imm', size, value: value >>> 0 });
const abs = (size: 8 | 32, disp: number): Operand => ({ kind: 'mem', size, base: null, index: null, scale: 1, disp: disp >>> 0 });
const insn = (mnemonic: string, ...operands: Operand[]): Instruction => ({ mnemonic, operands, operandSize: 32, segment: null, rep: null, lock: false });
const cr = (n: 0 | 3): Operand => ({ kind: 'creg', reg: n });

/** Stores through the random mappings, and random entries written into the live page table. */
const pagedInstruction: fc.Arbitrary<Instruction> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: DATA_PAGES - 1 }), fc.integer({ min: 0, max: 1023 }), fc.nat()).map(([p, o, v]) => insn('mov', abs(32, DATA + p * 0x1000 + 4 * o), imm(32, v))),
  fc.tuple(fc.integer({ min: 0, max: DATA_PAGES - 1 }), entry).map(([p, e]) => insn('mov', abs(32, DATA_TABLE + 4 * p), imm(32, e))),
  fc.integer({ min: 0, max: 255 }).map((b) => insn('mov', reg(8, 0), imm(8, b))),
  fc.constant(insn('out', imm(8, 0xe9), reg(8, 0))),
  fc.constant(insn('mov', reg(32, 0), cr(3))).map((i) => i),
);

export const hostilePagedGuest: fc.Arbitrary<HostilePagedGuest> = fc.record({
  // Ring 1, so that its paging prologue runs (hostile.ts covers ring 3).
  base: hostileGuest.map((b) => ({ ...b, ring: 1 as const })),
  table: fc.array(entry, { minLength: DATA_PAGES, maxLength: DATA_PAGES }),
  cleanTable: fc.boolean(),
  mapVmmSlot: fc.boolean(),
  timerReload: fc.option(fc.integer({ min: 20, max: 400 }), { nil: null }),
  extra: fc.array(pagedInstruction, { minLength: 4, maxLength: 30 }),
});

function prologue(g: HostilePagedGuest): Instruction[] {
  const timer = g.timerReload === null ? [] : [
    // PIT channel 0, mode 2; IRQ 0 stays masked, so its request stays pending in the PIC.
    insn('mov', reg(8, 0), imm(8, 0x34)), insn('out', imm(8, 0x43), reg(8, 0)),
    insn('mov', reg(8, 0), imm(8, g.timerReload & 0xff)), insn('out', imm(8, 0x40), reg(8, 0)),
    insn('mov', reg(8, 0), imm(8, g.timerReload >>> 8)), insn('out', imm(8, 0x40), reg(8, 0)),
  ];
  return [
    ...timer,
    insn('mov', reg(8, 0), imm(8, 0x41)), insn('out', imm(8, 0xe9), reg(8, 0)),
    insn('mov', reg(32, 0), imm(32, DIRECTORY)), insn('mov', cr(3), reg(32, 0)),
    insn('mov', reg(32, 0), cr(0)), insn('or', reg(32, 0), imm(32, 0x80000000)), insn('mov', cr(0), reg(32, 0)),
  ];
}

/** Interleave the paged instructions with the hostile ones, after the prologue. */
function program(g: HostilePagedGuest): HostileSlot[] {
  const out: HostileSlot[] = prologue(g);
  const n = Math.max(g.base.program.length, g.extra.length);
  for (let i = 0; i < n; i++) {
    if (i < g.extra.length) out.push(g.extra[i]!);
    if (i < g.base.program.length) out.push(g.base.program[i]!);
  }
  return out;
}

/** The flat Multiboot image of a hostile paged guest (hostile.ts's layout, plus its page tables). */
export function hostilePagedImage(g: HostilePagedGuest): Uint8Array {
  const small = hostileImage({ ...g.base, program: program(g) });
  const image = new Uint8Array(END - LOAD);
  image.set(small);
  const view = new DataView(image.buffer);
  const put32 = (address: number, v: number) => view.setUint32(address - LOAD, v >>> 0, true);
  put32(LOAD + 20, END); // load_end_addr: the tables are part of the image
  put32(DIRECTORY, IDENTITY | 7);
  put32(DIRECTORY + 4, DATA_TABLE | 7);
  if (g.mapVmmSlot && !g.cleanTable) put32(DIRECTORY + 4 * (0xfc000000 >>> 22), DATA_TABLE | 7);
  for (let i = 0; i < 1024; i++) put32(IDENTITY + 4 * i, (i << 12) | 7);
  g.table.forEach((e, i) => put32(DATA_TABLE + 4 * i, g.cleanTable ? (0x200000 + 0x1000 * i) | 7 : e));
  return image;
}
