import { describe, expect, it } from 'vitest';
import { perSecond, summarize } from '../bench/measure';

describe('benchmark summaries', () => {
  it('reports min and median of unsorted samples', () => {
    expect(summarize([5, 1, 3])).toEqual({ runs: 3, minMs: 1, medianMs: 3 });
    expect(summarize([4, 1, 3, 2])).toEqual({ runs: 4, minMs: 1, medianMs: 2.5 });
  });
  it('turns counts and milliseconds into rates', () => {
    expect(perSecond(500, 250)).toBe(2000);
  });
});
