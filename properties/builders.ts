// Builders for system-level machine states: descriptors, gates, GDT/IDT/TSS
// and page tables written into the model's physical memory. Used by the
// model's unit tests, and meant for the differential properties and the VMM
// tests too. Encodings follow the Intel manual, vol. 3A §3.4.5 (segment
// descriptors), §5.8.3 (call gates), §6.11 (IDT gates), §7.2.1 (TSS),
// §4.3 (32-bit paging entries).
import type { MachineState, SegmentRegister } from '../model/cpu/state';
import { initialState } from '../model/cpu/state';
import { readBytes, readPhysical, writeBytes, writePhysical } from '../model/cpu/memory';
import { parseDescriptor, loadedCache } from '../model/cpu/descriptors';

/** A descriptor as its two dwords. */
export type Descriptor = readonly [low: number, high: number];

export interface SegmentFields {
  readonly base?: number;
  /** Raw 20-bit limit (in 4 KiB units when g is set). */
  readonly limit?: number;
  /** 4-bit type. Data: bit 1 writable, bit 2 expand-down. Code: bit 3 set,
   * bit 1 readable, bit 2 conforming. Bit 0 accessed. */
  readonly type: number;
  readonly system?: boolean;
  readonly dpl?: number;
  readonly present?: boolean;
  /** D/B bit (default set: 32-bit). */
  readonly big?: boolean;
  readonly g?: boolean;
}

export function segmentDescriptor(f: SegmentFields): Descriptor {
  const base = f.base ?? 0;
  const limit = f.limit ?? 0xfffff;
  const low = ((base & 0xffff) << 16) | (limit & 0xffff);
  const high = (base & 0xff000000) | (((base >>> 16) & 0xff)) | (limit & 0xf0000)
    | ((f.type & 0xf) << 8) | (f.system ? 0 : 1 << 12) | (((f.dpl ?? 0) & 3) << 13)
    | ((f.present ?? true) ? 1 << 15 : 0) | ((f.big ?? true) ? 1 << 22 : 0) | ((f.g ?? (f.limit === undefined)) ? 1 << 23 : 0);
  return [low >>> 0, high >>> 0];
}

/** Flat 4 GiB code (execute/read) and data (read/write) descriptors. */
export const flatCode = (dpl: number, conforming = false): Descriptor => segmentDescriptor({ type: conforming ? 0xe : 0xa, dpl });
export const flatData = (dpl: number): Descriptor => segmentDescriptor({ type: 0x2, dpl });

export interface GateFields {
  readonly selector: number;
  readonly offset: number;
  /** 0xC call gate, 0xE interrupt gate, 0xF trap gate, 0x5 task gate. */
  readonly type: number;
  readonly dpl?: number;
  readonly present?: boolean;
  readonly parameterCount?: number;
}

export function gateDescriptor(g: GateFields): Descriptor {
  const low = ((g.selector & 0xffff) << 16) | (g.offset & 0xffff);
  const high = (g.offset & 0xffff0000) | ((g.present ?? true) ? 1 << 15 : 0) | (((g.dpl ?? 0) & 3) << 13)
    | ((g.type & 0xf) << 8) | ((g.parameterCount ?? 0) & 0x1f);
  return [low >>> 0, high >>> 0];
}

export function writeDword(state: MachineState, address: number, value: number): MachineState {
  return { ...state, memory: writePhysical(state.memory, address, 4, value) };
}
export function readDword(state: MachineState, address: number): number {
  return readPhysical(state.memory, address, 4);
}
export function writeCode(state: MachineState, address: number, bytes: ArrayLike<number>): MachineState {
  return { ...state, memory: writeBytes(state.memory, address, bytes) };
}

/** Write descriptor `index` of the table at `base`. */
export function writeDescriptor(state: MachineState, tableBase: number, index: number, d: Descriptor): MachineState {
  return writeDword(writeDword(state, tableBase + index * 8, d[0]), tableBase + index * 8 + 4, d[1]);
}

/** The standard test layout. Selectors: */
export const SEL = {
  code0: 0x08, data0: 0x10, code1: 0x19, data1: 0x21, code3: 0x2b, data3: 0x33, tss: 0x38,
  /** First free GDT index for a test's own descriptors (selector 0x40). */
  firstFree: 8,
} as const;

export const LAYOUT = {
  gdt: 0x1000, gdtEntries: 32,
  idt: 0x2000,
  tss: 0x3000,
  /** Ring stacks (top addresses) in the TSS. */
  stack0: 0x9000, stack1: 0x8000, stack3: 0x7000,
  code: 0x10000,
} as const;

/** A segment register cache for the descriptor of `selector` in the state's GDT. */
export function cacheFor(state: MachineState, selector: number): SegmentRegister {
  const at = state.gdtr.base + (selector & 0xfff8);
  return loadedCache(selector, parseDescriptor(readDword(state, at), readDword(state, at + 4)));
}

export interface SystemOptions {
  readonly memorySize?: number;
  /** CPL to start at (0, 1 or 3): CS, SS, DS, ES, FS, GS are that ring's. */
  readonly cpl?: 0 | 1 | 3;
  /** Extra GDT entries from index SEL.firstFree. */
  readonly extraDescriptors?: readonly Descriptor[];
  /** IDT gates by vector; the IDT has 256 entries (absent ones not present). */
  readonly gates?: Readonly<Record<number, Descriptor>>;
  readonly eflags?: number;
  /** I/O permission bitmap offset in the TSS (default: beyond the limit, i.e. no bitmap). */
  readonly ioBitmap?: readonly number[];
}

/**
 * A protected-mode machine with a GDT (ring 0, 1 and 3 flat code and data,
 * a 32-bit TSS), an IDT and a loaded TSS whose ring stacks are
 * LAYOUT.stack0/1 with SS data0/data1. EIP = LAYOUT.code, ESP = the chosen
 * ring's stack. Paging off.
 */
export function systemState(options: SystemOptions = {}): MachineState {
  let s = initialState(options.memorySize ?? 16 * 1024 * 1024);
  const bitmapOffset = 104;
  const bitmap = options.ioBitmap ?? [];
  const tssLimit = options.ioBitmap === undefined ? 103 : bitmapOffset + bitmap.length - 1;
  const entries: Descriptor[] = [
    [0, 0], flatCode(0), flatData(0), flatCode(1), flatData(1), flatCode(3), flatData(3),
    segmentDescriptor({ base: LAYOUT.tss, limit: tssLimit, type: 0xb, system: true, big: false, g: false }),
    ...(options.extraDescriptors ?? []),
  ];
  const descriptorWrites = (base: number, index: number, d: Descriptor): DwordWrite[] => [[base + index * 8, d[0]], [base + index * 8 + 4, d[1]]];
  s = writeDwords(s, [
    ...entries.flatMap((d, i) => descriptorWrites(LAYOUT.gdt, i, d)),
    ...Object.entries(options.gates ?? {}).flatMap(([vector, d]) => descriptorWrites(LAYOUT.idt, Number(vector), d)),
    // TSS: ESP0/SS0 at 4/8, ESP1/SS1 at 12/16, I/O map base at 102.
    [LAYOUT.tss + 4, LAYOUT.stack0],
    [LAYOUT.tss + 8, SEL.data0],
    [LAYOUT.tss + 12, LAYOUT.stack1],
    [LAYOUT.tss + 16, SEL.data1],
    [LAYOUT.tss + 100, (options.ioBitmap === undefined ? 0xffff : bitmapOffset) << 16],
  ]);
  s = { ...s, memory: writeBytes(s.memory, LAYOUT.tss + bitmapOffset, bitmap) };
  s = { ...s, gdtr: { base: LAYOUT.gdt, limit: LAYOUT.gdtEntries * 8 - 1 }, idtr: { base: LAYOUT.idt, limit: 256 * 8 - 1 } };
  s = { ...s, tr: cacheFor(s, SEL.tss) };
  const level = options.cpl ?? 0;
  const code = level === 0 ? SEL.code0 : level === 1 ? SEL.code1 : SEL.code3;
  const data = level === 0 ? SEL.data0 : level === 1 ? SEL.data1 : SEL.data3;
  const stack = level === 0 ? LAYOUT.stack0 : level === 1 ? LAYOUT.stack1 : LAYOUT.stack3;
  const d = cacheFor(s, data);
  const regs = s.regs.slice();
  regs[4] = stack;
  return {
    ...s,
    regs,
    eip: LAYOUT.code,
    eflags: options.eflags ?? 0x2,
    segments: { cs: cacheFor(s, code), ss: d, ds: d, es: d, fs: d, gs: d },
  };
}

/** Page-table entry bits. */
export const PTE = { P: 1, W: 2, U: 4, A: 0x20, D: 0x40, PS: 0x80 } as const;

/**
 * Map one 4 KiB page in the two-level tables rooted at `cr3`. The page table
 * for directory index d is placed at cr3 + 0x1000 * (1 + d), so the tables
 * take up to 4 MiB + 4 KiB above cr3. `pdeFlags` default P|W|U.
 */
export function mapPage(state: MachineState, cr3: number, linear: number, physical: number, pteFlags: number, pdeFlags: number = PTE.P | PTE.W | PTE.U): MachineState {
  return writeDwords(state, mappingWrites(cr3, linear, physical, pteFlags, pdeFlags));
}

/** The PDE and PTE writes (in that order) that mapPage makes. */
function mappingWrites(cr3: number, linear: number, physical: number, pteFlags: number, pdeFlags: number): DwordWrite[] {
  const d = linear >>> 22;
  const table = cr3 + 0x1000 * (1 + d);
  return [
    [cr3 + d * 4, (table | pdeFlags) >>> 0],
    [table + ((linear >>> 12) & 0x3ff) * 4, ((physical & 0xfffff000) | pteFlags) >>> 0],
  ];
}

export type DwordWrite = readonly [address: number, value: number];

/** Aligned dword writes applied in order, each page touched copied once
 * (a page table of hundreds of entries costs one copy, not hundreds): only
 * the span of the page from its first written dword to its last is read,
 * changed and written back. (Plain loops: a case of the DIFF campaign makes
 * a thousand of these writes.) */
export function writeDwords(state: MachineState, writes: readonly DwordWrite[]): MachineState {
  const spans: Span[] = [];
  let span: Span | null = null;
  for (let i = 0; i < writes.length; i++) {
    const address = writes[i]![0];
    if ((address & 3) !== 0) throw new Error(`writeDwords: unaligned address 0x${address.toString(16)}`);
    const base = (address & ~0xfff) >>> 0, offset = address & 0xfff;
    if (span === null || span.base !== base) span = spanOf(spans, base);
    if (offset < span.low) span.low = offset;
    if (offset + 4 > span.high) span.high = offset + 4;
  }
  for (const page of spans) page.bytes = readBytes(state.memory, page.base + page.low, page.high - page.low);
  span = null;
  for (let i = 0; i < writes.length; i++) {
    const address = writes[i]![0], value = writes[i]![1];
    const base = (address & ~0xfff) >>> 0;
    if (span === null || span.base !== base) span = spanOf(spans, base);
    const at = (address & 0xfff) - span.low, bytes = span.bytes;
    bytes[at] = value; bytes[at + 1] = value >>> 8; bytes[at + 2] = value >>> 16; bytes[at + 3] = value >>> 24;
  }
  let memory = state.memory;
  for (const page of spans) memory = writeBytes(memory, page.base + page.low, page.bytes);
  return { ...state, memory };
}

/** The part [low, high) of the page at `base` that writeDwords writes, and its bytes. */
interface Span { readonly base: number; low: number; high: number; bytes: Uint8Array }

const NO_BYTES = new Uint8Array(0);

function spanOf(spans: Span[], base: number): Span {
  for (const span of spans) if (span.base === base) return span;
  const span = { base, low: 0x1000, high: 0, bytes: NO_BYTES };
  spans.push(span);
  return span;
}

/** Address of the PTE / PDE mapBuilder used for `linear`. */
export const pteAddress = (cr3: number, linear: number): number => cr3 + 0x1000 * (1 + (linear >>> 22)) + ((linear >>> 12) & 0x3ff) * 4;
export const pdeAddress = (cr3: number, linear: number): number => cr3 + (linear >>> 22) * 4;

/** The PDE and PTE writes that identity-map [from, to) with `flags`. */
export function identityMappingWrites(cr3: number, from: number, to: number, flags: number = PTE.P | PTE.W | PTE.U): DwordWrite[] {
  const writes: DwordWrite[] = [];
  for (let a = from & ~0xfff; a < to; a += 0x1000) writes.push(...mappingWrites(cr3, a, a, flags, PTE.P | PTE.W | PTE.U));
  return writes;
}

/** Apply mapping writes (identityMappingWrites, in order), then turn paging on (CR0.PG, CR3). */
export function withPagingWrites(state: MachineState, cr3: number, writes: readonly DwordWrite[]): MachineState {
  const s = writeDwords(state, writes);
  return { ...s, cr3, cr0: (s.cr0 | 0x80000001) >>> 0 };
}

/** Identity-map [from, to) with `flags`, then turn paging on (CR0.PG, CR3). */
export function withIdentityPaging(state: MachineState, cr3: number, from: number, to: number, flags: number = PTE.P | PTE.W | PTE.U): MachineState {
  return withPagingWrites(state, cr3, identityMappingWrites(cr3, from, to, flags));
}
