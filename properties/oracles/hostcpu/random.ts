// A small seeded random source for the case generator: the same seed gives
// the same cases, on every machine.

export interface Rng {
  /** A uniformly drawn unsigned 32-bit integer. */
  u32(): number;
  /** An integer in [0, n). */
  below(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: tiny, fast, and good enough to spread test inputs. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const u32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const below = (n: number): number => Math.floor((u32() / 0x100000000) * n);
  return { u32, below, pick: (items) => items[below(items.length)]!, chance: (p) => u32() / 0x100000000 < p };
}

/** Edge values for an operand of the given size: zero, one, the sign
 * boundaries and all ones, as the test-suite habit goes. */
export function edgeValues(size: 8 | 16 | 32): readonly number[] {
  const all = size === 32 ? 0xffffffff : (1 << size) - 1;
  const signBit = size === 32 ? 0x80000000 : 1 << (size - 1);
  return [0, 1, 2, signBit - 1, signBit, signBit + 1, all - 1, all, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff]
    .filter((v) => v <= all)
    .map((v) => v >>> 0);
}

/** A value for an operand: an edge value most of the time, else random. */
export function edgeBiased(rng: Rng, size: 8 | 16 | 32): number {
  const mask = size === 32 ? 0xffffffff : (1 << size) - 1;
  return rng.chance(0.6) ? rng.pick(edgeValues(size)) : (rng.u32() & mask) >>> 0;
}

/** A full 32-bit register whose low `size` bits are edge-biased. */
export function registerValue(rng: Rng, size: 8 | 16 | 32): number {
  if (size === 32) return edgeBiased(rng, 32);
  const high = rng.chance(0.5) ? 0 : rng.u32();
  const mask = (1 << size) - 1;
  return ((high & ~mask) | edgeBiased(rng, size)) >>> 0;
}
