// What a case template produces, and the pieces templates share: register
// names by size, EFLAGS bits, the fixed addresses of the case layout.
import { edgeBiased, registerValue, type Rng } from './random';

/** A source line. Most lines are the same text in both assemblies; a few
 * (MOV to or from a control register) need a 64-bit spelling for the run on
 * the host, given as a pair. A line ending in ':' is a local label. */
export type Line = string | { readonly b32: string; readonly b64: string };

export type GeneralRegName = 'eax' | 'ecx' | 'edx' | 'ebx' | 'esp' | 'ebp' | 'esi' | 'edi';
export const GENERAL_REGS: readonly GeneralRegName[] = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

export interface Region { readonly addr: number; readonly bytes: Uint8Array }

export interface CaseSource {
  /** Short description, used in the case name. */
  readonly title: string;
  readonly lines: readonly Line[];
  /** Registers not given here get edge-biased values. */
  readonly regs: Partial<Record<GeneralRegName, number>>;
  /** Initial EFLAGS (IF and bit 1 are added). */
  readonly eflags: number;
  readonly mem: readonly Region[];
  /** EFLAGS bits the manual leaves undefined after this sequence. */
  readonly undefinedFlags: number;
}

export interface Family {
  readonly name: string;
  readonly generate: (rng: Rng) => CaseSource;
}

// Addresses of the case layout. All below 0x80000000 so the 64-bit run can
// use them as sign-extended displacements; none near the top of the space.
export const CODE_ADDR = 0x10000000;
export const DATA_ADDR = 0x20000000; // a 64-byte data region
export const SRC_ADDR = 0x20001000; // string source region
export const DST_ADDR = 0x20002000; // string destination region
export const UNMAPPED_ADDR = 0x30000000; // never mapped: touching it is #PF

export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
export const STATUS_FLAGS = CF | PF | AF | ZF | SF | OF;

export type Size = 8 | 16 | 32;
export const SIZES: readonly Size[] = [8, 16, 32];

const REG_NAMES: Record<Size, readonly string[]> = {
  8: ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'],
  16: ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'],
  32: GENERAL_REGS,
};

/** The name of register number `index` (encoding order) at a size. */
export function regName(size: Size, index: number): string {
  return REG_NAMES[size][index]!;
}

export function sizeKeyword(size: Size): string {
  return size === 8 ? 'byte' : size === 16 ? 'word' : 'dword';
}

/** Random status flags (and sometimes DF): the starting EFLAGS of a case. */
export function randomFlags(rng: Rng): number {
  const pick = rng.chance(0.2) ? 0 : rng.chance(0.2) ? STATUS_FLAGS : rng.u32() & STATUS_FLAGS;
  return pick | (rng.chance(0.2) ? DF : 0);
}

/** Random bytes, edge-biased as dwords. */
export function randomBytes(rng: Rng, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i + 4 <= length; i += 4) view.setUint32(i, edgeBiased(rng, 32), true);
  return bytes;
}

/** The data region with random contents. */
export function dataRegion(rng: Rng): Region {
  return { addr: DATA_ADDR, bytes: randomBytes(rng, 64) };
}

/** Register number i's starting value for an operand of `size`. */
export function valueFor(rng: Rng, size: Size): number {
  return registerValue(rng, size);
}

/** Put an 8-bit value into register `index` (ah..bh are bits 8..15 of eax..ebx). */
export function setRegister(regs: Partial<Record<GeneralRegName, number>>, size: Size, index: number, value: number): void {
  if (size === 8 && index >= 4) {
    const full = GENERAL_REGS[index - 4]!;
    const old = regs[full] ?? 0;
    regs[full] = ((old & ~0xff00) | ((value & 0xff) << 8)) >>> 0;
    return;
  }
  const full = GENERAL_REGS[index]!;
  const mask = size === 32 ? 0xffffffff : (1 << size) - 1;
  const old = regs[full] ?? 0;
  regs[full] = ((old & ~mask) | (value & mask)) >>> 0;
}

/** A register index usable as a general operand (not ESP, so the run never
 * needs a meaningful stack pointer, and the two operands may coincide). */
export function operandRegister(rng: Rng): number {
  return rng.pick([0, 1, 2, 3, 5, 6, 7]);
}

export function hexImm(value: number): string {
  return `0x${(value >>> 0).toString(16)}`;
}
