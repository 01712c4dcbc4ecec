// [DIFF.KNOWN.1] Every known discrepancy still occurs on its witness (a
// campaign case), names the machine it blames, its rule and its evidence;
// an entry whose witness no longer matches is stale and must be deleted.
import { describe, expect, it } from 'vitest';
import { KNOWN_DISCREPANCIES } from '../properties/diff/known';
import { campaignCase } from '../properties/diff/campaign';
import { runScenario, scenarioOfCase } from '../properties/diff/scenario';
import { loadReplay } from '../properties/replay/run';

describe('[DIFF.KNOWN.1] known discrepancies are current', () => {
  for (const k of KNOWN_DISCREPANCIES) {
    const where = 'case' in k.witness ? `campaign case ${k.witness.case}` : k.witness.replay;
    it(`${k.id} (blames ${k.blames}) still occurs on ${where}`, () => {
      expect(k.rule.length).toBeGreaterThan(0);
      expect(k.evidence.length).toBeGreaterThan(40);
      const scenario = 'case' in k.witness ? scenarioOfCase(campaignCase(k.witness.seed, k.witness.case)) : loadReplay(k.witness.replay).scenario;
      const outcome = runScenario(scenario);
      expect(outcome.failure?.differences ?? []).toEqual([]);
      expect(outcome.known).toBe(k.id);
    });
  }
});
