// The TLB trie (model/cpu/tlb.ts) against the plainest model of it: a map
// from linear page number to entry, where invalidating a large (4 MiB)
// entry drops every page of its 4 MiB region and a small one its own page.
// Every earlier version must read as it did (the trie is persistent).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { emptyTlb, tlbInsert, tlbInvalidate, tlbLookup, type Tlb, type TlbEntry } from '../../model/cpu/tlb';
import { propertyParams } from '../../properties/seed';

type Op = { kind: 'insert'; linear: number; entry: TlbEntry } | { kind: 'invalidate'; linear: number };

// Pages drawn near the boundaries of each level of the trie (5 bits a level)
// and of 4 MiB regions, so that inserts share and split nodes.
const page = fc.constantFrom(0, 1, 31, 32, 33, 1023, 1024, 1025, 0x3ff, 0x400, 0x7fff, 0x8000, 0xc0000, 0xc0001, 0xfffff);
const linear = fc.tuple(page, fc.integer({ min: 0, max: 0xfff })).map(([p, offset]) => ((p << 12) | offset) >>> 0);
const entry: fc.Arbitrary<TlbEntry> = fc.record({
  frame: fc.integer({ min: 0, max: 0xfffff }).map((f) => (f << 12) >>> 0),
  user: fc.boolean(), writable: fc.boolean(), dirty: fc.boolean(), large: fc.boolean(),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), linear, entry }),
  fc.record({ kind: fc.constant('invalidate' as const), linear }),
);

const PROBES = [0, 1, 31, 32, 33, 1023, 1024, 1025, 0x3ff, 0x400, 0x7fff, 0x8000, 0xc0000, 0xc0001, 0xfffff];

function reference(ops: readonly Op[]): Map<number, TlbEntry> {
  const m = new Map<number, TlbEntry>();
  for (const o of ops) {
    const p = o.linear >>> 12;
    if (o.kind === 'insert') { m.set(p, o.entry); continue; }
    const e = m.get(p);
    if (e === undefined) continue;
    if (e.large) { for (const k of [...m.keys()]) if (k >>> 10 === p >>> 10) m.delete(k); } else m.delete(p);
  }
  return m;
}

interface TlbOps {
  readonly lookup: (tlb: Tlb, linear: number) => TlbEntry | undefined;
  readonly invalidate: (tlb: Tlb, linear: number) => Tlb;
}
const REAL: TlbOps = { lookup: tlbLookup, invalidate: tlbInvalidate };

/** The property: after any ops, every version answers every probe as the
 * reference map does. Returns fast-check's report (seed and path on a failure). */
function agreesWithMap(ops: TlbOps): fc.RunDetails<[Op[]]> {
  const result = fc.check(fc.property(fc.array(op, { maxLength: 40 }), (list) => {
    const versions: Tlb[] = [emptyTlb];
    for (const o of list) versions.push(o.kind === 'insert' ? tlbInsert(versions.at(-1)!, o.linear, o.entry) : ops.invalidate(versions.at(-1)!, o.linear));
    return versions.every((tlb, n) => {
      const want = reference(list.slice(0, n));
      return PROBES.every((p) => JSON.stringify(ops.lookup(tlb, (p << 12) >>> 0) ?? null) === JSON.stringify(want.get(p) ?? null));
    });
  }), propertyParams(300));
  return result;
}

describe('TLB trie', () => {
  it('agrees with a map of pages after any inserts and invalidations, and keeps every earlier version', () => {
    const result = agreesWithMap(REAL);
    expect(result.failed, fc.defaultReportMessage(result)).toBe(false);
  });

  it('mutants: an INVLPG of a large entry that drops only its page, and a lookup that loses a bit of the page number, are caught', () => {
    const pageOnly: TlbOps = {
      ...REAL,
      invalidate: (tlb, linear) => {
        const e = tlbLookup(tlb, linear);
        return e === undefined ? tlb : tlbInvalidate(tlbInsert(tlb, linear, { ...e, large: false }), linear);
      },
    };
    const aliased: TlbOps = { ...REAL, lookup: (tlb, linear) => tlbLookup(tlb, (linear & ~0x00400000) >>> 0) };
    expect(agreesWithMap(pageOnly).failed).toBe(true);
    expect(agreesWithMap(aliased).failed).toBe(true);
  });

  it('invalidating a large entry drops its whole 4 MiB region and nothing else; a small one only its page', () => {
    const e = (frame: number, large: boolean): TlbEntry => ({ frame, user: false, writable: true, dirty: false, large });
    let tlb = tlbInsert(emptyTlb, 0x00400000, e(0x400000, true));
    tlb = tlbInsert(tlb, 0x007ff000, e(0x7ff000, true));
    tlb = tlbInsert(tlb, 0x00800000, e(0x800000, false));
    tlb = tlbInsert(tlb, 0x003ff000, e(0x3ff000, false));
    const large = tlbInvalidate(tlb, 0x00400abc);
    expect([0x00400000, 0x007ff000, 0x00800000, 0x003ff000].map((a) => tlbLookup(large, a)?.frame ?? null)).toEqual([null, null, 0x800000, 0x3ff000]);
    const small = tlbInvalidate(tlb, 0x00800fff);
    expect([0x00400000, 0x007ff000, 0x00800000, 0x003ff000].map((a) => tlbLookup(small, a)?.frame ?? null)).toEqual([0x400000, 0x7ff000, null, 0x3ff000]);
  });
});
