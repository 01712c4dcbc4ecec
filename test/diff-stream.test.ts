// [DIFF.CASE.3] A random case is compared while it runs what was drawn: it
// stops before the second instruction that starts in the zero bytes after
// its stream, and a campaign counts the steps that started inside the
// streams. Replay files written before the rule (no stopAfterStream) still
// run all their steps through the zeros. About 2 s.
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decode } from '../model/isa/decoder';
import type { Instruction } from '../model/isa/ast';
import { campaignCase, mergeResults, runCampaign } from '../properties/diff/campaign';
import { runCase, runScenario, scenarioOfCase, STEPS_PER_CASE } from '../properties/diff/scenario';
import { DATA, type DiffCase } from '../properties/diff/states';
import { parseReplay } from '../properties/replay/format';

const SEED = 0x6361;
const replayDir = mkdtempSync(join(tmpdir(), 'mesovirt-stream-'));

const instruction = (bytes: number[]): Instruction => {
  const r = decode(bytes);
  if (r.kind !== 'ok') throw new Error(`${bytes.join(' ')} does not decode`);
  return r.instruction;
};

/** A plain case (CPL 0, paging off, no TF, no random gates) running `program`, EAX on a data page. */
function plainCase(program: Instruction[]): DiffCase {
  const drawn = campaignCase(SEED, 0);
  const regs = [DATA, 0, 0, 0, 0, 0, 0, 0];
  return { ...drawn, cpl: 0, paging: false, trap: false, eflags: 2, regs, program, tables: { ...drawn.tables, idt: [], selectors: [], stack: drawn.tables.stack.map(() => 0) } };
}

describe('[DIFF.CASE.3] a case stops in the zero bytes after its stream', () => {
  it('one NOP: the NOP, one ADD [EAX], AL fetched past the end, then the case stops', () => {
    const c = plainCase([instruction([0x90])]);
    const events: string[] = [];
    const r = runCase(c, ['model', 'impl'], (e) => events.push(e.kind));
    expect(r.failure).toBeNull();
    expect([r.steps, r.streamSteps]).toEqual([2, 1]);
    expect(events).toEqual(['retired', 'retired']);
    // The replay path (a scenario with stopAfterStream) is the same run.
    const s = scenarioOfCase(c);
    expect(s.stopAfterStream).toBe(true);
    expect(runScenario(s)).toMatchObject({ steps: 2, streamSteps: 1, failure: null });
    // Without the field (a replay file from before the rule): all 24 steps, 23 of them ADD [EAX], AL.
    expect(runScenario({ ...s, stopAfterStream: undefined })).toMatchObject({ steps: STEPS_PER_CASE, streamSteps: 1, failure: null });
  });

  it('a loop inside the stream runs its whole budget, every step inside', () => {
    const r = runCase(plainCase([instruction([0x40]), instruction([0xeb, 0xfd])])); // inc eax; jmp back to it
    expect([r.steps, r.streamSteps]).toEqual([STEPS_PER_CASE, STEPS_PER_CASE]);
  });

  it('a jump into the zeros further on counts as the one step there, and the case stops', () => {
    // jmp short +0x20: lands in the page's zero bytes; one ADD there, then stop.
    const r = runCase(plainCase([instruction([0xeb, 0x20])]));
    expect([r.steps, r.streamSteps]).toEqual([2, 1]);
  });

  it('a fault leaves the stream for the handler, whose HLT is compared and counts outside', () => {
    const r = runCase(plainCase([instruction([0x0f, 0x0b])])); // ud2 → #UD → the ring-0 HLT at HANDLER
    expect([r.steps, r.streamSteps]).toEqual([2, 1]);
  });

  it('a replay file written before the rule has no stopAfterStream and runs through the zeros', () => {
    // test/impl/replays/shift-count-zero-memory.json: found on the 24th step, in the zeros after its stream.
    const file = join(import.meta.dirname, 'impl', 'replays', 'shift-count-zero-memory.json');
    const replay = parseReplay(readFileSync(file, 'utf8'), file);
    expect(replay.scenario.stopAfterStream).toBeUndefined();
    const old = runScenario(replay.scenario, replay.machines);
    expect(old.failure).toBeNull();
    expect(old.steps).toBe(STEPS_PER_CASE);
    expect(runScenario({ ...replay.scenario, stopAfterStream: true }, replay.machines).steps).toBeLessThan(STEPS_PER_CASE);
  });

  it('a campaign reports its steps inside the streams, and shards add them up', () => {
    const run = (index: number) => runCampaign({ steps: 600, seed: SEED, shard: { index, count: 2 }, machines: ['model', 'impl'], replayDir, maxFailures: 1000 });
    const [a, b] = [run(0), run(1)];
    for (const r of [a, b]) {
      expect(r.streamSteps).toBeGreaterThan(0);
      expect(r.streamSteps).toBeLessThan(r.steps);
    }
    // Each case's own count, added up.
    let expected = 0;
    for (let k = 0; k < a.cases * 2; k += 2) expected += runCase(campaignCase(SEED, k)).streamSteps;
    expect(a.streamSteps).toBe(expected);
    expect(mergeResults([a, b]).streamSteps).toBe(a.streamSteps! + b.streamSteps!);
    // A result from before the count has none, and neither has a merge that includes it.
    expect(mergeResults([a, { ...b, streamSteps: undefined }]).streamSteps).toBeUndefined();
  });
});
