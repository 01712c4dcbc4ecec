// Small paged guests for the memory modes: each one builds two address
// spaces over shared and private page tables, then runs a random sequence
// of page-table writes (each followed by the flush the architecture asks
// for: INVLPG or a CR3 reload), address-space switches, reads (printed on
// the console) and writes. One image runs natively (ring 0, bare machine)
// and as a guest in any memory mode, so its console transcript can be
// compared (VMM.EQ per mode).
import fc from 'fast-check';
import type { Instruction, Operand } from '../../model/isa/ast';
import { encodeResult } from '../../model/isa/encoder';

const LOAD = 0x100000;
const ENTRY = LOAD + 0x40;
/** Two page directories; both map 0..4 MiB through the shared identity table. */
export const DIRECTORIES = [0x110000, 0x111000] as const;
const IDENTITY_TABLE = 0x112000;
/** The table of 4..8 MiB in each directory. */
export const DATA_TABLES = [0x113000, 0x114000] as const;
/** Frames the data pages may map; byte 0 of frame j is 'A' + j. */
export const FRAMES = [0x120000, 0x121000, 0x122000, 0x123000, 0x124000, 0x125000] as const;
const END = 0x126000;
const DATA = 0x400000;
export const PAGES = 4;

export type PagedOp =
  | { readonly kind: 'map'; readonly table: 0 | 1; readonly page: number; readonly frame: number; readonly flush: 'invlpg' | 'cr3' }
  | { readonly kind: 'switch'; readonly directory: 0 | 1 }
  | { readonly kind: 'read'; readonly page: number }
  | { readonly kind: 'write'; readonly page: number; readonly value: number };

const page = fc.integer({ min: 0, max: PAGES - 1 });
export const pagedOp: fc.Arbitrary<PagedOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('map' as const), table: fc.constantFrom(0 as const, 1 as const), page, frame: fc.integer({ min: 0, max: FRAMES.length - 1 }), flush: fc.constantFrom('invlpg' as const, 'cr3' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('switch' as const), directory: fc.constantFrom(0 as const, 1 as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), page }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('write' as const), page, value: fc.integer({ min: 0x61, max: 0x7a }) }) },
);
export const pagedProgram = fc.array(pagedOp, { minLength: 1, maxLength: 30 });

const reg = (size: 8 | 16 | 32, r: number): Operand => ({ kind: 'reg', size, reg: r });
const imm = (size: 8 | 16 | 32, value: number): Operand => ({ kind: 'imm', size, value: value >>> 0 });
const abs = (size: 0 | 8 | 32, disp: number): Operand => ({ kind: 'mem', size, base: null, index: null, scale: 1, disp: disp >>> 0 });
const insn = (mnemonic: string, ...operands: Operand[]): Instruction => ({ mnemonic, operands, operandSize: 32, segment: null, rep: null, lock: false });
const cr = (n: 0 | 3): Operand => ({ kind: 'creg', reg: n });

function code(ops: readonly PagedOp[]): Instruction[] {
  const out: Instruction[] = [
    insn('mov', reg(32, 0), imm(32, DIRECTORIES[0])), insn('mov', cr(3), reg(32, 0)),
    insn('mov', reg(32, 0), cr(0)), insn('or', reg(32, 0), imm(32, 0x80000000)), insn('mov', cr(0), reg(32, 0)),
  ];
  // Fill both address spaces first (every page read once in each), so that
  // a later stale entry is visible; then the random operations.
  const warm: PagedOp[] = [0, 1, 2, 3].map((page) => ({ kind: 'read', page }) as const);
  const all: PagedOp[] = [...warm, { kind: 'switch', directory: 1 }, ...warm, { kind: 'switch', directory: 0 }, ...ops];
  for (const op of all) {
    switch (op.kind) {
      case 'map':
        out.push(insn('mov', abs(32, DATA_TABLES[op.table] + 4 * op.page), imm(32, FRAMES[op.frame]! | 3)));
        if (op.flush === 'invlpg') out.push(insn('invlpg', abs(0, DATA + 0x1000 * op.page)));
        else out.push(insn('mov', reg(32, 0), cr(3)), insn('mov', cr(3), reg(32, 0)));
        break;
      case 'switch': out.push(insn('mov', reg(32, 0), imm(32, DIRECTORIES[op.directory])), insn('mov', cr(3), reg(32, 0))); break;
      case 'read': out.push(insn('mov', reg(8, 0), abs(8, DATA + 0x1000 * op.page)), insn('out', imm(8, 0xe9), reg(8, 0))); break;
      case 'write': out.push(insn('mov', abs(8, DATA + 0x1000 * op.page), imm(8, op.value))); break;
    }
  }
  out.push(insn('mov', reg(8, 0), imm(8, 0)), insn('out', imm(8, 0xf4), reg(8, 0)));
  return out;
}

/** The flat Multiboot image (a.out kludge) of a paged guest. */
export function pagedImage(ops: readonly PagedOp[]): Uint8Array {
  const image = new Uint8Array(END - LOAD);
  const view = new DataView(image.buffer);
  const put32 = (address: number, v: number) => view.setUint32(address - LOAD, v >>> 0, true);
  const flags = 0x00010000;
  [0x1badb002, flags, -(0x1badb002 + flags), LOAD, LOAD, END, 0, ENTRY].forEach((v, i) => put32(LOAD + 4 * i, v));
  let at = ENTRY;
  for (const i of code(ops)) {
    const e = encodeResult(i);
    if (e.kind !== 'ok') throw new Error(`cannot encode ${i.mnemonic}: ${e.message}`);
    image.set(e.bytes, at - LOAD);
    at += e.bytes.length;
  }
  if (at > DIRECTORIES[0]) throw new Error('paged guest code too long');
  for (let i = 0; i < 1024; i++) put32(IDENTITY_TABLE + 4 * i, (i << 12) | 3);
  DIRECTORIES.forEach((d, k) => { put32(d, IDENTITY_TABLE | 3); put32(d + 4, DATA_TABLES[k]! | 3); });
  for (let i = 0; i < PAGES; i++) {
    put32(DATA_TABLES[0] + 4 * i, FRAMES[i]! | 3);
    put32(DATA_TABLES[1] + 4 * i, FRAMES[PAGES - 1 - i]! | 3);
  }
  FRAMES.forEach((f, j) => { image[f - LOAD] = 0x41 + j; });
  return image;
}
