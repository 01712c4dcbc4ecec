// Segment and gate descriptors as the monitor sees them: decoding the eight
// bytes, the linear range a segment covers, and the checks a guest
// descriptor must pass before it is copied into the real GDT or LDT.
//
// Layout (Intel SDM vol. 3, 3.4.5 and 5.8.3): low dword = limit[15:0] |
// base[15:0] << 16; high dword = base[23:16] | type << 8 | S << 12 |
// DPL << 13 | P << 15 | limit[19:16] << 16 | AVL << 20 | D/B << 22 |
// G << 23 | base[31:24] << 24. A gate keeps its target offset in low[15:0]
// and high[31:16] and its target selector in low[31:16].
import type { SegmentRegister } from '../machine';

export interface RawDescriptor {
  readonly low: number;
  readonly high: number;
}

export const NULL_DESCRIPTOR: RawDescriptor = { low: 0, high: 0 };

export const field = {
  base: (d: RawDescriptor): number => ((d.low >>> 16) | ((d.high & 0xff) << 16) | (d.high & 0xff000000)) >>> 0,
  limitField: (d: RawDescriptor): number => ((d.low & 0xffff) | (d.high & 0x000f0000)) >>> 0,
  type: (d: RawDescriptor): number => (d.high >>> 8) & 0xf,
  /** S bit: 1 for code and data segments, 0 for system descriptors and gates. */
  codeOrData: (d: RawDescriptor): boolean => (d.high & 0x1000) !== 0,
  dpl: (d: RawDescriptor): number => (d.high >>> 13) & 3,
  present: (d: RawDescriptor): boolean => (d.high & 0x8000) !== 0,
  big: (d: RawDescriptor): boolean => (d.high & 0x400000) !== 0,
  granular: (d: RawDescriptor): boolean => (d.high & 0x800000) !== 0,
  isCode: (d: RawDescriptor): boolean => (d.high & 0x1800) === 0x1800,
  expandDown: (d: RawDescriptor): boolean => (d.high & 0x1c00) === 0x1400,
  gateSelector: (d: RawDescriptor): number => d.low >>> 16,
  gateOffset: (d: RawDescriptor): number => ((d.low & 0xffff) | (d.high & 0xffff0000)) >>> 0,
};

export const isNull = (d: RawDescriptor): boolean => d.low === 0 && d.high === 0;

/** The segment's limit in bytes, scaled by G. */
export function effectiveLimit(d: RawDescriptor): number {
  const raw = field.limitField(d);
  return field.granular(d) ? ((raw << 12) | 0xfff) >>> 0 : raw;
}

/** The descriptor with another 20-bit limit field. */
export function withLimitField(d: RawDescriptor, limitField: number): RawDescriptor {
  return {
    low: ((d.low & 0xffff0000) | (limitField & 0xffff)) >>> 0,
    high: ((d.high & 0xfff0ffff) | (limitField & 0x000f0000)) >>> 0,
  };
}

/** Build a code or data segment descriptor (tests, boot tables). */
export function segmentDescriptor(f: {
  base: number; limitField: number; type: number; dpl: number;
  present?: boolean; big?: boolean; granular?: boolean;
}): RawDescriptor {
  const present = f.present ?? true, big = f.big ?? true, granular = f.granular ?? true;
  return {
    low: (((f.base & 0xffff) << 16) | (f.limitField & 0xffff)) >>> 0,
    high: ((f.base & 0xff000000) | ((f.base >>> 16) & 0xff) | (f.type << 8) | 0x1000 | (f.dpl << 13)
      | (present ? 0x8000 : 0) | (f.limitField & 0xf0000) | (big ? 0x400000 : 0) | (granular ? 0x800000 : 0)) >>> 0,
  };
}

/** Build a system descriptor (TSS 0x9, LDT 0x2) with a byte-granular limit. */
export function systemDescriptor(f: { base: number; limit: number; type: number; dpl?: number }): RawDescriptor {
  return {
    low: (((f.base & 0xffff) << 16) | (f.limit & 0xffff)) >>> 0,
    high: ((f.base & 0xff000000) | ((f.base >>> 16) & 0xff) | (f.type << 8) | ((f.dpl ?? 0) << 13) | 0x8000 | (f.limit & 0xf0000)) >>> 0,
  };
}

/** Build a gate (call gate 0xC, interrupt gate 0xE, trap gate 0xF). */
export function gateDescriptor(f: { selector: number; offset: number; type: number; dpl: number; present?: boolean }): RawDescriptor {
  return {
    low: (((f.selector & 0xffff) << 16) | (f.offset & 0xffff)) >>> 0,
    high: ((f.offset & 0xffff0000) | ((f.present ?? true) ? 0x8000 : 0) | (f.dpl << 13) | (f.type << 8)) >>> 0,
  };
}

// ---------------------------------------------------------------- ranges

const TWO_32 = 2 ** 32;

/**
 * The linear addresses a code or data segment lets software reach, as
 * mathematical integers (last may be >= 2^32 when base + offset wraps), or
 * null when no offset is valid. Expand-up (and code): offsets 0..limit.
 * Expand-down: offsets limit+1..upper, upper = 0xFFFFFFFF with B set, else
 * 0xFFFF (SDM vol. 3, 5.3).
 */
export function linearRange(d: RawDescriptor): { first: number; last: number } | null {
  const base = field.base(d);
  const limit = effectiveLimit(d);
  if (!field.expandDown(d)) return { first: base, last: base + limit };
  const upper = field.big(d) ? 0xffffffff : 0xffff;
  if (limit >= upper) return null;
  return { first: base + limit + 1, last: base + upper };
}

/**
 * [VMM.SEG] The safety predicate: every linear address the segment can reach
 * lies below the VMM base. A range that wraps past 4 GiB is safe only when
 * all of it wrapped (it then starts again at 0).
 */
export function endsBelowBase(d: RawDescriptor, vmmBase: number): boolean {
  const range = linearRange(d);
  if (range === null) return true;
  if (range.first >= TWO_32) return range.last - TWO_32 < vmmBase;
  return range.last < vmmBase;
}

/**
 * [VMM.DESC.3] An expand-up data segment or a code segment that reaches the
 * VMM base has its limit lowered to the largest value (in its own
 * granularity) that ends below the base; if even the smallest segment at
 * that base would reach it, the descriptor is refused.
 *
 * [VMM.DESC.4] An expand-down segment grows the other way: its *lowest*
 * valid offset is limit + 1 and its top is fixed (0xFFFFFFFF or 0xFFFF), so
 * lowering the limit would widen it. Instead the limit is raised to the
 * smallest value that makes the range safe: either every valid offset wraps
 * past 4 GiB into [0, base) (limit >= 2^32 - base - 1, the same move Xen
 * makes), or, when the wrapped top still reaches the VMM base, the segment
 * is emptied (limit = top). When no 20-bit limit can do it (byte
 * granularity with a 32-bit top) the descriptor is refused.
 *
 * Returns the new 20-bit limit field, or null to refuse.
 */
export function fitBelowBase(d: RawDescriptor, vmmBase: number): number | null {
  if (endsBelowBase(d, vmmBase)) return field.limitField(d);
  const base = field.base(d);
  const granular = field.granular(d);
  if (!field.expandDown(d)) {
    if (base >= vmmBase) return null;
    const room = vmmBase - base; // bytes from base up to the VMM base
    const raw = granular ? Math.floor(room / 4096) - 1 : Math.min(room - 1, 0xfffff);
    if (raw < 0) return null;
    return Math.min(raw, field.limitField(d));
  }
  const upper = field.big(d) ? 0xffffffff : 0xffff;
  const wrapsSafely = base + upper >= TWO_32 && base + upper - TWO_32 < vmmBase;
  const need = Math.max(effectiveLimit(d), wrapsSafely ? TWO_32 - base - 1 : upper);
  const raw = granular ? Math.ceil((need + 1) / 4096) - 1 : need;
  if (raw > 0xfffff) return null;
  const fitted = withLimitField(d, raw);
  return endsBelowBase(fitted, vmmBase) ? raw : null;
}

// ---------------------------------------------------------------- caches

/** The descriptor cache a segment register holds after loading `d`. */
export function segmentCache(selector: number, d: RawDescriptor): SegmentRegister {
  return {
    selector: selector & 0xffff,
    base: field.base(d),
    limit: effectiveLimit(d),
    attributes: (d.high >>> 8) & 0xf0ff,
    valid: true,
  };
}

/** Gate types. */
export const GateType = { call16: 0x4, task: 0x5, interrupt16: 0x6, trap16: 0x7, call32: 0xc, interrupt32: 0xe, trap32: 0xf } as const;
export const isCallGate = (d: RawDescriptor): boolean => !field.codeOrData(d) && (field.type(d) === GateType.call32 || field.type(d) === GateType.call16);
export const isInterruptOrTrapGate = (d: RawDescriptor): boolean =>
  !field.codeOrData(d) && [GateType.interrupt32, GateType.trap32, GateType.interrupt16, GateType.trap16].includes(field.type(d) as 6);
