// Random descriptor tables for the differential cases: GDT entries of every
// descriptor type beyond the fixed ring-0/1/3 segments, an LDT, and IDT
// gates that replace some of the default ones. Each kind is drawn with the
// fields the processor checks varied and the rest sensible (bases in low
// memory, handlers at the HLT every case has), so that loads, far
// transfers, gates and faults through them are all reachable by a short
// random instruction stream.
import * as gen from '../gen';
import { LAYOUT, SEL, gateDescriptor, segmentDescriptor, type Descriptor } from '../builders';

/** Extra GDT entries: indices 8..23 (selectors 0x40..0xb8). */
export const EXTRA_DESCRIPTORS = 16;
/** The GDT entry that describes the LDT (selector 0xc0). */
export const LDT_SELECTOR = (SEL.firstFree + EXTRA_DESCRIPTORS) * 8;
/** Where the LDT lives (free low memory, identity-mapped and user-writable when paging is on). */
export const LDT_BASE = 0x5000;
export const LDT_ENTRIES = 8;

const dpl = gen.integer({ min: 0, max: 3 });
const mostlyPresent = gen.oneof({ weight: 9, arbitrary: gen.constant(true) }, { weight: 1, arbitrary: gen.constant(false) });

// Segment bases and limits: flat most often, else a small window in low
// memory, so that limit checks (expand-up and expand-down) bite.
const base = gen.oneof({ weight: 3, arbitrary: gen.constant(0) }, { weight: 1, arbitrary: gen.constantFrom(0x1000, 0x10000, 0x20000, 0x1fff0) });
const limit = gen.oneof(
  { weight: 3, arbitrary: gen.record({ limit: gen.constant(0xfffff), g: gen.constant(true) }) },
  { weight: 2, arbitrary: gen.record({ limit: gen.oneof(gen.integer({ min: 0, max: 0xffff }), gen.constantFrom(0, 1, 0xfff, 0x7fff, 0xfffe)), g: gen.boolean() }) },
);

/** A code or data segment descriptor (type bits all varied: accessed, W/R, E/C). */
// (Tuples rather than records here: the same fields, cheaper to draw, and
// a case draws two dozen entries.)
const codeOrData: gen.Gen<Descriptor> = gen.tuple(
  base, limit, gen.integer({ min: 0, max: 15 }), dpl, mostlyPresent, gen.oneof({ weight: 4, arbitrary: gen.constant(true) }, { weight: 1, arbitrary: gen.constant(false) }),
).map(([at, size, type, level, present, big]) => segmentDescriptor({ base: at, limit: size.limit, g: size.g, type, dpl: level, present, big }));

/** Code segment selectors a gate may lead to (the fixed rings' and two extra entries). */
const gateTarget = gen.constantFrom(SEL.code0 & ~3, SEL.code1 & ~3, SEL.code3 & ~3, SEL.data0, 0, 0x40, 0x48);

/** A gate (call, interrupt, trap or task) with its DPL, presence and target varied. */
export const anyGate: gen.Gen<Descriptor> = gen.tuple(
  gen.constantFrom(0xc, 0xe, 0xf, 0xe, 0xf, 0x5, 0x6, 0x7),
  gen.oneof({ weight: 3, arbitrary: gateTarget }, { weight: 1, arbitrary: gen.constantFrom(SEL.tss, LDT_SELECTOR) }),
  dpl, mostlyPresent, gen.integer({ min: 0, max: 3 }),
).map(([type, selector, level, present, parameterCount]) => gateDescriptor({ type, selector, dpl: level, present, parameterCount, offset: 0x4000 }));

/** System segments: the LDT, the TSS (available or busy), and reserved types. */
const systemSegment: gen.Gen<Descriptor> = gen.record({
  type: gen.constantFrom(0x2, 0x9, 0xb, 0x1, 0x3, 0x0, 0x8, 0xa, 0xd),
  dpl, present: mostlyPresent,
}).map((f) => segmentDescriptor({
  base: f.type === 0x2 ? LDT_BASE : LAYOUT.tss, limit: f.type === 0x2 ? LDT_ENTRIES * 8 - 1 : 0x67, g: false, big: false,
  type: f.type, system: true, dpl: f.dpl, present: f.present,
}));

/** Any GDT entry: mostly code and data segments, some gates and system segments, a few empty. */
export const anyGdtEntry: gen.Gen<Descriptor> = gen.oneof(
  { weight: 6, arbitrary: codeOrData },
  { weight: 2, arbitrary: anyGate },
  { weight: 1, arbitrary: systemSegment },
  { weight: 1, arbitrary: gen.constant([0, 0] as const) },
);

/** LDT entries: code and data segments and call gates (system segments are not allowed there). */
export const anyLdtEntry: gen.Gen<Descriptor> = gen.oneof({ weight: 5, arbitrary: codeOrData }, { weight: 1, arbitrary: anyGate });

/** IDT gates that replace the default ones, for exception vectors and the INT n vectors a stream may use. */
export const idtOverrides: gen.Gen<readonly { readonly vector: number; readonly gate: Descriptor }[]> = gen.array(
  gen.record({ vector: gen.oneof(gen.integer({ min: 0, max: 31 }), gen.integer({ min: 32, max: 255 })), gate: anyGate }),
  { maxLength: 6 },
);

/** Selectors that name the random entries: extra GDT entries and LDT entries, any RPL. */
export const tableSelector: gen.Gen<number> = gen.oneof(
  gen.tuple(gen.integer({ min: SEL.firstFree, max: SEL.firstFree + EXTRA_DESCRIPTORS }), gen.integer({ min: 0, max: 3 })).map(([i, rpl]) => i * 8 + rpl),
  gen.tuple(gen.integer({ min: 0, max: LDT_ENTRIES - 1 }), gen.integer({ min: 0, max: 3 })).map(([i, rpl]) => i * 8 + 4 + rpl),
);
