// The para guests of gandalf's default property run (-DPARA): the teaching
// kernel's para build, a directed guest that meets every hypercall and every
// refusal of mmu_update once, and random hostile guests whose streams mix
// hypercalls and mmu_update batches into the hostile instructions
// (properties/vmm/para-hostile.ts), each from a fixed seed.
import fc from 'fast-check';
import type { Instruction, Operand } from '../../model/isa/ast';
import { hostileImage, IDT, GDT, SCRATCH, type HostileSlot } from '../vmm/hostile';
import { paraHostileGuest } from '../vmm/para-hostile';
import { Hypercall, HYPERCALL_VECTOR } from '../../model/vmm/para/interface';
import { flatDescriptors } from './tour-gdt';
import { teach } from './guests';

/** [GANDALF.TIME.1] The teaching kernel's para build, with the slower timer gandalf needs. */
export const teachPara = (defines: Record<string, string> = {}): Uint8Array => teach({ PARA: '', PIT_DIVISOR: '65535', ...defines });

export const PARA_HOSTILE_SEEDS = [6, 12, 19, 20, 24] as const;
export const paraHostileAt = (seed: number): Uint8Array => hostileImage(fc.sample(paraHostileGuest, { seed, numRuns: 1 })[0]!);

const reg = (size: 8 | 32, r: number): Operand => ({ kind: 'reg', size, reg: r });
const imm = (size: 8 | 32, value: number): Operand => ({ kind: 'imm', size, value: value >>> 0 });
const mem = (disp: number): Operand => ({ kind: 'mem', size: 32, base: null, index: null, scale: 1, disp: disp >>> 0 });
const insn = (mnemonic: string, ...operands: Operand[]): Instruction => ({ mnemonic, operands, operandSize: 32, segment: null, rep: null, lock: false });
const EAX = 0, ECX = 1, EBX = 3;

/** A hypercall (EAX = op, EBX, ECX), then its result's low byte to the console. */
const call = (op: number, ebx: number, ecx = 0): HostileSlot[] => [
  insn('mov', reg(32, ECX), imm(32, ecx)),
  [insn('mov', reg(32, EAX), imm(32, op)), insn('mov', reg(32, EBX), imm(32, ebx)), insn('int', imm(8, HYPERCALL_VECTOR))],
  insn('out', imm(8, 0xe9), reg(8, EAX)),
];
/** mmu_update of these requests, written to the scratch page first. */
const batch = (...requests: Array<[number, number]>): HostileSlot[] => [
  ...requests.flatMap(([ptr, val], i) => [insn('mov', mem(SCRATCH + 8 * i), imm(32, ptr)), insn('mov', mem(SCRATCH + 8 * i + 4), imm(32, val))]),
  ...call(Hypercall.mmuUpdate, SCRATCH, requests.length),
];

const DIR = 0x120000, TABLE = 0x121000;
const BOOT_CS = 0xfe1, BOOT_DS = 0xfe9;

/**
 * A directed para guest (the hostile guests' frame: one slot an
 * instruction, fault handlers that skip to the next slot). It makes each
 * hypercall with good and bad arguments and prints the low byte of each
 * result (0xff: refused), so that its transcript can be worked out by hand
 * from spec/para.md (PARA_TOUR_TRANSCRIPT). At ring 3 every hypercall is
 * refused with #GP (PARA.CALL.5) and nothing is printed.
 */
export function paraTourGuest(ring: 1 | 3): Uint8Array {
  const program: HostileSlot[] = [
    ...call(Hypercall.registerShared, 0x114001), //            ff  not page-aligned
    ...call(Hypercall.registerShared, 0x114000), //            00
    ...call(Hypercall.stackSwitch, BOOT_CS, 0x10f000), //      ff  a code segment
    ...call(Hypercall.stackSwitch, BOOT_DS, 0xffffffff), //    ff  above the VMM base
    ...call(Hypercall.stackSwitch, BOOT_DS, 0x10f000), //      00
    ...call(Hypercall.setGdt, GDT, 32 * 8 - 1), //             00
    ...call(Hypercall.setTrapTable, IDT, 0x21 * 8 - 1), //     00
    ...batch([DIR | 1, TABLE | 7], [TABLE + 4 * 0x100, 0x100007], [TABLE + 4 * 6, TABLE | 1]), // 03  a directory, its table, the code page, the table read-only
    ...batch([TABLE + 4 * 5, DIR | 3]), //                     ff  PARA.MMU.4: the directory mapped writable
    ...batch([TABLE + 4 * 5, DIR | 1]), //                     01  ... read-only
    ...batch([TABLE + 4 * 10, 0x01000001]), //                 ff  PARA.MMU.2: a frame beyond the partition
    ...batch([(DIR + 4 * 1008) | 1, TABLE | 1]), //            ff  PARA.MMU.3: at the VMM base
    ...batch([(DIR + 4) | 1, 0x00400083]), //                  ff  PARA.MMU.3: a 4 MiB page
    ...batch([(DIR + 8) | 1, DIR | 1]), //                     ff  PARA.MMU.3: a directory as a page table
    ...batch([TABLE | 2, 0]), //                               ff  PARA.MMU.1: command 2
    ...batch([0x01000000, 0]), //                              ff  PARA.MMU.1: an entry beyond the partition
    ...batch([TABLE + 4 * 7, 0x123003]), //                    01  frame 0x123 mapped writable
    ...batch([(DIR + 12) | 1, 0x123001]), //                   ff  PARA.MMU.5: so it cannot become a table
    ...batch([TABLE + 4 * 8, 0x124001], [TABLE + 4 * 9, TABLE | 3]), // ff  the first applied, the second refused
    ...call(Hypercall.mmuUpdate, SCRATCH, 1), //               01  one request (the second left in the scratch page)
    ...call(Hypercall.mmuUpdate, 0x01000000, 1), //            ff  requests beyond the partition: unreadable
    ...call(Hypercall.consoleWrite, 0x100000, 4), //           02 b0 ad 1b 04  the Multiboot magic
    ...call(Hypercall.consoleWrite, 0x01000000, 1), //         ff  beyond the partition
    ...call(Hypercall.consoleWrite, 0x100000, 4097), //        ff  too long
    ...call(9, 0, 0), //                                       ff  no such operation
    ...call(Hypercall.newBaseptr, DIR | 1), //                 ff  not page-aligned
    ...call(Hypercall.newBaseptr, TABLE), //                   ff  a page table, not a directory
    ...call(Hypercall.newBaseptr, 0x01000000), //              ff  beyond the partition
    ...call(Hypercall.newBaseptr, DIR), //                     00  paging on: only the code page is mapped
    ...call(Hypercall.mmuUpdate, SCRATCH, 1), //               ff  the scratch page is not mapped now
    ...call(Hypercall.consoleWrite, 0x100000, 2), //           02 b0 02
    // GANDALF.PARA.6: a request read at linear 0x5000 (the directory, through
    // table entry 5, never read before): its ptr 0x121007 has command 3, refused;
    // entry 5 keeps its accessed bit clear, as the table read at 0x6014 shows.
    ...call(Hypercall.mmuUpdate, 0x5000, 1), //                ff
    ...call(Hypercall.consoleWrite, 0x6014, 4), //             01 00 12 00 04  table entry 5: 0x00120001
  ];
  return hostileImage({ program, gdt: flatDescriptors(), ring, timer: null });
}

/** What paraTourGuest(1) prints, worked out from spec/para.md (the comments above). */
export const PARA_TOUR_TRANSCRIPT = [
  0xff, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x03, 0xff, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xff, 0xff, 0x01, 0xff,
  0x02, 0xb0, 0xad, 0x1b, 0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0x02, 0xb0, 0x02,
  0xff, 0x01, 0x00, 0x12, 0x00, 0x04,
];
/** Hypercalls the tour makes (each refused at ring 3). */
export const PARA_TOUR_CALLS = 33;
