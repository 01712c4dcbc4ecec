// The model's persistent page trie against the plainest possible memory: a
// flat byte array. Random writes (runs of bytes and 1/2/4-byte words) that
// cross page boundaries and run past the end of RAM, then every kind of read.
// [STATE.MEM.1] RAM of a fixed size from address 0, zero until written.
// [STATE.MEM.2] Past the end of RAM reads give 0xFF and writes vanish.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { blocksOf, changedPages, emptyMemory, hasBlocks, memoryOver, pageBytes, readBytes, readBytesInto, readPhysical, samePage, unchangedStoreMutation, writeBytes, writePhysical, type PhysicalMemory } from '../../model/cpu/memory';
import { propertyParams } from '../../properties/seed';

const SIZE = 5 * 4096 + 100; // RAM ends in the middle of a page

type Write = { kind: 'bytes'; address: number; bytes: number[] } | { kind: 'word'; address: number; size: 1 | 2 | 4; value: number };

// Addresses near page boundaries and near the end of RAM, where the trie has its cases.
const arbAddress = fc.oneof(
  fc.integer({ min: 0, max: SIZE + 8192 }),
  fc.integer({ min: 1, max: 6 }).chain((p) => fc.integer({ min: p * 4096 - 6, max: p * 4096 + 2 })),
  fc.integer({ min: SIZE - 8, max: SIZE + 4 }),
);
const arbWrite: fc.Arbitrary<Write> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), address: arbAddress, bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 9000 }) }),
  // Zero words too: stored over unwritten RAM they store the bytes already there.
  fc.record({ kind: fc.constant('word' as const), address: arbAddress, size: fc.constantFrom(1 as const, 2 as const, 4 as const), value: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constant(0)) }),
);

/** The reference: a flat array with the same end-of-RAM rule. */
function applyFlat(flat: Uint8Array, w: Write): void {
  const bytes = w.kind === 'bytes' ? w.bytes : Array.from({ length: w.size }, (_, i) => (w.value >>> (8 * i)) & 0xff);
  bytes.forEach((b, i) => { if (w.address + i < SIZE) flat[w.address + i] = b; });
}
const applyTrie = (m: PhysicalMemory, w: Write): PhysicalMemory =>
  w.kind === 'bytes' ? writeBytes(m, w.address, w.bytes) : writePhysical(m, w.address, w.size, w.value);
const flatRead = (flat: Uint8Array, address: number, length: number): number[] =>
  Array.from({ length }, (_, i) => (address + i < SIZE ? flat[address + i]! : 0xff));
/** The first index where two byte sequences differ (-1 when equal): a quick
 * comparison whose failure still says where. */
const firstDifference = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
};

/** Does the trie read what a flat array reads after the same writes? Returns fast-check's report. */
function readsAsFlat(): fc.RunDetails<[Write[], number, number]> {
  return fc.check(fc.property(fc.array(arbWrite, { maxLength: 12 }), arbAddress, fc.integer({ min: 0, max: 9000 }), (writes, at, length) => {
      const flat = new Uint8Array(SIZE);
      let trie = emptyMemory(SIZE);
      for (const w of writes) { applyFlat(flat, w); trie = applyTrie(trie, w); }
      expect([...readBytes(trie, at, length)]).toEqual(flatRead(flat, at, length));
      // readBytesInto over a buffer holding other bytes reads the same.
      expect([...readBytesInto(trie, at, new Uint8Array(length).fill(0x5a))]).toEqual(flatRead(flat, at, length));
      for (const size of [1, 2, 4] as const) {
        const expected = flatRead(flat, at, size).reduceRight((v, b) => v * 256 + b, 0);
        expect(readPhysical(trie, at, size)).toBe(expected);
      }
    }), propertyParams(300));
}

/** Stores of the bytes already there, and of words that differ in one byte,
 * over zeros, over a base, and over written bytes, in one block, across
 * blocks and pages, and past the end of RAM: the first that does not give
 * back the memory itself (the same bytes) or a new memory that reads as
 * written (a changed byte), or null. */
function sameBytesStores(): string | null {
  const base = Uint8Array.from({ length: SIZE }, (_, i) => (i * 31 + 7) & 0xff);
  const written = writePhysical(emptyMemory(SIZE), 4094, 4, 0x11223344);
  const memories = [['zeros', emptyMemory(SIZE)], ['base', memoryOver(base)], ['written', written]] as const;
  for (const [name, m] of memories) {
    for (const at of [0, 60, 62, 4093, 4094, SIZE - 2]) {
      for (const size of [1, 2, 4] as const) {
        const mask = 2 ** (8 * size) - 1;
        const value = readPhysical(m, at, size);
        if (writePhysical(m, at, size, value) !== m) return `${name}: the same ${size} bytes at ${at} made a new memory`;
        for (let byte = 0; byte < size && at + byte < SIZE; byte++) {
          const other = (value ^ (1 << (8 * byte))) & mask;
          const changed = writePhysical(m, at, size, other);
          if (changed === m || readPhysical(changed, at + byte, 1) !== ((other >>> (8 * byte)) & 0xff)) return `${name}: byte ${byte} of ${size} at ${at} changed, not stored`;
        }
      }
    }
  }
  return null;
}

describe('model physical memory (persistent page trie)', () => {
  it('[STATE.MEM.1] [STATE.MEM.2] reads what a flat byte array reads after the same writes', () => {
    const result = readsAsFlat();
    expect(result.failed, fc.defaultReportMessage(result)).toBe(false);
  });

  it('a word stored over the bytes already there gives back the memory itself; a changed byte a new memory', () => {
    expect(sameBytesStores()).toBeNull();
  });

  it('mutants: a store taken for the bytes already there whatever it writes, or when its first byte is, are caught', () => {
    for (const mutant of ['sameAlways', 'firstByteOnly'] as const) {
      unchangedStoreMutation[mutant] = true;
      try {
        expect(sameBytesStores(), mutant).not.toBeNull();
        if (mutant === 'sameAlways') expect(readsAsFlat().failed, mutant).toBe(true);
      } finally {
        unchangedStoreMutation[mutant] = false;
      }
    }
  });

  // The addresses inside RAM a write reaches, from the write and a flat
  // copy of the memory before it: every byte of a run of bytes (writeBytes),
  // and the bytes of a word (writePhysical) that differ from those there, since
  // a word's byte stored over the same byte changes nothing.
  const reached = (flat: Uint8Array, w: Write): number[] => {
    const out: number[] = [];
    const length = w.kind === 'bytes' ? w.bytes.length : w.size;
    for (let a = w.address; a < Math.min(w.address + length, SIZE); a++) {
      if (w.kind === 'bytes' || flat[a] !== ((w.value >>> (8 * (a - w.address))) & 0xff)) out.push(a);
    }
    return out;
  };
  // The pages the writes `then` reach inside RAM, after the writes `first`, computed on a flat copy.
  const pagesWritten = (writes: readonly Write[], first: readonly Write[] = [], base?: Uint8Array): number[] => {
    const flat = base === undefined ? new Uint8Array(SIZE) : base.slice();
    for (const w of first) applyFlat(flat, w);
    const pages = new Set<number>();
    for (const w of writes) {
      for (const a of reached(flat, w)) pages.add(a - (a % 4096));
      applyFlat(flat, w);
    }
    return [...pages].sort((x, y) => x - y);
  };

  it('changedPages names exactly the pages the writes reached; samePage and pageBytes agree', () => {
    fc.assert(fc.property(fc.array(arbWrite, { maxLength: 4 }), fc.array(arbWrite, { maxLength: 6 }), (first, then) => {
      const before = first.reduce(applyTrie, emptyMemory(SIZE));
      const after = then.reduce(applyTrie, before);
      const expected = pagesWritten(then, first);
      expect(changedPages(before, after)).toEqual(expected);
      expect(changedPages(emptyMemory(SIZE), after)).toEqual(pagesWritten([...first, ...then]));
      for (let page = 0; page < SIZE; page += 4096) {
        expect(samePage(before, after, page)).toBe(!expected.includes(page));
        const bytes = pageBytes(after, page);
        if (pagesWritten([...first, ...then]).includes(page)) expect(firstDifference(bytes!, readBytes(after, page, 4096))).toBe(-1);
        else expect(bytes).toBeUndefined();
      }
    }), propertyParams(100));
  });

  it('hasBlocks holds while no write reaches the range, and fails once one does', () => {
    fc.assert(fc.property(fc.array(arbWrite, { maxLength: 4 }), arbWrite, fc.integer({ min: 0, max: SIZE - 16 }), fc.integer({ min: 1, max: 15 }), (first, w, at, length) => {
      const before = first.reduce(applyTrie, emptyMemory(SIZE));
      const blocks = blocksOf(before, at, length);
      const after = applyTrie(before, w);
      const wLength = w.kind === 'bytes' ? w.bytes.length : w.size;
      // Blocks are 64 bytes: a write reaching a block of the range breaks it; one outside every such block keeps it.
      const blockStart = at - (at % 64), blockEnd = at + length - 1 - ((at + length - 1) % 64) + 64;
      const flat = new Uint8Array(SIZE);
      for (const f of first) applyFlat(flat, f);
      const reaches = reached(flat, w).some((a) => a >= blockStart && a < blockEnd);
      const apart = w.address >= blockEnd || w.address + wLength <= blockStart;
      expect(hasBlocks(before, at, length, blocks)).toBe(true);
      if (apart) expect(hasBlocks(after, at, length, blocks)).toBe(true);
      if (reaches) expect(hasBlocks(after, at, length, blocks)).toBe(false);
    }), propertyParams(300));
    // A range across a block boundary: a write to either block alone breaks it.
    const m = emptyMemory(SIZE);
    const blocks = blocksOf(m, 4090, 10);
    expect(hasBlocks(writePhysical(m, 4090, 1, 1), 4090, 10, blocks)).toBe(false);
    expect(hasBlocks(writePhysical(m, 4098, 1, 1), 4090, 10, blocks)).toBe(false);
    expect(hasBlocks(writePhysical(m, 4200, 1, 1), 4090, 10, blocks)).toBe(true);
  });

  it('over a base: unwritten bytes read as the base, written ones as written, and the base is never changed', () => {
    fc.assert(fc.property(fc.array(arbWrite, { maxLength: 8 }), arbAddress, fc.integer({ min: 0, max: 9000 }), (writes, at, length) => {
      const base = Uint8Array.from({ length: SIZE }, (_, i) => (i * 31 + 7) & 0xff);
      const untouched = base.slice();
      const flat = base.slice();
      let trie = memoryOver(base);
      for (const w of writes) { applyFlat(flat, w); trie = applyTrie(trie, w); }
      expect(firstDifference(readBytes(trie, at, length), flatRead(flat, at, length))).toBe(-1);
      for (const size of [1, 2, 4] as const) {
        expect(readPhysical(trie, at, size)).toBe(flatRead(flat, at, size).reduceRight((v, b) => v * 256 + b, 0));
      }
      expect(firstDifference(base, untouched)).toBe(-1);
      expect(changedPages(memoryOver(base), trie)).toEqual(pagesWritten(writes, [], base));
    }), propertyParams(100));
  });

  it('keeps its own copy of the bytes written, also from a Node Buffer (whose slice is a view)', () => {
    const bytes = Buffer.alloc(256, 7);
    const m = writeBytes(emptyMemory(SIZE), 64, bytes);
    bytes.fill(9);
    expect(readPhysical(m, 64 + 70, 1)).toBe(7);
    const later = writePhysical(m, 64 + 70, 1, 5);
    expect(readPhysical(m, 64 + 70, 1)).toBe(7);
    expect(readPhysical(later, 64 + 70, 1)).toBe(5);
    expect(bytes[70]).toBe(9);
  });
});

