// [DIFF.MEMORY.1] A campaign compares impl's RAM with the model's only over
// the pages either machine wrote: impl records its own (impl/memory.ts
// recordWrittenFrames; createPairMachine makes impl so), and a page neither
// wrote is zero on both sides. That is sound only if impl records every page
// it changes. Here, for random campaign cases run in lock step as runCase
// runs them, every page whose bytes changed (found by comparing impl's RAM
// with a copy taken before the run, not by impl) is among those recorded,
// and after loading every non-zero page is. And a stray write planted in
// impl through each kind of writer, in a page neither machine wrote, is
// reported by the comparison exactly as the full scan of impl's RAM (the
// comparison of a machine that does not record) reports it; with a mutant
// that makes that writer skip the record, it goes unseen.
import { afterEach, describe, expect, it } from 'vitest';
import type { Machine } from '../model/machine';
import { ImplMachine } from '../impl/machine';
import { mutation, type MutantId } from '../impl/mutants';
import { pushFrame, pushRingFrame } from '../impl/stack-switch';
import { campaignCase } from '../properties/diff/campaign';
import { caseMachine, scenarioOfCase, streamBounds } from '../properties/diff/scenario';
import { DIFF_MEMORY, MAX_REP_COUNT, STEPS_PER_CASE, caseState } from '../properties/diff/states';
import { lockstep, memoryDifferences } from '../properties/diff/lockstep';
import { LAYOUT } from '../properties/builders';

const SEED = 0x77f1;
const PAGES = DIFF_MEMORY / 4096;

/** The pages (physical addresses) where two copies of RAM differ. */
function changedPages(before: Uint8Array, after: Uint8Array): number[] {
  const out: number[] = [];
  for (let page = 0; page < PAGES; page++) {
    const at = page * 4096;
    if (!Buffer.from(before.buffer, before.byteOffset + at, 4096).equals(Buffer.from(after.buffer, after.byteOffset + at, 4096))) out.push(at);
  }
  return out;
}

/** The pages of `ram` that are not all zero. */
const nonZeroPages = (ram: Uint8Array): number[] => changedPages(new Uint8Array(DIFF_MEMORY), ram);

/** A campaign case's two machines, as runCase builds them, run in lock step as it runs them. */
function runPair(k: number): { model: Machine; impl: ImplMachine; loaded: number[]; recordedAtLoad: readonly number[]; before: Uint8Array } {
  const c = campaignCase(SEED, k), s = caseState(c);
  const model = caseMachine('model', s), impl = caseMachine('impl', s) as ImplMachine;
  const loaded = nonZeroPages(impl.viewPhysical(0, DIFF_MEMORY));
  const recordedAtLoad = impl.writtenPages()!;
  // From here on, only what the run writes is recorded.
  impl.cpu.memory.recordWrittenFrames();
  const before = impl.readPhysical(0, DIFF_MEMORY);
  lockstep(model, impl, STEPS_PER_CASE, { maxRepCount: MAX_REP_COUNT, stream: streamBounds(LAYOUT.code, scenarioOfCase(c).code.bytes.length, true) });
  return { model, impl, loaded, recordedAtLoad, before };
}

/** Over `n` campaign cases: the pages loaded or changed by the run but not recorded (as "case: page"), and how many pages the runs changed. */
function randomCases(n: number): { unrecorded: string[]; changed: number; beyondLoaded: number } {
  const unrecorded: string[] = [];
  let changed = 0, beyondLoaded = 0;
  for (let k = 0; k < n; k++) {
    const { impl, loaded, recordedAtLoad, before } = runPair(k);
    try {
      const pages = changedPages(before, impl.viewPhysical(0, DIFF_MEMORY)), recorded = impl.writtenPages()!;
      for (const p of loaded) if (!recordedAtLoad.includes(p)) unrecorded.push(`${k}: loaded 0x${p.toString(16)}`);
      for (const p of pages) if (!recorded.includes(p)) unrecorded.push(`${k}: changed 0x${p.toString(16)}`);
      changed += pages.length;
      beyondLoaded += pages.filter((p) => !loaded.includes(p)).length;
    } finally {
      impl.release();
    }
  }
  return { unrecorded, changed, beyondLoaded };
}

/** The comparison of a machine that does not record its writes: impl's RAM scanned whole. */
function scanned(impl: ImplMachine): Machine {
  return {
    name: 'impl', memorySize: impl.memorySize,
    readPhysical: (a, n) => impl.readPhysical(a, n), viewPhysical: (a, n) => impl.viewPhysical(a, n),
  } as Partial<Machine> as Machine;
}

const STRAY = 0x104000;

/** Stray writes into STRAY's page, one per kind of writer (paging is off in the case used). */
const PLANTS: ReadonlyArray<[string, (m: ImplMachine) => void]> = [
  ['a store (memory.write32)', (m) => m.cpu.memory.write32(STRAY + 0x10, 0xdeadbeef)],
  ['a byte store (memory.write8)', (m) => m.cpu.memory.write8(STRAY + 0xfff, 0x5a)],
  ['writePhysical', (m) => m.writePhysical(STRAY + 0x20, Uint8Array.of(9))],
  ['an interrupt frame to the same ring (pushFrame)', (m) => { pushFrame(m.cpu, 0, 0, 0xffffffff, STRAY + 0x800, [1, 2, 3], 4, 0, 0); }],
  ['an interrupt frame to an inner ring (pushRingFrame)', (m) => { pushRingFrame(m.cpu, 0, 0, 0xffffffff, STRAY + 0x800, 0, 0, 0x10, 0x7000, 0x202, 0x1b, 0x1234, null); }],
];

/** The plants the comparison does not report as the full scan does, or at all. */
function missedPlants(): string[] {
  const k = Array.from({ length: 50 }, (_, i) => i).find((i) => !campaignCase(SEED, i).paging)!;
  return PLANTS.filter(([, plant]) => {
    const { model, impl } = runPair(k);
    try {
      const clean = memoryDifferences(model, impl, 0, DIFF_MEMORY);
      plant(impl);
      const found = memoryDifferences(model, impl, 0, DIFF_MEMORY), expected = memoryDifferences(model, scanned(impl), 0, DIFF_MEMORY);
      return clean.length > 0 || expected.length === 0 || JSON.stringify(found) !== JSON.stringify(expected);
    } finally {
      impl.release();
    }
  }).map(([name]) => name);
}

describe('[DIFF.MEMORY.1] impl records every page it writes in a campaign, and the comparison reads only those and the model\'s', () => {
  afterEach(() => { mutation.active = null; });

  it('over random campaign cases: every page loaded or changed by the run is recorded', () => {
    const r = randomCases(300);
    expect(r.unrecorded).toEqual([]);
    // The runs wrote pages, many of them pages the case had not loaded (a
    // delivery's frame on a stack page, accessed bits in a page table).
    expect(r.changed).toBeGreaterThan(300);
    expect(r.beyondLoaded).toBeGreaterThan(100);
  });

  it('a stray write in a page neither machine wrote is reported as the full scan reports it, whatever wrote it', () => {
    expect(missedPlants()).toEqual([]);
  });

  const killers: Array<[MutantId, string]> = [
    ['first-write-unrecorded', 'a store (memory.write32)'],
    ['push-frame-skips-record', 'an interrupt frame to an inner ring (pushRingFrame)'],
  ];
  for (const [id, plant] of killers) {
    it(`kills ${id}: the comparison then misses ${plant}, and random cases change pages not recorded`, () => {
      mutation.active = id;
      expect(missedPlants()).toContain(plant);
      expect(randomCases(100).unrecorded).not.toEqual([]);
    });
  }
});
