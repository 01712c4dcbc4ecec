// The model's persistent page trie against the plainest possible memory: a
// flat byte array. Random writes (runs of bytes and 1/2/4-byte words) that
// cross page boundaries and run past the end of RAM, then every kind of read.
// [STATE.MEM.1] RAM of a fixed size from address 0, zero until written.
// [STATE.MEM.2] Past the end of RAM reads give 0xFF and writes vanish.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { emptyMemory, readBytes, readPhysical, writeBytes, writePhysical, type PhysicalMemory } from '../../model/cpu/memory';
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
  fc.record({ kind: fc.constant('word' as const), address: arbAddress, size: fc.constantFrom(1 as const, 2 as const, 4 as const), value: fc.integer({ min: 0, max: 0xffffffff }) }),
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

describe('model physical memory (persistent page trie)', () => {
  it('[STATE.MEM.1] [STATE.MEM.2] reads what a flat byte array reads after the same writes', () => {
    fc.assert(fc.property(fc.array(arbWrite, { maxLength: 12 }), arbAddress, fc.integer({ min: 0, max: 9000 }), (writes, at, length) => {
      const flat = new Uint8Array(SIZE);
      let trie = emptyMemory(SIZE);
      for (const w of writes) { applyFlat(flat, w); trie = applyTrie(trie, w); }
      expect([...readBytes(trie, at, length)]).toEqual(flatRead(flat, at, length));
      for (const size of [1, 2, 4] as const) {
        const expected = flatRead(flat, at, size).reduceRight((v, b) => v * 256 + b, 0);
        expect(readPhysical(trie, at, size)).toBe(expected);
      }
    }), propertyParams(300));
  });

  it('leaves the memory it was written from unchanged (every write makes a new version)', () => {
    fc.assert(fc.property(arbWrite, arbWrite, (first, second) => {
      const before = applyTrie(emptyMemory(SIZE), first);
      const copy = readBytes(before, 0, SIZE + 16);
      applyTrie(before, second);
      expect(readBytes(before, 0, SIZE + 16)).toEqual(copy);
    }), propertyParams(200));
  });

  it('a Uint8Array and a plain array of the same bytes write the same memory', () => {
    const bytes = Array.from({ length: 5000 }, (_, i) => (i * 7 + 3) & 0xff);
    const a = writeBytes(emptyMemory(SIZE), 4000, bytes);
    const b = writeBytes(emptyMemory(SIZE), 4000, Uint8Array.from(bytes));
    expect(readBytes(a, 0, SIZE)).toEqual(readBytes(b, 0, SIZE));
    expect(readPhysical(a, 4095, 2)).toBe(bytes[95]! | (bytes[96]! << 8)); // a word across the page boundary
  });
});
