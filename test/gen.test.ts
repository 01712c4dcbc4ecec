// properties/gen.ts: a Gen's draw takes the same numbers as its fast-check
// arbitrary and gives the same values. fast-check is the oracle here: each
// check samples the arbitrary and the drawing from the same seeds (many
// values per seed, so the bias factor runs from 2 upward, and unbiased) and
// compares them value for value (toEqual: field by field; fast-check makes
// some records without a prototype, the draw never). Each of gen.ts's
// mutants (a draw that departs in one way) fails the comparison.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import * as gen from '../properties/gen';
import { anyInstruction } from '../properties/isa/arbitrary';
import { diffCase, type DiffCase } from '../properties/diff/states';
import { campaignCase, caseSeed } from '../properties/diff/campaign';
import { DEFAULT_SEED } from '../properties/seed';
import { xorshift128plus } from 'pure-rand/generator/xorshift128plus';

/** Values of g drawn both ways from the same seed: `runs` values each (bias factor 2, 2, …, 3, …). */
function bothWays<T>(g: gen.Gen<T>, seed: number, runs: number): [T[], T[]] {
  return [fc.sample(g.arbitrary, { seed, numRuns: runs }), fc.sample(gen.drawing(g), { seed, numRuns: runs })];
}

/** The same without bias (fast-check's noBias: generate with no bias factor). */
function bothWaysUnbiased<T>(g: gen.Gen<T>, seed: number, runs: number): [T[], T[]] {
  return [fc.sample(fc.noBias(g.arbitrary), { seed, numRuns: runs }), fc.sample(fc.noBias(gen.drawing(g)), { seed, numRuns: runs })];
}

const chained: readonly gen.Gen<unknown>[] = [gen.constant(0), gen.boolean(), gen.integer({ min: 10, max: 20 }), gen.constant('three')];

// Every combinator in the shapes the project uses, and some it does not yet.
const combinators = gen.tuple(
  gen.integer({ min: 0, max: 0xffffffff }),
  gen.integer({ min: -0x80000000, max: 0x7fffffff }),
  gen.integer({ min: -200, max: -3 }),
  gen.integer({ min: 5, max: 5 }),
  gen.constantFrom('a', 'b', 'c'),
  gen.boolean(),
  gen.oneof(gen.constant(-1), gen.integer({ min: 0, max: 0xfff })),
  gen.oneof({ weight: 3, arbitrary: gen.constant('x') }, { weight: 1, arbitrary: gen.constantFrom('y', 'z') }),
  gen.option(gen.integer({ min: 0, max: 9 }), { freq: 3 }),
  gen.array(gen.integer({ min: 0, max: 99 }), { maxLength: 6 }),
  gen.array(gen.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 24, size: 'max' }),
  gen.array(gen.integer({ min: 0, max: 99 }), { minLength: 3, maxLength: 3 }),
  gen.record({ a: gen.integer({ min: 0, max: 7 }), b: gen.boolean() }),
  gen.integer({ min: 0, max: 3 }).chain((n): gen.Gen<unknown> => chained[n]!),
  gen.integer({ min: 0, max: 100 }).filter((n) => n % 3 === 0).map((n) => n / 3),
);

/** Ranges [min, max] of every kind: one value, two (no rejection), small,
 * sizes where pure-rand rejects a quarter or a third of its draws
 * (3·2^30, 2^31 + 1), the whole 32 bits, and wider (pure-rand's own way). */
const RANGES: readonly (readonly [number, number])[] = [
  [5, 5], [0, 1], [1, 2], [0, 7], [-6, 1], [0, 800], [0, 0xfff], [-128, 127],
  [0, 3 * 2 ** 30 - 1], [7, 2 ** 31 + 7], [0, 0xffffffff], [-0x80000000, 0x7fffffff], [0, 2 ** 33], [-(2 ** 40), 5],
];

/** IntegerSource gives what fc.Random gives over the same generator, range after range. */
function sourceAgrees(): boolean {
  for (let seed = 1; seed <= 4; seed++) {
    const theirs = new fc.Random(xorshift128plus(seed)), ours = new gen.IntegerSource(xorshift128plus(seed));
    for (let i = 0; i < 3000; i++) {
      const [min, max] = RANGES[i % RANGES.length]!;
      if (ours.nextInt(min, max) !== theirs.nextInt(min, max)) return false;
    }
  }
  return true;
}

/** firstSample gives the case fc.sample gives at the same seed. */
function samplesAgree(): boolean {
  for (let k = 0; k < 20; k++) {
    const seed = caseSeed(DEFAULT_SEED, k);
    try { expect(gen.firstSample(diffCase, seed)).toEqual(fc.sample(diffCase.arbitrary, { seed, numRuns: 1 })[0]); } catch { return false; }
  }
  return true;
}

describe('IntegerSource and firstSample: fast-check\'s numbers without its runner', () => {
  it('IntegerSource gives fc.Random\'s numbers over every kind of range', () => {
    expect(sourceAgrees()).toBe(true);
  });
});

describe('Gen: draw agrees with the fast-check arbitrary', () => {
  afterEach(() => {
    gen.genMutation.integerBias = true; gen.genMutation.arrayBias = true; gen.genMutation.recordCoin = true;
    gen.genMutation.sourceRejects = true; gen.genMutation.sampleJumps = true;
  });

  it('every combinator, biased and unbiased, over many seeds', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const [a, b] = bothWays(combinators, seed, 50);
      expect(b).toEqual(a);
      const [c, d] = bothWaysUnbiased(combinators, seed, 20);
      expect(d).toEqual(c);
    }
  });

  it('instructions (the ISA tests draw them through the arbitrary)', () => {
    const [a, b] = bothWays(anyInstruction, DEFAULT_SEED, 2000);
    expect(b).toEqual(a);
  });

  it('[DIFF.SHARD.1] a campaign case is the case fc.sample(arbDiffCase) gives at its seed', () => {
    for (const seed of [DEFAULT_SEED, 0x6b6c7a47, 1]) {
      for (let k = 0; k < 150; k++) {
        const drawn: DiffCase = campaignCase(seed, k);
        expect(drawn).toEqual(fc.sample(diffCase.arbitrary, { seed: caseSeed(seed, k), numRuns: 1 })[0]);
      }
    }
  });

  it.each(['sourceRejects', 'sampleJumps'] as const)('notices the mutant %s (an IntegerSource or firstSample unlike fast-check)', (mutant) => {
    gen.genMutation[mutant] = false;
    expect(sourceAgrees() && samplesAgree()).toBe(false);
  });

  it.each(['integerBias', 'arrayBias', 'recordCoin'] as const)('notices the mutant %s', (mutant) => {
    gen.genMutation[mutant] = false;
    const agree = [1, 2, 3, 4, 5].every((seed) => {
      const [a, b] = bothWays(combinators, seed, 50);
      try { expect(b).toEqual(a); return true; } catch { return false; }
    });
    expect(agree).toBe(false);
  });
});
