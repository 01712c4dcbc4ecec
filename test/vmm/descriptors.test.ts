// Guest descriptor checks, against values worked by hand from the descriptor
// format (SDM vol. 3, 3.4.5) and the limit rules (SDM vol. 3, 5.3).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyParams } from '../../properties/seed';
import {
  effectiveLimit, endsBelowBase, field, fitBelowBase, gateDescriptor, linearRange, segmentCache,
  segmentDescriptor, systemDescriptor, type RawDescriptor,
} from '../../model/vmm/descriptors';
import { checkDescriptor, realEntrySafe, type DescriptorContext } from '../../model/vmm/check';
import { withinLimit } from '../../model/cpu/context';

const BASE = 0xfc000000;
const ctx = (index = 2, lookup: DescriptorContext['lookup'] = () => null): DescriptorContext => ({ vmmBase: BASE, table: 'gdt', index, lookup });
const CODE = 0xb, DATA = 0x3, DATA_DOWN = 0x7;

describe('descriptor fields', () => {
  it('decodes the bytes of a known descriptor (0x00CF9A000000FFFF: flat ring-0 code)', () => {
    const d = { low: 0x0000ffff, high: 0x00cf9a00 };
    expect(field.base(d)).toBe(0);
    expect(field.limitField(d)).toBe(0xfffff);
    expect(effectiveLimit(d)).toBe(0xffffffff);
    expect(field.type(d)).toBe(0xa);
    expect(field.dpl(d)).toBe(0);
    expect(field.isCode(d)).toBe(true);
    expect(field.big(d)).toBe(true);
  });
  it('encodes a base split over three fields (base 0x12345678, limit 0xABCDE)', () => {
    const d = segmentDescriptor({ base: 0x12345678, limitField: 0xabcde, type: DATA, dpl: 1, granular: false });
    expect(d.low).toBe(0x5678bcde);
    expect(d.high).toBe(0x124ab334);
    expect(field.base(d)).toBe(0x12345678);
  });
  it('the cache holds the high dword bits 8..23 as attributes', () => {
    expect(segmentCache(0x0b, { low: 0x0000ffff, high: 0x00cfba00 }).attributes).toBe(0xc0ba);
  });
});

describe('[VMM.DESC.3] expand-up segments are truncated below the VMM base', () => {
  it('a flat DPL-1 code segment ends at 0xFBFFFFFF (limit field 0xFBFFF, page granular)', () => {
    const r = checkDescriptor(segmentDescriptor({ base: 0, limitField: 0xfffff, type: CODE, dpl: 1 }), ctx());
    expect(r.kind).toBe('install');
    if (r.kind !== 'install') return;
    expect(r.adjusted).toBe(true);
    expect(field.limitField(r.descriptor)).toBe(0xfbfff);
    expect(effectiveLimit(r.descriptor)).toBe(0xfbffffff);
  });
  it('byte granularity: base 0xFBFFF000 keeps 0x1000 bytes (limit 0xFFF)', () => {
    const r = checkDescriptor(segmentDescriptor({ base: 0xfbfff000, limitField: 0xfffff, type: DATA, dpl: 3, granular: false }), ctx());
    expect(r.kind === 'install' && field.limitField(r.descriptor)).toBe(0xfff);
  });
  it('page granularity with less than a page of room is refused', () => {
    const r = checkDescriptor(segmentDescriptor({ base: 0xfbfff800, limitField: 0, type: DATA, dpl: 1 }), ctx());
    expect(r.kind).toBe('refuse');
  });
  it('a segment wholly below the base is installed unchanged', () => {
    const d = segmentDescriptor({ base: 0x100000, limitField: 0xff, type: DATA, dpl: 1 });
    // The copy differs only by the accessed bit (type bit 0, high bit 8).
    expect(checkDescriptor(d, ctx())).toEqual({ kind: 'install', descriptor: { low: d.low, high: d.high | 0x100 }, adjusted: false });
  });
  it('a segment whose base is at the VMM base is refused', () => {
    expect(checkDescriptor(segmentDescriptor({ base: BASE, limitField: 0, type: DATA, dpl: 1, granular: false }), ctx()).kind).toBe('refuse');
  });
});

describe('[VMM.DESC.4] expand-down segments: the lower bound moves up', () => {
  it('base 0x10000000, 4 KiB limit: limit raised to 0xEFFFFFFF so offsets wrap into [0, 0x10000000)', () => {
    const d = segmentDescriptor({ base: 0x10000000, limitField: 0, type: DATA_DOWN, dpl: 1 });
    const r = checkDescriptor(d, ctx());
    expect(r.kind).toBe('install');
    if (r.kind !== 'install') return;
    expect(field.limitField(r.descriptor)).toBe(0xeffff);
    expect(effectiveLimit(r.descriptor)).toBe(0xefffffff);
    expect(linearRange(r.descriptor)).toEqual({ first: 2 ** 32, last: 2 ** 32 + 0x0fffffff });
  });
  it('base 0 with a 32-bit top can only be emptied (limit 0xFFFFFFFF)', () => {
    const r = checkDescriptor(segmentDescriptor({ base: 0, limitField: 0x10, type: DATA_DOWN, dpl: 1 }), ctx());
    expect(r.kind === 'install' && effectiveLimit(r.descriptor)).toBe(0xffffffff);
  });
  it('byte granularity with a 32-bit top cannot be emptied: refused', () => {
    expect(checkDescriptor(segmentDescriptor({ base: 0, limitField: 0x10, type: DATA_DOWN, dpl: 1, granular: false }), ctx()).kind).toBe('refuse');
  });
  it('a 16-bit top straddling the base (0xFBFF8000 + 0xFFFF) is emptied to limit 0xFFFF', () => {
    const r = checkDescriptor(segmentDescriptor({ base: 0xfbff8000, limitField: 0, type: DATA_DOWN, dpl: 1, big: false, granular: false }), ctx());
    expect(r.kind === 'install' && field.limitField(r.descriptor)).toBe(0xffff);
  });
  it('a 16-bit stack well below the base is unchanged', () => {
    const d = segmentDescriptor({ base: 0x1000, limitField: 0xfff, type: DATA_DOWN, dpl: 1, big: false, granular: false });
    expect(checkDescriptor(d, ctx())).toEqual({ kind: 'install', descriptor: { low: d.low, high: d.high | 0x100 }, adjusted: false });
  });
});

describe('[VMM.DESC.1] [VMM.DESC.2] [VMM.DESC.5] [VMM.DESC.6] [VMM.DESC.7] what is refused', () => {
  const codeDpl = (dpl: number) => segmentDescriptor({ base: 0, limitField: 0xfbfff, type: CODE, dpl });
  it('DPL 0 code and data are refused', () => {
    expect(checkDescriptor(codeDpl(0), ctx()).kind).toBe('refuse');
    expect(checkDescriptor(segmentDescriptor({ base: 0, limitField: 1, type: DATA, dpl: 0 }), ctx()).kind).toBe('refuse');
  });
  it('TSS and LDT descriptors are not installed', () => {
    expect(checkDescriptor(systemDescriptor({ base: 0x1000, limit: 0x67, type: 0x9 }), ctx()).kind).toBe('refuse');
    expect(checkDescriptor(systemDescriptor({ base: 0x1000, limit: 0xff, type: 0x2 }), ctx()).kind).toBe('refuse');
  });
  it('a call gate to a DPL-0 code segment is refused, to DPL 1 kept', () => {
    const gate = gateDescriptor({ selector: 0x08, offset: 0x1234, type: 0xc, dpl: 3 });
    expect(checkDescriptor(gate, ctx(3, () => codeDpl(0))).kind).toBe('refuse');
    expect(checkDescriptor(gate, ctx(3, () => codeDpl(1)))).toEqual({ kind: 'install', descriptor: gate, adjusted: false });
  });
  it('a call gate to a monitor slot (504) is refused whatever the guest table says', () => {
    const gate = gateDescriptor({ selector: 504 << 3, offset: 0, type: 0xc, dpl: 3 });
    expect(checkDescriptor(gate, ctx(3, () => codeDpl(1))).kind).toBe('refuse');
  });
  it('interrupt gates in the GDT are refused', () => {
    expect(checkDescriptor(gateDescriptor({ selector: 0x08, offset: 0, type: 0xe, dpl: 0 }), ctx()).kind).toBe('refuse');
  });
  it('guest entries in the reserved slots 504..511 are refused, null stays null', () => {
    expect(checkDescriptor(codeDpl(1), ctx(505)).kind).toBe('refuse');
    expect(checkDescriptor({ low: 0, high: 0 }, ctx(505)).kind).toBe('install');
  });
});

// Arbitrary raw descriptors biased toward the interesting cases.
const rawSegment = fc.record({
  base: fc.oneof(fc.constantFrom(0, 0x1000, 0xfbfff000, 0xfc000000, 0xffff0000, 0xfffff000, 0x10000000), fc.nat({ max: 0xffffffff })),
  limitField: fc.oneof(fc.constantFrom(0, 1, 0xfff, 0xffff, 0xfbfff, 0xfffff), fc.nat({ max: 0xfffff })),
  type: fc.integer({ min: 0, max: 15 }),
  dpl: fc.integer({ min: 0, max: 3 }),
  big: fc.boolean(),
  granular: fc.boolean(),
}).map((f) => segmentDescriptor(f));
const vmmBase = fc.integer({ min: 4, max: 1023 }).map((n) => (n * 0x400000) >>> 0);

describe('[VMM.SEG] properties of the descriptor check', () => {
  it('linearRange agrees with the CPU model\'s limit check on every offset tried', () => {
    fc.assert(fc.property(rawSegment, fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 20 }), (d, offsets) => {
      const cache = segmentCache(0x10, d);
      const range = linearRange(d);
      const upper = field.expandDown(d) ? (field.big(d) ? 0xffffffff : 0xffff) : effectiveLimit(d);
      const probes = [...offsets, 0, effectiveLimit(d), (effectiveLimit(d) + 1) >>> 0, upper];
      for (const offset of probes) {
        const inRange = range !== null && field.base(d) + offset >= range.first && field.base(d) + offset <= range.last;
        expect(withinLimit(cache, offset, 1)).toBe(inRange);
      }
    }), propertyParams(500));
  });

  it('every installed segment is DPL >= 1 and ends below the base; refusals only when needed', () => {
    fc.assert(fc.property(rawSegment, vmmBase, (d, base) => {
      const r = checkDescriptor(d, { vmmBase: base, table: 'gdt', index: 1, lookup: () => null });
      if (r.kind === 'install') expect(realEntrySafe(r.descriptor, base, () => null)).toBeNull();
      else expect(field.dpl(d) === 0 || !endsBelowBase(d, base)).toBe(true);
    }), propertyParams(2000));
  });

  it('truncation keeps as much as it can: one more unit of limit would break the rule', () => {
    fc.assert(fc.property(rawSegment, vmmBase, (d, base) => {
      const fitted = fitBelowBase(d, base);
      if (fitted === null || fitted === field.limitField(d)) return;
      const moved = field.expandDown(d) ? fitted - 1 : fitted + 1;
      const neighbour: RawDescriptor = { low: (d.low & 0xffff0000) | (moved & 0xffff), high: (d.high & 0xfff0ffff) | (moved & 0xf0000) };
      expect(endsBelowBase(neighbour, base)).toBe(false);
    }), propertyParams(2000));
  });
});
