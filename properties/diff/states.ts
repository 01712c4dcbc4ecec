// [DIFF.CASE.1] Random machine states and instruction streams for the
// differential property: a protected-mode machine from properties/builders.ts
// (GDT with ring 0/1/3 segments, TSS, IDT whose exception gates lead to a
// ring-0 HLT) at CPL 0, 1 or 3, with random descriptor tables besides
// (properties/diff/tables.ts: GDT entries of every type, an LDT, IDT gates),
// paging on or off (identity map with random U/S and R/W on the data pages),
// random EFLAGS and edge-biased registers, and a stream of random
// instructions from the opcode map at LAYOUT.code.
import type fc from 'fast-check';
import * as gen from '../gen';
import type { Instruction, Operand } from '../../model/isa/ast';
import { encodeResult } from '../../model/isa/encoder';
import { decode } from '../../model/isa/decoder';
import type { MachineState } from '../../model/cpu/state';
import { TF } from '../../model/isa/flags';
import { anyInstruction, edgeBiased } from '../isa/arbitrary';
import { LAYOUT, PTE, cacheFor, gateDescriptor, identityMappingWrites, segmentDescriptor, systemState, withPagingWrites, writeCode, writeDwords, SEL, type Descriptor, type DwordWrite } from '../builders';
import { EXTRA_DESCRIPTORS, LDT_BASE, LDT_ENTRIES, LDT_SELECTOR, anyGdtEntry, idtOverrides, anyLdtEntry, tableSelector } from './tables';

/** 1 MiB of low memory plus room for the page tables at 0x100000. */
export const DIFF_MEMORY = 0x110000;
export const HANDLER = 0x4000;
/** Data pages that registers and displacements are biased toward. */
export const DATA = 0x20000;
const CR3 = 0x100000;
/** [DIFF.CASE.3] A case is compared for at most this many steps; its stream
 * has at most this many instructions drawn (a longer one could not be run
 * to its end). */
export const STEPS_PER_CASE = 24;

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

const programInstruction = gen.tuple(anyInstruction, gen.array(gen.oneof(gen.constant(-1), gen.integer({ min: 0, max: 0xfff })), { minLength: 2, maxLength: 2 }))
  .map(([i, small]) => nearData(i, small))
  .filter((i) => encoded(i) !== null);

/** [DIFF.REP.1] The largest REP count a campaign runs: both machines execute a
 * whole REP string instruction in one step, so an ECX near 2^32 would be one
 * step of billions of iterations. Long REPs are covered by the guests in lock step. */
export const MAX_REP_COUNT = 65536;

const STRING_MNEMONICS: ReadonlySet<string> = new Set(['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs']);

/** A string instruction with a REP, REPE or REPNE prefix (its count is ECX). */
export function isRepString(i: Instruction): boolean {
  return i.rep !== null && STRING_MNEMONICS.has(i.mnemonic);
}

function decoded(bytes: number[], text: string): Instruction {
  const r = decode(bytes);
  if (r.kind !== 'ok') throw new Error(`${text} does not decode`);
  return r.instruction;
}
// Both bound ECX without touching EFLAGS: to 0xff, and to 0xffff.
const BOUND_TO_BYTE = decoded([0x0f, 0xb6, 0xc9], 'movzx ecx, cl');
const BOUND_TO_WORD = decoded([0x0f, 0xb7, 0xc9], 'movzx ecx, cx');

/** [DIFF.REP.1] Put `movzx ecx, cl` before every REP string instruction of a
 * stream, or `movzx ecx, cx` when its drawn number (0 to 7) is 0, since an
 * earlier instruction (SUB ECX, POP ECX, …) may have made ECX large; the
 * count the REP runs is then at most 0xff, or 0xffff ≤ MAX_REP_COUNT. */
export function boundRepCounts(drawn: readonly (readonly [Instruction, number])[]): Instruction[] {
  return drawn.flatMap(([i, n]) => (isRepString(i) ? [n === 0 ? BOUND_TO_WORD : BOUND_TO_BYTE, i] : [i]));
}

const registerValue = gen.oneof(
  edgeBiased(32),
  gen.integer({ min: 0, max: 0xffff }).map((o) => (DATA + o) >>> 0),
  gen.integer({ min: 0, max: 0x3f }),
);

// Arithmetic flags, DF, and sometimes IF and IOPL.
const drawnEflags = gen.tuple(gen.integer({ min: 0, max: 0xfff }), gen.boolean(), gen.integer({ min: 0, max: 3 }))
  .map(([low, intr, iopl]) => ((low & 0xcd5) | 2 | (intr ? 0x200 : 0) | (iopl << 12)) >>> 0);

/** A random case, described once (properties/gen.ts): `diffCase.arbitrary`
 * for fast-check (arbDiffCase), `diffCase.draw` for a campaign. */
export const diffCase: gen.Gen<DiffCase> = gen.record({
  cpl: gen.constantFrom(0 as const, 1 as const, 3 as const),
  paging: gen.boolean(),
  dataPageFlags: gen.array(gen.constantFrom(PTE.P | PTE.W | PTE.U, PTE.P | PTE.U, PTE.P | PTE.W, PTE.P, 0), { minLength: 16, maxLength: 16 }),
  eflags: drawnEflags,
  // ECX stays small so that a REP cannot run for billions of elements.
  regs: gen.tuple(registerValue, gen.integer({ min: 0, max: 40 }), gen.array(registerValue, { minLength: 6, maxLength: 6 }))
    .map(([eax, ecx, rest]) => [eax, ecx, ...rest]),
  // [DIFF.CASE.1] Up to the step budget, over the whole range ('max': fast-check's
  // default size would stop near ten); each instruction with a number that
  // chooses its REP bound (DIFF.REP.1).
  program: gen.array(gen.tuple(programInstruction, gen.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: STEPS_PER_CASE, size: 'max' }).map(boundRepCounts),
  // The descriptor tables (GDT entries, an LDT, IDT gates) of the case.
  tables: gen.record({
    gdt: gen.array(anyGdtEntry, { minLength: EXTRA_DESCRIPTORS, maxLength: EXTRA_DESCRIPTORS }),
    ldt: gen.array(anyLdtEntry, { minLength: LDT_ENTRIES, maxLength: LDT_ENTRIES }),
    ldtLoaded: gen.boolean(),
    idt: idtOverrides,
    selectors: gen.array(gen.tuple(gen.constantFrom(0, 2, 3, 5, 6, 7), tableSelector), { minLength: 1, maxLength: 4 }),
    stack: gen.array(gen.oneof(tableSelector, gen.constantFrom(SEL.code0, SEL.code1, SEL.code3, SEL.data0, SEL.data1, SEL.data3),
      gen.constantFrom(LAYOUT.code, HANDLER, 0x202, 0x3202, 0x2), edgeBiased(32)), { minLength: 6, maxLength: 6 }),
  }),
  // Drawn last: one case in eight starts single-stepping.
  trap: gen.integer({ min: 0, max: 7 }).map((n) => n === 0),
});

export const arbDiffCase: fc.Arbitrary<DiffCase> = diffCase.arbitrary;

/** Encodings of the instructions drawn lately. A Map emptied when full, not
 * a WeakMap: a campaign draws millions of instructions and asks for each
 * within its own case, and a WeakMap's set cost more than the encoding's
 * lookups saved (2% of a campaign). */
const encodings = new Map<Instruction, Uint8Array | null>();
const ENCODINGS_KEPT = 4096;

/** An instruction's bytes (null if the encoder refuses it), encoded once:
 * a drawn instruction is encoded when drawn (to keep only encodable ones),
 * when its case is built, and for the stream's length. */
export function encoded(i: Instruction): Uint8Array | null {
  let bytes = encodings.get(i);
  if (bytes === undefined) {
    if (encodings.size >= ENCODINGS_KEPT) encodings.clear();
    const r = encodeResult(i);
    bytes = r.kind === 'ok' ? r.bytes : null;
    encodings.set(i, bytes);
  }
  return bytes;
}

/** A stream's bytes: its instructions one after the other, those the encoder refuses left out. */
export function streamBytes(program: readonly Instruction[]): Uint8Array {
  const parts = program.map(encoded);
  const out = new Uint8Array(parts.reduce((n, b) => n + (b?.length ?? 0), 0));
  let at = 0;
  for (const b of parts) if (b !== null) { out.set(b, at); at += b.length; }
  return out;
}

/** The default IDT: every exception vector leads to the ring-0 HLT (#BP and #OF reachable from ring 3). */
const EXCEPTION_GATES: Readonly<Record<number, readonly [number, number]>> = Object.fromEntries(Array.from({ length: 32 },
  (_, v) => [v, gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xe, dpl: v === 3 || v === 4 ? 3 : 0 })]));

/** The writes that identity-map the low 1 MiB, user-writable (the same in every case with paging). */
const LOW_MEGABYTE_MAPPED = identityMappingWrites(CR3, 0, 0x100000, PTE.P | PTE.W | PTE.U);

/** What every case of a CPL and paging shares, built once: the system
 * state with the default IDT and no random GDT entries, the handler's HLT,
 * and with paging the identity map of the low 1 MiB (CR0.PG, CR3).
 * Memory is persistent (model/cpu/memory.ts), so a case writes over a base
 * without changing it. */
const bases = new Map<string, MachineState>();

function baseState(cpl: DiffCase['cpl'], paging: boolean): MachineState {
  const key = `${cpl} ${paging}`;
  let s = bases.get(key);
  if (s === undefined) {
    s = systemState({ memorySize: DIFF_MEMORY, cpl, gates: EXCEPTION_GATES });
    s = writeCode(s, HANDLER, [0xf4]); // hlt
    // Identity map the low 1 MiB (system pages user-writable so every ring can run).
    if (paging) s = withPagingWrites(s, CR3, LOW_MEGABYTE_MAPPED);
    bases.set(key, s);
  }
  return s;
}

const LDT_DESCRIPTOR = segmentDescriptor({ base: LDT_BASE, limit: LDT_ENTRIES * 8 - 1, g: false, big: false, type: 0x2, system: true });

/** The model state a case describes (also the source of impl's state and
 * memory): its base (baseState), then, in one batch of writes, the random
 * GDT entries and the LDT's descriptor after the fixed ones, the IDT
 * overrides (a later one for a vector wins), the LDT, the dwords at the
 * initial ESP and, with paging, the data pages' entries with the case's
 * flags; then the stream at LAYOUT.code, the registers and EFLAGS. */
export function caseState(c: DiffCase): MachineState {
  const base = baseState(c.cpl, c.paging);
  const regs = c.regs.slice();
  for (const [register, selector] of c.tables.selectors) regs[register] = selector;
  regs[4] = base.regs[4]!; // keep the ring's stack
  // (One list, pushed to: a case makes a hundred of these writes.)
  const writes: DwordWrite[] = [];
  const descriptor = (table: number, index: number, d: Descriptor): void => { writes.push([table + 8 * index, d[0]], [table + 8 * index + 4, d[1]]); };
  c.tables.gdt.forEach((d, i) => descriptor(LAYOUT.gdt, SEL.firstFree + i, d));
  descriptor(LAYOUT.gdt, SEL.firstFree + c.tables.gdt.length, LDT_DESCRIPTOR);
  for (const { vector, gate } of c.tables.idt) descriptor(LAYOUT.idt, vector, gate);
  c.tables.ldt.forEach((d, i) => descriptor(LDT_BASE, i, d));
  c.tables.stack.forEach((value, i) => writes.push([regs[4]! + 4 * i, value]));
  if (c.paging) c.dataPageFlags.forEach((flags, k) => writes.push(...identityMappingWrites(CR3, DATA + k * 0x1000, DATA + (k + 1) * 0x1000, flags)));
  let s = writeDwords(base, writes);
  s = writeCode(s, LAYOUT.code, streamBytes(c.program));
  if (c.tables.ldtLoaded) s = { ...s, ldtr: cacheFor(s, LDT_SELECTOR) };
  return { ...s, regs, eflags: c.trap === true ? (c.eflags | TF) >>> 0 : c.eflags };
}
