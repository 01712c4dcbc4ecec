// The guests of gandalf's default property run: the teaching kernel's meso
// build, random hostile ring-1/ring-3 guests (properties/vmm/hostile.ts)
// and random paged guests (properties/vmm/paged-guest.ts), each from a
// fixed seed (one guest per seed, so that a failure names its seed).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { hostileGuest, hostileImage } from '../vmm/hostile';
import { pagedGuest, pagedGuestImage } from '../vmm/paged-guest';
import { pagedImage } from '../vmm/memory-guests';
import { hostilePagedImage, type HostilePagedGuest } from '../vmm/ni-guests';
import { assembleFile } from '../assemble-file';

const TEACH = join(import.meta.dirname, '..', '..', 'guests', 'teach', 'teach.asm');
const RTOS = join(import.meta.dirname, '..', '..', 'guests', 'rtos', 'rtos.asm');

function build(path: string, defines: Record<string, string>): Uint8Array {
  return assembleFile(path, { format: 'bin', defines });
}

/** The RTOS guest (guests/rtos); its transcript names the tick at which each
 * task runs, so it equals the native one under gandalf only with a tick
 * longer than gandalf's work per tick (-DTICK=60000, GANDALF.TIME.1). */
export const rtos = (defines: Record<string, string> = {}): Uint8Array => build(RTOS, defines);

/**
 * [GANDALF.TIME.1] The teaching kernel's meso build with a slower timer (PIT divisor 65535):
 * our machines count one timer tick per instruction, and the kernel's
 * 1193-instruction tick is shorter than gandalf's context switch (a CR3
 * write, then page faults to refill the shadow), so with it the kernel
 * livelocks under gandalf (gandalf/README.md). The transcript does not
 * depend on the divisor (guests/teach/README.md).
 */
export function teachMeso(defines: Record<string, string> = {}): Uint8Array {
  return teach({ MESO: '', PIT_DIVISOR: '65535', ...defines });
}

/** The teaching kernel with exactly these defines (native without MESO). */
export const teach = (defines: Record<string, string> = {}): Uint8Array => build(TEACH, defines);

export const HOSTILE_SEEDS = [1, 2, 5, 6, 10] as const;
export const PAGED_SEEDS = [19, 20, 21, 22] as const;

/**
 * Two address spaces over shared and private page tables (properties/vmm/memory-guests.ts):
 * both spaces warmed, page 0 remapped and CR3 reloaded, the spaces switched
 * and back, each read printed. Written for shadow-multi, whose shadows
 * outlive a switch; its transcript, worked by hand in
 * test/vmm/memory-modes.test.ts, is "ABCDDCBAAFDF".
 */
export const spacesGuest = (): Uint8Array => pagedImage([
  { kind: 'read', page: 0 }, { kind: 'map', table: 0, page: 0, frame: 5, flush: 'cr3' }, { kind: 'read', page: 0 },
  { kind: 'switch', directory: 1 }, { kind: 'read', page: 0 }, { kind: 'switch', directory: 0 }, { kind: 'read', page: 0 },
]);

/**
 * [MEM.DIRECT.2] The hostile paged guest whose directory names itself as a
 * page table (slot 320): the shrunk counterexample the direct-mode VMM.RES
 * property found in model/vmm (test/vmm/findings/direct-res-2026-12-02.json).
 * Direct paging must refuse its tables and stop it.
 */
export function recursiveGuest(): Uint8Array {
  const finding = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'test', 'vmm', 'findings', 'direct-res-2026-12-02.json'), 'utf8')) as { pagedGuest: HostilePagedGuest };
  return hostilePagedImage(finding.pagedGuest);
}

export const hostileAt = (seed: number): Uint8Array => hostileImage(fc.sample(hostileGuest, { seed, numRuns: 1 })[0]!);
export const pagedAt = (seed: number): Uint8Array => pagedGuestImage(fc.sample(pagedGuest, { seed, numRuns: 1 })[0]!, true);

// ---- A directed guest: every exit kind gandalf handles, once each ---------
import type { Instruction, Operand } from '../../model/isa/ast';
import { GDT_PTR, IDT_PTR, SCRATCH, type HostileSlot } from '../vmm/hostile';
import { flatDescriptors } from './tour-gdt';

const reg = (size: 8 | 16 | 32, r: number): Operand => ({ kind: 'reg', size, reg: r });
const imm = (size: 8 | 16 | 32, value: number): Operand => ({ kind: 'imm', size, value: value >>> 0 });
const mem = (size: 0 | 8 | 16 | 32 | 48, base: number | null, disp: number): Operand => ({ kind: 'mem', size, base, index: null, scale: 1, disp: disp >>> 0 });
const insn = (mnemonic: string, ...operands: Operand[]): Instruction => ({ mnemonic, operands, operandSize: 32, segment: null, rep: null, lock: false });
const creg = (n: 0 | 2 | 3 | 4): Operand => ({ kind: 'creg', reg: n });

/**
 * The hostile guests' frame (properties/vmm/hostile.ts: one instruction per
 * slot, fault handlers that skip to the next slot) with a fixed program
 * that meets each exit once: CLI/STI, CLTS, LMSW, MOV to and from CR0, CR2,
 * CR3 and CR4, LGDT, LIDT, LLDT (null), LTR, INVLPG, IN and OUT to owned and
 * refused ports, INT n to a vector without a gate and to one whose gate DPL
 * is too low, INT3, a #GP from a bad selector load, a #DE, a #PF reflected
 * with the virtual CR2, an RDMSR of an MSR neither monitor has
 * (#GP(0) reflected), SGDT and SIDT; at ring 1 or ring 3.
 */
export function tourGuest(ring: 1 | 3): Uint8Array {
  const program: HostileSlot[] = [
    insn('cli'), insn('sti'), insn('cli'), insn('clts'),
    [insn('mov', reg(32, 0), imm(32, 0x11)), insn('lmsw', reg(16, 0))],
    insn('mov', reg(32, 1), creg(0)), insn('mov', reg(32, 2), creg(2)), insn('mov', reg(32, 3), creg(4)),
    [insn('mov', reg(32, 0), imm(32, 0)), insn('mov', creg(4), reg(32, 0))],
    insn('lgdt', mem(48, null, GDT_PTR)), insn('lidt', mem(48, null, IDT_PTR)),
    [insn('mov', reg(32, 0), imm(32, 0)), insn('lldt', reg(16, 0))],
    insn('invlpg', mem(0, null, 0x1000)),
    insn('in', reg(8, 0), imm(8, 0x21)), insn('in', reg(8, 0), imm(8, 0x60)),
    insn('out', imm(8, 0x80), reg(8, 0)), [insn('mov', reg(32, 0), imm(32, 0x41)), insn('out', imm(8, 0xe9), reg(8, 0))],
    insn('int', imm(8, 0x70)), insn('int', imm(8, 0x0d)), insn('int3'),
    [insn('mov', reg(16, 0), imm(16, 0x1f3)), insn('mov', { kind: 'sreg', reg: 3 }, reg(16, 0))],
    [insn('mov', reg(32, 0), imm(32, 1)), insn('mov', reg(32, 1), imm(32, 0)), insn('div', reg(32, 1))],
    [insn('mov', reg(32, 6), imm(32, 0x00fff000)), insn('mov', reg(32, 0), mem(32, 6, 0))],
    insn('rdmsr'),
    insn('sgdt', mem(48, null, SCRATCH)), insn('sidt', mem(48, null, SCRATCH + 8)),
    [insn('mov', reg(32, 0), imm(32, 0x42)), insn('out', imm(8, 0xe9), reg(8, 0))],
  ];
  return hostileImage({ program, gdt: flatDescriptors(), ring, timer: null });
}
