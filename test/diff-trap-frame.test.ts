// [DIFF.MASK.2] A single-step #DB is delivered in the step of the instruction
// it follows, so its frame's EFLAGS image holds that instruction's undefined
// flags, each machine's own choice. The two campaign cases kept here (the
// default seed's cases 976 and 5661: `o16 rcr word [...], cl` with a count
// that leaves OF undefined, TF set; in the second, delivering the #DB
// faults #GP(EXT) and the #GP frame carries the image) agree only because
// the lock step copies the model's choice into impl's frame image.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseReplay } from '../properties/replay/format';
import { runScenario } from '../properties/diff/scenario';
import { lockstepMutation } from '../properties/diff/lockstep';

const REPLAYS = join(import.meta.dirname, 'impl', 'replays');
const CASES: ReadonlyArray<[string, number]> = [
  ['single-step-frame-keeps-undefined-of', 1],
  ['single-step-gp-frame-keeps-undefined-of', 13],
];

describe('[DIFF.MASK.2] the undefined bits in a single-step frame are aligned', () => {
  afterEach(() => { lockstepMutation.alignFrames = true; });
  for (const [name, vector] of CASES) {
    const file = join(REPLAYS, `${name}.json`);
    const replay = parseReplay(readFileSync(file, 'utf8'), file);
    it(`${name}: model and impl agree, and the first step is a vector ${vector} taken with TF set`, () => {
      const events: { kind: string; vector?: number }[] = [];
      const outcome = runScenario(replay.scenario, replay.machines, (e) => events.push(e as { kind: string; vector?: number }));
      expect(outcome.failure).toBeNull();
      expect(replay.scenario.initial.eflags & 0x100).toBe(0x100);
      expect(events[0], JSON.stringify(events)).toMatchObject({ kind: "exception", vector });
    });
    it(`${name}: without the alignment the frames differ in OF (bit 11, the image's second byte)`, () => {
      lockstepMutation.alignFrames = false;
      const outcome = runScenario(replay.scenario, replay.machines);
      const text = JSON.stringify(outcome.failure);
      expect(text).toMatch(/memory 0x[0-9a-f]+: model 0x[0-9a-f]+ impl 0x[0-9a-f]+/);
      const m = /model 0x([0-9a-f]+) impl 0x([0-9a-f]+)/.exec(text)!;
      expect(parseInt(m[1]!, 16) ^ parseInt(m[2]!, 16)).toBe(0x08);
    });
  }
});
