// Random descriptor tables for the differential cases: GDT entries of every
// descriptor type beyond the fixed ring-0/1/3 segments, an LDT, and IDT
// gates that replace some of the default ones. Each kind is drawn with the
// fields the processor checks varied and the rest sensible (bases in low
// memory, handlers at the HLT every case has), so that loads, far
// transfers, gates and faults through them are all reachable by a short
// random instruction stream.
import fc from 'fast-check';
import { LAYOUT, SEL, gateDescriptor, segmentDescriptor, type Descriptor } from '../builders';

/** Extra GDT entries: indices 8..23 (selectors 0x40..0xb8). */
export const EXTRA_DESCRIPTORS = 16;
/** The GDT entry that describes the LDT (selector 0xc0). */
export const LDT_SELECTOR = (SEL.firstFree + EXTRA_DESCRIPTORS) * 8;
/** Where the LDT lives (free low memory, identity-mapped and user-writable when paging is on). */
export const LDT_BASE = 0x5000;
export const LDT_ENTRIES = 8;

const dpl = fc.integer({ min: 0, max: 3 });
const mostlyPresent = fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });

// Segment bases and limits: flat most often, else a small window in low
// memory, so that limit checks (expand-up and expand-down) bite.
const base = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(0x1000, 0x10000, 0x20000, 0x1fff0) });
const limit = fc.oneof(
  { weight: 3, arbitrary: fc.record({ limit: fc.constant(0xfffff), g: fc.constant(true) }) },
  { weight: 2, arbitrary: fc.record({ limit: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 1, 0xfff, 0x7fff, 0xfffe)), g: fc.boolean() }) },
);

/** A code or data segment descriptor (type bits all varied: accessed, W/R, E/C). */
// (Tuples rather than records here: the same fields, cheaper to draw, and
// a case draws two dozen entries.)
const codeOrData: fc.Arbitrary<Descriptor> = fc.tuple(
  base, limit, fc.integer({ min: 0, max: 15 }), dpl, mostlyPresent, fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
).map(([at, size, type, level, present, big]) => segmentDescriptor({ base: at, limit: size.limit, g: size.g, type, dpl: level, present, big }));

/** Code segment selectors a gate may lead to (the fixed rings' and two extra entries). */
const gateTarget = fc.constantFrom(SEL.code0 & ~3, SEL.code1 & ~3, SEL.code3 & ~3, SEL.data0, 0, 0x40, 0x48);

/** A gate (call, interrupt, trap or task) with its DPL, presence and target varied. */
export const arbGate: fc.Arbitrary<Descriptor> = fc.tuple(
  fc.constantFrom(0xc, 0xe, 0xf, 0xe, 0xf, 0x5, 0x6, 0x7),
  fc.oneof({ weight: 3, arbitrary: gateTarget }, { weight: 1, arbitrary: fc.constantFrom(SEL.tss, LDT_SELECTOR) }),
  dpl, mostlyPresent, fc.integer({ min: 0, max: 3 }),
).map(([type, selector, level, present, parameterCount]) => gateDescriptor({ type, selector, dpl: level, present, parameterCount, offset: 0x4000 }));

/** System segments: the LDT, the TSS (available or busy), and reserved types. */
const systemSegment: fc.Arbitrary<Descriptor> = fc.record({
  type: fc.constantFrom(0x2, 0x9, 0xb, 0x1, 0x3, 0x0, 0x8, 0xa, 0xd),
  dpl, present: mostlyPresent,
}).map((f) => segmentDescriptor({
  base: f.type === 0x2 ? LDT_BASE : LAYOUT.tss, limit: f.type === 0x2 ? LDT_ENTRIES * 8 - 1 : 0x67, g: false, big: false,
  type: f.type, system: true, dpl: f.dpl, present: f.present,
}));

/** Any GDT entry: mostly code and data segments, some gates and system segments, a few empty. */
export const arbGdtEntry: fc.Arbitrary<Descriptor> = fc.oneof(
  { weight: 6, arbitrary: codeOrData },
  { weight: 2, arbitrary: arbGate },
  { weight: 1, arbitrary: systemSegment },
  { weight: 1, arbitrary: fc.constant([0, 0] as const) },
);

/** LDT entries: code and data segments and call gates (system segments are not allowed there). */
export const arbLdtEntry: fc.Arbitrary<Descriptor> = fc.oneof({ weight: 5, arbitrary: codeOrData }, { weight: 1, arbitrary: arbGate });

/** IDT gates that replace the default ones, for exception vectors and the INT n vectors a stream may use. */
export const arbIdtOverrides: fc.Arbitrary<readonly { readonly vector: number; readonly gate: Descriptor }[]> = fc.array(
  fc.record({ vector: fc.oneof(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 32, max: 255 })), gate: arbGate }),
  { maxLength: 6 },
);

/** Selectors that name the random entries: extra GDT entries and LDT entries, any RPL. */
export const arbSelector: fc.Arbitrary<number> = fc.oneof(
  fc.tuple(fc.integer({ min: SEL.firstFree, max: SEL.firstFree + EXTRA_DESCRIPTORS }), fc.integer({ min: 0, max: 3 })).map(([i, rpl]) => i * 8 + rpl),
  fc.tuple(fc.integer({ min: 0, max: LDT_ENTRIES - 1 }), fc.integer({ min: 0, max: 3 })).map(([i, rpl]) => i * 8 + 4 + rpl),
);
