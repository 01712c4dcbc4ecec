// The machine a case file describes (../shared/formats/cpu-case.md), built
// from plain bytes and a CommonState, so it runs on any Machine.
//
// Layout (our choice; the format only fixes what the case can see):
// - The system structures live in physical pages 0x1000..0xFFFF and are
//   mapped, supervisor-only, at linear SYSTEM_BASE + the same offset. User
//   code at CPL 3 cannot touch them (a user access there would be #PF with
//   P=1, but no template goes near 0xC0000000).
// - Each page the case uses (code pages, mem pages) gets its own physical
//   frame from 0x10000 up, in the order met; the case's linear addresses are
//   not identity-mapped, so any address works within a small memory.
// - Every other linear page is not present.
import type { CommonState, SegmentRegister } from '../../model/machine';
import { hexToBytes, type CpuCase } from './codec';

export const SYSTEM_BASE = 0xc0000000;
const PAGE = 0x1000;

// Physical offsets of the system pages (linear = SYSTEM_BASE + offset).
const GDT = 0x1000;
const IDT = 0x2000;
const TSS = 0x3000;
const PAGE_DIRECTORY = 0x4000;
const SYSTEM_PAGE_TABLE = 0x5000;
const CASE_PAGE_TABLES = 0x6000; // 0x6000..0x7fff: up to two 4 MiB regions of case pages
const RING0_STACK_TOP = 0x9000; // the stack page is 0x8000..0x8fff
const HANDLER = 0x9000; // the ring-0 handlers' page: vector v enters at HANDLER + v
const FIRST_CASE_FRAME = 0x10000;
const SYSTEM_END = 0x10000;

export const KERNEL_CODE = 0x08, KERNEL_DATA = 0x10, USER_CODE = 0x1b, USER_DATA = 0x23, TSS_SELECTOR = 0x28;
/** Vector v's handler is at HANDLER_BASE + v, so where the machine lands
 * tells which gate it went through. */
export const HANDLER_BASE = SYSTEM_BASE + HANDLER;
export const RING0_ESP = SYSTEM_BASE + RING0_STACK_TOP;

// Descriptor access bytes (P, DPL, S, type) and flags (G, D/B).
const ACCESS_KERNEL_CODE = 0x9b, ACCESS_KERNEL_DATA = 0x93, ACCESS_USER_CODE = 0xfb, ACCESS_USER_DATA = 0xf3;
const ACCESS_BUSY_TSS = 0x8b;
const FLAGS_4K_32BIT = 0xc;
const GATE_INTERRUPT_32 = 0x0e;

// Page-table entry bits.
const PRESENT = 0x1, WRITABLE = 0x2, USER = 0x4;

const CR0_PE = 0x1, CR0_ET = 0x10, CR0_WP = 0x10000, CR0_PG = 0x80000000;

/** A segment descriptor as its two dwords. */
function descriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const low = ((limit & 0xffff) | ((base & 0xffff) << 16)) >>> 0;
  const high = (((base >>> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000)) >>> 0;
  return [low, high];
}

/** The hidden part of a segment register loaded from a descriptor. */
function cache(selector: number, [, high]: [number, number], limit: number, base: number): SegmentRegister {
  return { selector, base, limit, attributes: (high >>> 8) & 0xf0ff, valid: true };
}

export interface CaseMachineImage {
  readonly state: CommonState;
  /** Physical writes that build the machine (whole pages, so a reused
   * machine forgets the previous case). */
  readonly writes: readonly { readonly address: number; readonly bytes: Uint8Array }[];
  /** Linear page → physical frame, for the case's pages. */
  readonly frames: ReadonlyMap<number, number>;
  /** Bytes of physical memory the image needs. */
  readonly memoryNeeded: number;
}

/** Translate a linear address of the case's pages or the system area. */
export function physicalOf(image: CaseMachineImage, linear: number): number | undefined {
  const page = (linear & ~(PAGE - 1)) >>> 0;
  const offset = linear & (PAGE - 1);
  if (linear >= SYSTEM_BASE && linear < SYSTEM_BASE + SYSTEM_END) return linear - SYSTEM_BASE;
  const frame = image.frames.get(page);
  return frame === undefined ? undefined : frame + offset;
}

function pagesOf(addr: number, length: number): number[] {
  const pages: number[] = [];
  if (length === 0) return pages;
  const last = ((addr + length - 1) & ~(PAGE - 1)) >>> 0;
  for (let p = (addr & ~(PAGE - 1)) >>> 0; ; p = (p + PAGE) >>> 0) {
    pages.push(p);
    if (p === last) break;
  }
  return pages;
}

/** Build the machine for one case. Throws only on a case this layout cannot
 * hold (pages in more than two 4 MiB regions, or in the system area). */
export function buildCaseMachine(c: CpuCase): CaseMachineImage {
  const code = hexToBytes(c.code);
  const system = new Uint8Array(SYSTEM_END);
  const view = new DataView(system.buffer);
  const put32 = (offset: number, value: number): void => view.setUint32(offset, value >>> 0, true);

  // GDT: null, ring-0 code and data, ring-3 code and data (flat 4 GiB), TSS.
  const flat = 0xfffff;
  const kernelCode = descriptor(0, flat, ACCESS_KERNEL_CODE, FLAGS_4K_32BIT);
  const kernelData = descriptor(0, flat, ACCESS_KERNEL_DATA, FLAGS_4K_32BIT);
  const userCode = descriptor(0, flat, ACCESS_USER_CODE, FLAGS_4K_32BIT);
  const userData = descriptor(0, flat, ACCESS_USER_DATA, FLAGS_4K_32BIT);
  const tss = descriptor(SYSTEM_BASE + TSS, 0x67, ACCESS_BUSY_TSS, 0);
  [[0, 0], kernelCode, kernelData, userCode, userData, tss].forEach(([low, high], i) => {
    put32(GDT + 8 * i, low!);
    put32(GDT + 8 * i + 4, high!);
  });

  // IDT: every vector an interrupt gate to its own ring-0 handler; DPL 3
  // for #BP and #OF so INT3 and INTO work from CPL 3, DPL 0 for the rest.
  for (let vector = 0; vector < 256; vector++) {
    const dpl = vector === 3 || vector === 4 ? 3 : 0;
    const access = 0x80 | (dpl << 5) | GATE_INTERRUPT_32;
    const handler = HANDLER_BASE + vector;
    put32(IDT + 8 * vector, ((handler & 0xffff) | (KERNEL_CODE << 16)) >>> 0);
    put32(IDT + 8 * vector + 4, ((handler & 0xffff0000) | (access << 8)) >>> 0);
  }

  // TSS: the ring-0 stack, and an I/O bitmap offset past the limit (no
  // bitmap: every port access at CPL 3 with IOPL 0 is #GP).
  put32(TSS + 4, RING0_ESP);
  put32(TSS + 8, KERNEL_DATA);
  view.setUint16(TSS + 0x66, 0x68, true);

  // The handlers: HLT each (never run: the checker stops at delivery).
  system.fill(0xf4, HANDLER, HANDLER + 256);

  // Paging: the system area, supervisor read/write.
  const directoryIndex = (linear: number): number => linear >>> 22;
  const tableIndex = (linear: number): number => (linear >>> 12) & 0x3ff;
  put32(PAGE_DIRECTORY + 4 * directoryIndex(SYSTEM_BASE), SYSTEM_PAGE_TABLE | WRITABLE | PRESENT);
  for (let offset = 0; offset < SYSTEM_END; offset += PAGE) {
    put32(SYSTEM_PAGE_TABLE + 4 * tableIndex(SYSTEM_BASE + offset), offset | WRITABLE | PRESENT);
  }

  // The case's pages: code user read-only, mem user read/write.
  const frames = new Map<number, number>();
  const writable = new Set<number>();
  for (const p of pagesOf(c.codeAddr, code.length)) frames.set(p, 0);
  for (const m of c.init.mem) for (const p of pagesOf(m.addr, m.hex.length / 2)) { frames.set(p, 0); writable.add(p); }
  let nextFrame = FIRST_CASE_FRAME;
  const tables = new Map<number, number>();
  for (const page of frames.keys()) {
    if (page >= SYSTEM_BASE && page < SYSTEM_BASE + 0x400000) throw new Error(`case page 0x${page.toString(16)} lies in the checker's system area`);
    frames.set(page, nextFrame);
    let table = tables.get(directoryIndex(page));
    if (table === undefined) {
      if (tables.size === 2) throw new Error('case pages span more than two 4 MiB regions');
      table = CASE_PAGE_TABLES + PAGE * tables.size;
      tables.set(directoryIndex(page), table);
      put32(PAGE_DIRECTORY + 4 * directoryIndex(page), table | USER | WRITABLE | PRESENT);
    }
    put32(table + 4 * tableIndex(page), nextFrame | USER | (writable.has(page) ? WRITABLE : 0) | PRESENT);
    nextFrame += PAGE;
  }

  // Contents of the case pages: zero, then code and mem regions.
  const casePages = new Uint8Array(nextFrame - FIRST_CASE_FRAME);
  const place = (linear: number, bytes: Uint8Array): void => {
    bytes.forEach((b, i) => {
      const at = (linear + i) >>> 0;
      casePages[frames.get((at & ~(PAGE - 1)) >>> 0)! - FIRST_CASE_FRAME + (at & (PAGE - 1))] = b;
    });
  };
  place(c.codeAddr, code);
  for (const m of c.init.mem) place(m.addr, hexToBytes(m.hex));

  const r = c.init.regs;
  const userDataCache = cache(USER_DATA, userData, 0xffffffff, 0);
  const state: CommonState = {
    regs: { eax: r.eax, ecx: r.ecx, edx: r.edx, ebx: r.ebx, esp: r.esp, ebp: r.ebp, esi: r.esi, edi: r.edi },
    eip: r.eip,
    eflags: r.eflags,
    segments: {
      es: userDataCache, cs: cache(USER_CODE, userCode, 0xffffffff, 0), ss: userDataCache,
      ds: userDataCache, fs: userDataCache, gs: userDataCache,
    },
    cr0: (CR0_PG | CR0_WP | CR0_ET | CR0_PE) >>> 0,
    cr2: 0,
    cr3: PAGE_DIRECTORY,
    cr4: 0,
    gdtr: { base: SYSTEM_BASE + GDT, limit: 6 * 8 - 1 },
    idtr: { base: SYSTEM_BASE + IDT, limit: 256 * 8 - 1 },
    ldtr: { selector: 0, base: 0, limit: 0, attributes: 0, valid: false },
    tr: cache(TSS_SELECTOR, tss, 0x67, SYSTEM_BASE + TSS),
    halted: false,
    instructionCount: 0,
  };
  return {
    state,
    writes: [{ address: 0, bytes: system }, { address: FIRST_CASE_FRAME, bytes: casePages }],
    frames,
    memoryNeeded: nextFrame,
  };
}
