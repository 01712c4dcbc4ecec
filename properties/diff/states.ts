// [DIFF.CASE.1] Random machine states and instruction streams for the
// differential property: a protected-mode machine from properties/builders.ts
// (GDT with ring 0/1/3 segments, TSS, IDT whose exception gates lead to a
// ring-0 HLT) at CPL 0, 1 or 3, with random descriptor tables besides
// (properties/diff/tables.ts: GDT entries of every type, an LDT, IDT gates),
// paging on or off (identity map with random U/S and R/W on the data pages),
// random EFLAGS and edge-biased registers, and a stream of random
// instructions from the opcode map at LAYOUT.code.
import fc from 'fast-check';
import type { Instruction, Operand } from '../../model/isa/ast';
import { encodeResult } from '../../model/isa/encoder';
import { decode } from '../../model/isa/decoder';
import type { MachineState } from '../../model/cpu/state';
import { TF } from '../../model/isa/flags';
import { arbInstruction, edgeBiased } from '../isa/arbitrary';
import { LAYOUT, PTE, cacheFor, gateDescriptor, identityMappingWrites, segmentDescriptor, systemState, withPagingWrites, writeCode, writeDwords, SEL, type Descriptor, type DwordWrite } from '../builders';
import { EXTRA_DESCRIPTORS, LDT_BASE, LDT_ENTRIES, LDT_SELECTOR, arbGdtEntry, arbIdtOverrides, arbLdtEntry, arbSelector } from './tables';

/** 1 MiB of low memory plus room for the page tables at 0x100000. */
export const DIFF_MEMORY = 0x110000;
export const HANDLER = 0x4000;
/** Data pages that registers and displacements are biased toward. */
export const DATA = 0x20000;
const CR3 = 0x100000;

export interface DiffCase {
  readonly cpl: 0 | 1 | 3;
  readonly paging: boolean;
  /** Page flags (U/S, R/W) for the 16 data pages when paging is on. */
  readonly dataPageFlags: readonly number[];
  readonly eflags: number;
  readonly regs: readonly number[];
  readonly program: readonly Instruction[];
  /** Random descriptor tables (properties/diff/tables.ts). */
  readonly tables: CaseTables;
  /** Start with TF set (EXC.STEP.1): the first instruction to retire then
   * traps to the #DB handler. Absent in cases recorded before it existed. */
  readonly trap?: boolean;
}

export interface CaseTables {
  /** GDT entries 8..23 (selectors 0x40..0xb8), every descriptor type. */
  readonly gdt: readonly Descriptor[];
  /** The LDT's entries (at LDT_BASE, described by GDT selector LDT_SELECTOR). */
  readonly ldt: readonly Descriptor[];
  /** Whether LDTR starts loaded with LDT_SELECTOR. */
  readonly ldtLoaded: boolean;
  /** IDT gates replacing the default ones. */
  readonly idt: readonly { readonly vector: number; readonly gate: Descriptor }[];
  /** Registers (never ECX or ESP) set to selectors of the random entries. */
  readonly selectors: readonly (readonly [register: number, selector: number])[];
  /** Dwords at the initial ESP and above, for POP Sreg, RETF and IRET to pop:
   * selectors, code offsets, EFLAGS images and small values. */
  readonly stack: readonly number[];
}

/** Point some memory operands at the data pages with a small displacement. */
function nearData(i: Instruction, small: number[]): Instruction {
  let k = 0;
  const operands = i.operands.map((o): Operand => {
    if (o.kind !== 'mem') return o;
    const disp = small[k++ % small.length]!;
    return disp < 0 ? o : { ...o, disp: disp >>> 0 };
  });
  return { ...i, operands };
}

const arbProgramInstruction = fc.tuple(arbInstruction(), fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 0xfff })), { minLength: 2, maxLength: 2 }))
  .map(([i, small]) => nearData(i, small))
  .filter((i) => encodeResult(i).kind === 'ok');

/** [DIFF.REP.1] The largest REP count a campaign runs: both machines execute a
 * whole REP string instruction in one step, so an ECX near 2^32 would be one
 * step of billions of iterations. Long REPs are covered by the guests in lock step. */
export const MAX_REP_COUNT = 65536;

const STRING_MNEMONICS: ReadonlySet<string> = new Set(['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs']);

/** A string instruction with a REP, REPE or REPNE prefix (its count is ECX). */
export function isRepString(i: Instruction): boolean {
  return i.rep !== null && STRING_MNEMONICS.has(i.mnemonic);
}

// movzx ecx, cx: bounds ECX to 0xffff without touching EFLAGS.
const boundEcx: Instruction = (() => {
  const r = decode([0x0f, 0xb7, 0xc9]);
  if (r.kind !== 'ok') throw new Error('movzx ecx, cx does not decode');
  return r.instruction;
})();

/** [DIFF.REP.1] Put `movzx ecx, cx` before every REP string instruction of a
 * stream, since an earlier instruction (SUB ECX, POP ECX, …) may have made ECX
 * large; the count the REP runs is then at most 0xffff ≤ MAX_REP_COUNT. */
export function boundRepCounts(program: readonly Instruction[]): Instruction[] {
  return program.flatMap((i) => (isRepString(i) ? [boundEcx, i] : [i]));
}

const arbRegister = fc.oneof(
  edgeBiased(32),
  fc.integer({ min: 0, max: 0xffff }).map((o) => (DATA + o) >>> 0),
  fc.integer({ min: 0, max: 0x3f }),
);

// Arithmetic flags, DF, and sometimes IF and IOPL.
const arbEflags = fc.tuple(fc.integer({ min: 0, max: 0xfff }), fc.boolean(), fc.integer({ min: 0, max: 3 }))
  .map(([low, intr, iopl]) => ((low & 0xcd5) | 2 | (intr ? 0x200 : 0) | (iopl << 12)) >>> 0);

export const arbDiffCase: fc.Arbitrary<DiffCase> = fc.record({
  cpl: fc.constantFrom(0 as const, 1 as const, 3 as const),
  paging: fc.boolean(),
  dataPageFlags: fc.array(fc.constantFrom(PTE.P | PTE.W | PTE.U, PTE.P | PTE.U, PTE.P | PTE.W, PTE.P, 0), { minLength: 16, maxLength: 16 }),
  eflags: arbEflags,
  // ECX stays small so that a REP cannot run for billions of elements.
  regs: fc.tuple(arbRegister, fc.integer({ min: 0, max: 40 }), fc.array(arbRegister, { minLength: 6, maxLength: 6 }))
    .map(([eax, ecx, rest]) => [eax, ecx, ...rest]),
  program: fc.array(arbProgramInstruction, { minLength: 1, maxLength: 8 }).map(boundRepCounts),
  // Drawn last, so the fields above are what they were before tables existed.
  tables: fc.record({
    gdt: fc.array(arbGdtEntry, { minLength: EXTRA_DESCRIPTORS, maxLength: EXTRA_DESCRIPTORS }),
    ldt: fc.array(arbLdtEntry, { minLength: LDT_ENTRIES, maxLength: LDT_ENTRIES }),
    ldtLoaded: fc.boolean(),
    idt: arbIdtOverrides,
    selectors: fc.array(fc.tuple(fc.constantFrom(0, 2, 3, 5, 6, 7), arbSelector), { minLength: 1, maxLength: 4 }),
    stack: fc.array(fc.oneof(arbSelector, fc.constantFrom(SEL.code0, SEL.code1, SEL.code3, SEL.data0, SEL.data1, SEL.data3),
      fc.constantFrom(LAYOUT.code, HANDLER, 0x202, 0x3202, 0x2), edgeBiased(32)), { minLength: 6, maxLength: 6 }),
  }),
  // Drawn last too; one case in eight starts single-stepping.
  trap: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
});

/** The default IDT: every exception vector leads to the ring-0 HLT (#BP and #OF reachable from ring 3). */
const EXCEPTION_GATES: Readonly<Record<number, readonly [number, number]>> = Object.fromEntries(Array.from({ length: 32 },
  (_, v) => [v, gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xe, dpl: v === 3 || v === 4 ? 3 : 0 })]));

/** The writes that identity-map the low 1 MiB, user-writable (the same in every case with paging). */
const LOW_MEGABYTE_MAPPED = identityMappingWrites(CR3, 0, 0x100000, PTE.P | PTE.W | PTE.U);

/** The model state a case describes (also the source of impl's state and memory). */
export function caseState(c: DiffCase): MachineState {
  const gates: Record<number, readonly [number, number]> = { ...EXCEPTION_GATES };
  for (const { vector, gate } of c.tables.idt) gates[vector] = gate;
  const ldtDescriptor = segmentDescriptor({ base: LDT_BASE, limit: LDT_ENTRIES * 8 - 1, g: false, big: false, type: 0x2, system: true });
  let s = systemState({ memorySize: DIFF_MEMORY, cpl: c.cpl, eflags: c.trap === true ? (c.eflags | TF) >>> 0 : c.eflags, gates, extraDescriptors: [...c.tables.gdt, ldtDescriptor] });
  s = writeDwords(s, c.tables.ldt.flatMap((d, i): DwordWrite[] => [[LDT_BASE + 8 * i, d[0]], [LDT_BASE + 8 * i + 4, d[1]]]));
  if (c.tables.ldtLoaded) s = { ...s, ldtr: cacheFor(s, LDT_SELECTOR) };
  s = writeCode(s, HANDLER, [0xf4]); // hlt
  const bytes: number[] = [];
  for (const i of c.program) {
    const r = encodeResult(i);
    if (r.kind === 'ok') bytes.push(...r.bytes);
  }
  s = writeCode(s, LAYOUT.code, bytes);
  const regs = c.regs.slice();
  for (const [register, selector] of c.tables.selectors) regs[register] = selector;
  regs[4] = s.regs[4]!; // keep the ring's stack
  s = { ...s, regs };
  s = writeDwords(s, c.tables.stack.map((value, i): DwordWrite => [regs[4]! + 4 * i, value]));
  if (c.paging) {
    // Identity map the low 1 MiB (system pages user-writable so every ring can run),
    // then the data pages with the case's flags.
    // (All the writes in one batch, in that order: each page table is copied once.)
    s = withPagingWrites(s, CR3, [
      ...LOW_MEGABYTE_MAPPED,
      ...c.dataPageFlags.flatMap((flags, k) => identityMappingWrites(CR3, DATA + k * 0x1000, DATA + (k + 1) * 0x1000, flags)),
    ]);
  }
  return s;
}
