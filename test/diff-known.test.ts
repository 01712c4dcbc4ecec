// [DIFF.KNOWN.1] Every known discrepancy still occurs on its witness (a
// campaign case), names the machine it blames, its rule and its evidence;
// an entry whose witness no longer matches is stale and must be deleted.
// Entries that were fixed keep their witness here as a regression: model
// and impl must now agree on it, step by step, with no entry excusing them.
import { describe, expect, it } from 'vitest';
import { KNOWN_DISCREPANCIES, knownDiscrepancy, type KnownDiscrepancy } from '../properties/diff/known';
import type { Divergence } from '../properties/diff/lockstep';
import { campaignCase } from '../properties/diff/campaign';
import { runScenario, scenarioOfCase, type DiffScenario } from '../properties/diff/scenario';
import { loadReplay } from '../properties/replay/run';

type Witness = KnownDiscrepancy['witness'];
const scenarioOf = (w: Witness): DiffScenario =>
  'case' in w ? scenarioOfCase(campaignCase(w.seed, w.case)) : loadReplay(w.replay).scenario;
const describeWitness = (w: Witness): string => ('case' in w ? `campaign case ${w.case}` : w.replay);

describe('[DIFF.KNOWN.1] known discrepancies are current', () => {
  // Issue 5: the differential campaign must find nothing, so the list is
  // expected to stay empty; an entry added later is checked below.
  if (KNOWN_DISCREPANCIES.length === 0) it('none is listed', () => expect(KNOWN_DISCREPANCIES).toEqual([]));
  for (const k of KNOWN_DISCREPANCIES) {
    it(`${k.id} (blames ${k.blames}) still occurs on ${describeWitness(k.witness)}`, () => {
      expect(k.rule.length).toBeGreaterThan(0);
      expect(k.evidence.length).toBeGreaterThan(40);
      const outcome = runScenario(scenarioOf(k.witness));
      expect(outcome.failure?.differences ?? []).toEqual([]);
      expect(outcome.known).toBe(k.id);
    });
  }
});

/** Former entries, fixed in the machine they blamed; their witnesses stay as regressions. */
const FIXED: ReadonlyArray<{ readonly id: string; readonly witness: Witness }> = [
  // [PAGE.RMW.2] impl's SHLD/SHRD by 0 skipped the memory operand.
  { id: 'shift-by-zero-skips-memory', witness: { replay: 'test/impl/replays/shift-count-zero-memory.json' } },
  // [IO.STRING.2] The entry blamed the model; the host CPU showed impl was
  // wrong: REP INS/OUTS with ECX = 0 check the I/O permission.
  { id: 'rep-string-io-with-ecx-zero-checks-permission', witness: { replay: 'test/impl/replays/rep-ins-ecx-zero.json' } },
  // [INS.STACK.6] The model undid ENTER's first push when a later step faulted.
  // (Campaign case 803 of the default seed, `enter 0xdbac, 0x7f`, pinned as a
  // replay file so that changes to the case generator cannot move it.)
  { id: 'enter-fault-keeps-first-push', witness: { replay: 'test/impl/replays/enter-fault-keeps-first-push.json' } },
];

describe('[DIFF.KNOWN.1] fixed discrepancies stay fixed', () => {
  for (const f of FIXED) {
    it(`${f.id}: model and impl agree on ${describeWitness(f.witness)}`, () => {
      const outcome = runScenario(scenarioOf(f.witness));
      expect(outcome.failure?.differences ?? []).toEqual([]);
      expect(outcome.known).toBeNull();
      expect(outcome.steps).toBeGreaterThan(0);
    });
    it(`${f.id} is no longer listed`, () => {
      expect(KNOWN_DISCREPANCIES.map((k) => k.id)).not.toContain(f.id);
    });
  }
});

describe('[DIFF.KNOWN.1] the matching mechanism', () => {
  const divergence: Divergence = {
    step: 3, eip: 0x10000, differences: ['memory 0x8ffc: model 0x0 impl 0x33'],
    modelEvent: { kind: 'retired' }, implEvent: { kind: 'retired' },
  };
  const synthetic: KnownDiscrepancy = {
    id: 'synthetic', blames: 'impl', rule: 'none', evidence: 'a test entry',
    matches: (d) => d.differences.every((line) => line.startsWith('memory 0x8ffc:')),
    witness: { replay: 'nowhere.json' },
  };

  it('excuses a divergence only through an entry that matches it', () => {
    expect(knownDiscrepancy(divergence, [synthetic])).toBe(synthetic);
    expect(knownDiscrepancy({ ...divergence, differences: ['eax: model 0x1 impl 0x2'] }, [synthetic])).toBeNull();
    expect(knownDiscrepancy(divergence, [])).toBeNull();
  });

  it('the shipped list excuses none of these synthetic divergences', () => {
    expect(knownDiscrepancy(divergence)).toBeNull();
    expect(knownDiscrepancy({ ...divergence, modelEvent: { kind: 'exception', vector: 13, errorCode: 0 } })).toBeNull();
  });
});
