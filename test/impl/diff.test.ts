// The differential property (DIFF): random protected-mode states (CPL 0, 1,
// 3; paging on and off with random page rights; random EFLAGS; edge-biased
// registers) times random instruction streams from the opcode map, run in
// lock step on the model and impl, compared after every step (state outside
// the model's undefined-flag mask, and the event) and on memory at the end.
// Disagreements listed in properties/diff/known.ts (each with its evidence)
// are counted, not failed; any other disagreement fails with the listing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../../properties/seed';
import { arbDiffCase } from '../../properties/diff/states';
import { runDiffCase } from '../../properties/diff/property';

const CASES = Number(process.env.MESOVIRT_DIFF_CASES ?? 200);

describe('DIFF: model and impl agree step by step', () => {
  it(`${CASES} random cases`, () => {
    let steps = 0;
    const known = new Map<string, number>();
    fc.assert(fc.property(arbDiffCase, (c) => {
      const r = runDiffCase(c);
      steps += r.steps;
      if (r.known) known.set(r.known, (known.get(r.known) ?? 0) + 1);
      if (r.failure !== null) throw new Error(`model and impl disagree:\n${r.failure}`);
    }), propertyParams(CASES, { verbose: 0 }));
    process.stderr.write(`[diff] ${CASES} cases, ${steps} compared steps; known discrepancies: ${JSON.stringify(Object.fromEntries(known))}\n`);
    expect(steps).toBeGreaterThan(CASES);
  });
});
