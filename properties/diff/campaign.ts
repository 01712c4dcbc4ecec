// A differential campaign: random DIFF cases drawn one by one until a step
// budget is compared, optionally one shard of a larger campaign, with a
// result that merges across shards. Each failure is shrunk (instructions
// dropped while it still fails) and written to a replay file.
import { diffCase, type DiffCase } from './states';
import { firstSample } from '../gen';
import type { Descriptor } from '../builders';
import { runCase, runScenario, scenarioOfCase, type MachinePair, STEPS_PER_CASE } from './scenario';
import { describeReplay, writeReplay } from '../replay/report';
import type { StepEvent } from '../../model/machine';

export interface Shard { readonly index: number; readonly count: number }

export interface CampaignFailure {
  readonly case: number;
  readonly replay: string;
  readonly summary: string;
}

export interface CampaignResult {
  readonly format: 'mesovirt-check/1';
  readonly seed: number;
  readonly machines: MachinePair;
  readonly shardCount: number;
  /** The shard indices this result covers (all of 0..count-1 after a full merge). */
  readonly shards: readonly number[];
  readonly stepBudget: number;
  readonly steps: number;
  /** [DIFF.CASE.3] Of `steps`, those that started inside a case's drawn
   * stream (the rest: handlers, and the targets of far transfers and gates).
   * Absent in results written before the rule. */
  readonly streamSteps?: number;
  readonly cases: number;
  readonly known: Readonly<Record<string, number>>;
  readonly failures: readonly CampaignFailure[];
  /** What was compared: steps by the model's event, cases by CPL and
   * paging, and the mnemonics of the instruction streams drawn. */
  readonly coverage?: Coverage;
}

export interface Coverage {
  readonly events: Readonly<Record<string, number>>;
  readonly cases: Readonly<Record<string, number>>;
  readonly mnemonics: Readonly<Record<string, number>>;
}

const count = (table: Record<string, number>, key: string, n = 1): void => { table[key] = (table[key] ?? 0) + n; };

/** A step event as a coverage key: its kind, and the vector of an exception. */
export function eventKey(e: StepEvent): string {
  return e.kind === 'exception' ? `exception ${e.vector}` : e.kind;
}

/** Add coverage tables up (shards of one campaign). */
function addCoverage(parts: readonly (Coverage | undefined)[]): Coverage | undefined {
  if (parts.some((c) => c === undefined)) return undefined;
  const sum = { events: {}, cases: {}, mnemonics: {} } as { events: Record<string, number>; cases: Record<string, number>; mnemonics: Record<string, number> };
  for (const c of parts as Coverage[]) {
    for (const table of ['events', 'cases', 'mnemonics'] as const) for (const [k, n] of Object.entries(c[table])) count(sum[table], k, n);
  }
  return sum;
}

/** [DIFF.SHARD.1] The seed of case k's generator: the campaign seed and k alone. */
export function caseSeed(seed: number, k: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(k + 1, 0x85ebca6b)) | 0;
}

/** [DIFF.SHARD.1] Case k is drawn from a generator seeded by the campaign
 * seed and k alone: the case fc.sample(arbDiffCase, …) gives at that seed,
 * drawn without fast-check's runner or the arbitrary's machinery
 * (properties/gen.ts firstSample; test/gen.test.ts checks they are equal). */
export function campaignCase(seed: number, k: number): DiffCase {
  return firstSample(diffCase, caseSeed(seed, k));
}

/** [DIFF.SHARD.1] Shard I of N owns cases I, I + N, …; its share of the budget is the budget / N rounded up. */
export function shardShare(stepBudget: number, shard: Shard): number {
  return Math.ceil(stepBudget / shard.count);
}

const fails = (c: DiffCase, pair: MachinePair): boolean => runCase(c, pair).failure !== null;

/** Every case one simplification away: an instruction dropped, or one piece
 * of the random tables made plain (an IDT override, a register selector or
 * LDTR loading dropped; a GDT or LDT entry emptied; a stack dword zeroed). */
function simplerCases(c: DiffCase): DiffCase[] {
  const t = c.tables;
  const without = <T>(list: readonly T[], i: number): T[] => list.filter((_, j) => j !== i);
  const emptied = (list: readonly Descriptor[], i: number): Descriptor[] => list.map((d, j) => (j === i ? [0, 0] as const : d));
  const isEmpty = (d: Descriptor): boolean => d[0] === 0 && d[1] === 0;
  return [
    ...(c.program.length > 1 ? c.program.map((_, i) => ({ ...c, program: without(c.program, i) })) : []),
    ...t.idt.map((_, i) => ({ ...c, tables: { ...t, idt: without(t.idt, i) } })),
    ...t.selectors.map((_, i) => ({ ...c, tables: { ...t, selectors: without(t.selectors, i) } })),
    ...(t.ldtLoaded ? [{ ...c, tables: { ...t, ldtLoaded: false } }] : []),
    ...t.gdt.flatMap((d, i) => (isEmpty(d) ? [] : [{ ...c, tables: { ...t, gdt: emptied(t.gdt, i) } }])),
    ...t.ldt.flatMap((d, i) => (isEmpty(d) ? [] : [{ ...c, tables: { ...t, ldt: emptied(t.ldt, i) } }])),
    ...t.stack.flatMap((v, i) => (v === 0 ? [] : [{ ...c, tables: { ...t, stack: t.stack.map((w, j) => (j === i ? 0 : w)) } }])),
  ];
}

/** Simplify while the case still fails: the shortest stream and the plainest
 * tables that still show it. */
export function shrinkCase(c: DiffCase, pair: MachinePair): DiffCase {
  let current = c;
  for (let changed = true; changed;) {
    changed = false;
    for (const simpler of simplerCases(current)) {
      if (fails(simpler, pair)) { current = simpler; changed = true; break; }
    }
  }
  return current;
}

export interface CampaignOptions {
  readonly steps: number;
  readonly seed: number;
  readonly shard: Shard;
  readonly machines: MachinePair;
  readonly replayDir?: string;
  /** Stop after this many failures (each is shrunk and written). */
  readonly maxFailures?: number;
  /** Shrink each failure before writing it (default true); a bench that
   * times the campaign turns it off, since shrinking runs many more cases. */
  readonly shrink?: boolean;
  /** Stop drawing cases at this time (ms since the epoch), budget or not. */
  readonly deadline?: number;
  readonly onProgress?: (steps: number, cases: number, failures: number) => void;
  readonly onFailure?: (report: string) => void;
}

export function runCampaign(o: CampaignOptions): CampaignResult {
  const share = shardShare(o.steps, o.shard);
  const known: Record<string, number> = {};
  const failures: CampaignFailure[] = [];
  // [DIFF.COVER.1]
  const coverage = { events: {} as Record<string, number>, cases: {} as Record<string, number>, mnemonics: {} as Record<string, number> };
  const onStep = (e: StepEvent): void => count(coverage.events, eventKey(e));
  let steps = 0, streamSteps = 0, cases = 0;
  for (let k = o.shard.index; steps < share && failures.length < (o.maxFailures ?? 5) && (o.deadline === undefined || Date.now() < o.deadline); k += o.shard.count) {
    const c = campaignCase(o.seed, k);
    count(coverage.cases, `cpl ${c.cpl}`);
    count(coverage.cases, c.paging ? 'paging on' : 'paging off');
    for (const i of c.program) count(coverage.mnemonics, i.mnemonic);
    const r = runCase(c, o.machines, onStep);
    steps += r.steps;
    streamSteps += r.streamSteps;
    cases++;
    if (r.known !== null) known[r.known] = (known[r.known] ?? 0) + 1;
    if (r.failure !== null) {
      const small = scenarioOfCase(o.shrink === false ? c : shrinkCase(c, o.machines));
      const again = runScenario(small, o.machines);
      const failure = again.failure ?? r.failure;
      const scenario = again.failure !== null ? small : scenarioOfCase(c);
      const replay = { seed: o.seed, path: `case ${k}`, origin: `campaign case ${k}`, machines: o.machines, scenario, failure };
      const path = writeReplay(replay, o.replayDir);
      failures.push({ case: k, replay: path, summary: failure.differences[0] ?? 'differs' });
      o.onFailure?.(describeReplay(replay, path));
    }
    if ((cases & 15) === 0) o.onProgress?.(steps, cases, failures.length);
  }
  o.onProgress?.(steps, cases, failures.length);
  return {
    format: 'mesovirt-check/1', seed: o.seed, machines: o.machines, shardCount: o.shard.count, shards: [o.shard.index],
    stepBudget: o.steps, steps, streamSteps, cases, known, failures, coverage,
  };
}

/** [DIFF.SHARD.1] Add up shard results of one campaign. */
export function mergeResults(results: readonly CampaignResult[]): CampaignResult {
  if (results.length === 0) throw new Error('merge: no results given');
  const first = results[0]!;
  const shards = new Set<number>();
  const known: Record<string, number> = {};
  for (const r of results) {
    if (r.seed !== first.seed) throw new Error(`merge: results of different seeds (${first.seed} and ${r.seed})`);
    if (r.machines.join(':') !== first.machines.join(':')) throw new Error(`merge: results of different machine pairs (${first.machines.join(':')} and ${r.machines.join(':')})`);
    if (r.shardCount !== first.shardCount) throw new Error(`merge: results of different shard counts (${first.shardCount} and ${r.shardCount})`);
    if (r.stepBudget !== first.stepBudget) throw new Error(`merge: results of different step budgets (${first.stepBudget} and ${r.stepBudget})`);
    for (const s of r.shards) {
      if (shards.has(s)) throw new Error(`merge: shard ${s}/${first.shardCount} appears twice`);
      shards.add(s);
    }
    for (const [id, n] of Object.entries(r.known)) known[id] = (known[id] ?? 0) + n;
  }
  const coverage = addCoverage(results.map((r) => r.coverage));
  const streamSteps = results.every((r) => r.streamSteps !== undefined) ? results.reduce((a, r) => a + r.streamSteps!, 0) : undefined;
  return {
    format: 'mesovirt-check/1', seed: first.seed, machines: first.machines, shardCount: first.shardCount,
    shards: [...shards].sort((a, b) => a - b), stepBudget: first.stepBudget,
    steps: results.reduce((a, r) => a + r.steps, 0),
    ...(streamSteps === undefined ? {} : { streamSteps }),
    cases: results.reduce((a, r) => a + r.cases, 0),
    known,
    failures: results.flatMap((r) => r.failures).sort((a, b) => a.case - b.case),
    ...(coverage === undefined ? {} : { coverage }),
  };
}

export { STEPS_PER_CASE };
