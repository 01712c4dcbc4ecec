// [DIFF.CASE.1] A campaign runs each random case with runCase, which builds
// the two machines straight from the case's model state (caseMachine) and
// hands impl a recycled RAM; replay files, the property and the shrinker
// keep runScenario(scenarioOfCase(c)). The two must be the same run: equal
// machines before the first step, equal outcomes after the last, with and
// without an impl mutant. A RAM that a released impl machine hands on is
// zero, and a campaign notices when it is not (mutant
// recycled-ram-not-zeroed); so are the decoded-instruction arrays of its
// frames (mutant recycled-code-slots-kept).
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Machine } from '../model/machine';
import { ImplMachine } from '../impl/machine';
import { dropSpareCodeSlots } from '../impl/cpu';
import { mutation } from '../impl/mutants';
import { campaignCase, runCampaign } from '../properties/diff/campaign';
import { caseMachine, createPairMachine, loadScenario, runCase, runCaseMutation, runScenario, scenarioOfCase } from '../properties/diff/scenario';
import { DIFF_MEMORY, caseState } from '../properties/diff/states';
import type { ModelMachine } from '../properties/machines/model';
import { loadReplay, rerunReplay } from '../properties/replay/run';

const SEED = 0x6361;
const replayDir = mkdtempSync(join(tmpdir(), 'mesovirt-run-case-'));

/** Where two machines of one kind differ before they run: common state, the
 * model's other fields (TLB, devices, ghosts), and every byte of RAM. */
function machineDifferences(a: Machine, b: Machine): string[] {
  const out: string[] = [];
  if (JSON.stringify(a.state()) !== JSON.stringify(b.state())) out.push('common state');
  const ma = (a as Partial<ModelMachine>).modelState?.(), mb = (b as Partial<ModelMachine>).modelState?.();
  if (ma !== undefined && mb !== undefined) {
    for (const key of Object.keys(ma) as (keyof typeof ma)[]) {
      if (key !== 'memory' && JSON.stringify(ma[key]) !== JSON.stringify(mb[key])) out.push(`model ${key}`);
    }
  }
  const ra = Buffer.from(a.readPhysical(0, DIFF_MEMORY)), rb = Buffer.from(b.readPhysical(0, DIFF_MEMORY));
  if (!ra.equals(rb)) out.push(`memory (first at 0x${ra.findIndex((x, i) => x !== rb[i]).toString(16)})`);
  return out;
}

const cases = Array.from({ length: 120 }, (_, k) => campaignCase(SEED, k));

describe('[DIFF.CASE.1] runCase is runScenario(scenarioOfCase(c)) with less set-up', () => {
  afterEach(() => { mutation.active = null; });

  it('caseMachine builds the machines loadScenario builds from the scenario', () => {
    for (const kind of ['model', 'impl'] as const) {
      for (const c of cases.slice(0, 40)) {
        const fast = caseMachine(kind, caseState(c));
        const s = scenarioOfCase(c);
        const reference = loadScenario(createPairMachine(kind, s.memorySize), s);
        expect(machineDifferences(fast, reference), kind).toEqual([]);
        fast.release?.(); reference.release?.();
      }
    }
  });

  it('the comparison of machines sees a dropped page, a stale byte and a changed field', () => {
    const c = cases.find((x) => x.paging)!;
    const s = scenarioOfCase(c);
    const reference = loadScenario(createPairMachine('impl', s.memorySize), s);
    const dropped = createPairMachine('impl', s.memorySize);
    loadScenario(dropped, { ...s, pages: s.pages.slice(1) });
    const firstByte = s.pages[0]!.address + s.pages[0]!.bytes.findIndex((b) => b !== 0);
    expect(machineDifferences(dropped, reference)).toEqual([`memory (first at 0x${firstByte.toString(16)})`]);
    const stale = caseMachine('impl', caseState(c));
    stale.writePhysical(0x30000, Uint8Array.of(1));
    expect(machineDifferences(stale, reference)).toEqual(['memory (first at 0x30000)']);
    const model = caseMachine('model', caseState(c)) as ModelMachine;
    const modelReference = loadScenario(createPairMachine('model', s.memorySize), s);
    model.setModelState({ ...model.modelState(), interruptShadow: true });
    expect(machineDifferences(model, modelReference)).toEqual(['model interruptShadow']);
  });

  it('runCase and runScenario give the same outcome, with and without an impl mutant', () => {
    const outcomes = (): string[] => cases.map((c) => JSON.stringify(runCase(c)));
    const reference = (): string[] => cases.map((c) => JSON.stringify(runScenario(scenarioOfCase(c))));
    expect(outcomes()).toEqual(reference());
    mutation.active = 'page-fault-without-user-bit';
    const mutated = outcomes();
    expect(mutated.some((o) => JSON.parse(o).failure !== null)).toBe(true);
    expect(mutated).toEqual(reference());
  });

  it('a campaign failure is still shrunk and written to a replay file that reproduces it', () => {
    mutation.active = 'page-fault-without-user-bit';
    const r = runCampaign({ steps: 20_000, seed: SEED, shard: { index: 0, count: 1 }, machines: ['model', 'impl'], replayDir, maxFailures: 1 });
    expect(r.failures).toHaveLength(1);
    const failure = r.failures[0]!;
    const replay = loadReplay(failure.replay);
    expect(replay.origin).toBe(`campaign case ${failure.case}`);
    const original = scenarioOfCase(campaignCase(SEED, failure.case));
    expect(replay.scenario.code.bytes.length).toBeLessThanOrEqual(original.code.bytes.length);
    expect(rerunReplay(replay, failure.replay).differs).toBe(true);
    // With shrink: false (the bench's setting) the failing case is written as drawn.
    const unshrunk = runCampaign({ steps: 20_000, seed: SEED, shard: { index: 0, count: 1 }, machines: ['model', 'impl'], replayDir, maxFailures: 1, shrink: false });
    expect(unshrunk.failures[0]!.case).toBe(failure.case);
    expect(loadReplay(unshrunk.failures[0]!.replay).scenario.code.bytes).toEqual(original.code.bytes);
    mutation.active = null;
    expect(rerunReplay(replay, failure.replay).differs).toBe(false);
  });

  it('a released impl machine hands its RAM on zeroed, and refuses to be read after', () => {
    const held = [1, 2, 3].map(() => new ImplMachine(DIFF_MEMORY)); // whatever RAM earlier tests gave back is taken
    const first = new ImplMachine(DIFF_MEMORY);
    first.writePhysical(0x1234, Uint8Array.of(7, 8, 9));
    const ram = first.viewPhysical(0, DIFF_MEMORY);
    // RAM of other sizes given back before does not keep this size out.
    for (const size of [0x20000, 0x30000]) new ImplMachine(size).release();
    first.release();
    expect(() => first.readPhysical(0, 4)).toThrow('after release()');
    const next = new ImplMachine(DIFF_MEMORY);
    expect(next.viewPhysical(0, DIFF_MEMORY).buffer).toBe(ram.buffer); // recycled, not new
    expect(next.readPhysical(0x1234, 3)).toEqual(Uint8Array.of(0, 0, 0));
    next.release();
    for (const m of held) m.release();
  });

  it('release(pages) zeroes only the pages named: the caller vouches for the rest', () => {
    const held = [1, 2, 3].map(() => new ImplMachine(DIFF_MEMORY));
    const first = new ImplMachine(DIFF_MEMORY);
    first.writePhysical(0x1234, Uint8Array.of(7));
    first.writePhysical(0x5678, Uint8Array.of(9));
    first.release([0x1000]);
    const next = new ImplMachine(DIFF_MEMORY);
    expect([next.readPhysical(0x1234, 1)[0], next.readPhysical(0x5678, 1)[0]]).toEqual([0, 9]);
    next.release();
    for (const m of held) m.release();
  });

  it('after a campaign\'s cases (each releasing impl with the model\'s written pages) the RAM handed on is zero; not when runCase vouches for no page', () => {
    const leftover = (): number => {
      runCampaign({ steps: 600, seed: SEED, shard: { index: 0, count: 1 }, machines: ['model', 'impl'], replayDir, maxFailures: 1 });
      const rams = [new ImplMachine(DIFF_MEMORY), new ImplMachine(DIFF_MEMORY)];
      const nonZero = rams.reduce((n, m) => n + m.viewPhysical(0, DIFF_MEMORY).reduce((k, x) => k + (x === 0 ? 0 : 1), 0), 0);
      for (const m of rams) m.release();
      return nonZero;
    };
    expect(leftover()).toBe(0);
    runCaseMutation.vouchForNoPage = true;
    try { expect(leftover()).toBeGreaterThan(0); } finally { runCaseMutation.vouchForNoPage = false; }
    expect(leftover()).toBe(0);
  });

  it('a campaign fails when recycled decoded-instruction arrays keep the last case\'s instructions (mutant recycled-code-slots-kept)', () => {
    const run = (): number => runCampaign({ steps: 3000, seed: SEED, shard: { index: 0, count: 1 }, machines: ['model', 'impl'], replayDir, maxFailures: 1 }).failures.length;
    expect(run()).toBe(0);
    mutation.active = 'recycled-code-slots-kept';
    // (A machine empties only the slots it filled, so the arrays the mutant handed on full are dropped.)
    try { expect(run()).toBe(1); } finally { mutation.active = null; dropSpareCodeSlots(); }
    expect(run()).toBe(0);
  });

  it('a campaign fails when recycled RAM keeps the last case\'s bytes (mutant recycled-ram-not-zeroed)', () => {
    const run = (): number => runCampaign({ steps: 3000, seed: SEED, shard: { index: 0, count: 1 }, machines: ['model', 'impl'], replayDir, maxFailures: 1 }).failures.length;
    expect(run()).toBe(0);
    mutation.active = 'recycled-ram-not-zeroed';
    expect(run()).toBe(1);
    mutation.active = null;
    expect(run()).toBe(0); // RAM left dirty in the pool by the mutant is zeroed when taken
  });
});
