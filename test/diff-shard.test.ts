// [DIFF.SHARD.1] Campaigns split by case number: case k belongs to shard
// k mod N and is drawn from the campaign seed and k alone, so shards are
// disjoint, reproducible on any machine, and their results add up.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { campaignCase, mergeResults, runCampaign, shardShare, type CampaignResult } from '../properties/diff/campaign';
import { parseShard, parsePair } from '../cli/commands/check';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const replayDir = mkdtempSync(join(tmpdir(), 'mesovirt-shard-'));
const SEED = 12345;

describe('[DIFF.SHARD.1] sharded campaigns', () => {
  it('case k depends on the seed and k only', () => {
    expect(campaignCase(SEED, 7)).toEqual(campaignCase(SEED, 7));
    expect(campaignCase(SEED, 7)).not.toEqual(campaignCase(SEED, 8));
    expect(campaignCase(SEED, 7)).not.toEqual(campaignCase(SEED + 1, 7));
  });

  it('shard I of N owns its share of the budget, rounded up', () => {
    expect(shardShare(10, { index: 0, count: 3 })).toBe(4);
    expect(shardShare(9, { index: 2, count: 3 })).toBe(3);
  });

  it('two shards run disjoint cases and their results merge to the sums', () => {
    const run = (index: number): CampaignResult => runCampaign({ steps: 120, seed: SEED, shard: { index, count: 2 }, machines: ['model', 'impl'], replayDir, maxFailures: 1000 });
    const a = run(0), b = run(1);
    expect(a.shards).toEqual([0]);
    expect(b.shards).toEqual([1]);
    expect(a.steps).toBeGreaterThanOrEqual(60);
    expect(b.steps).toBeGreaterThanOrEqual(60);
    const merged = mergeResults([b, a]);
    expect(merged.shards).toEqual([0, 1]);
    // [DIFF.COVER.1] Coverage: every compared step has one event; every case one CPL; tables add up.
    const sum = (t: Readonly<Record<string, number>> = {}): number => Object.values(t).reduce((x, y) => x + y, 0);
    for (const r of [a, b, merged]) {
      expect(sum(r.coverage?.events)).toBe(r.steps);
      expect((r.coverage?.cases['cpl 0'] ?? 0) + (r.coverage?.cases['cpl 1'] ?? 0) + (r.coverage?.cases['cpl 3'] ?? 0)).toBe(r.cases);
    }
    const mnemonics = new Set([...Object.keys(a.coverage?.mnemonics ?? {}), ...Object.keys(b.coverage?.mnemonics ?? {})]);
    expect(mnemonics.size).toBeGreaterThan(5);
    for (const m of mnemonics) {
      expect(merged.coverage?.mnemonics[m], m).toBe((a.coverage?.mnemonics[m] ?? 0) + (b.coverage?.mnemonics[m] ?? 0));
    }
    expect(merged.coverage?.events.retired).toBeGreaterThan(0);
    expect(merged.steps).toBe(a.steps + b.steps);
    expect(merged.cases).toBe(a.cases + b.cases);
    for (const id of new Set([...Object.keys(a.known), ...Object.keys(b.known)])) {
      expect(merged.known[id]).toBe((a.known[id] ?? 0) + (b.known[id] ?? 0));
    }
    // Failures keep their case numbers: even in shard 0, odd in shard 1.
    expect(a.failures.every((f) => f.case % 2 === 0)).toBe(true);
    expect(b.failures.every((f) => f.case % 2 === 1)).toBe(true);
    expect(() => mergeResults([a, a])).toThrow('shard 0/2 appears twice');
    expect(() => mergeResults([a, { ...b, seed: SEED + 1 }])).toThrow('different seeds');
    expect(() => mergeResults([a, { ...b, shardCount: 3 }])).toThrow('different shard counts');
  });

  it('the command line parses --shard and --machine-pair, refusing nonsense', () => {
    expect(parseShard('3/4')).toEqual({ index: 3, count: 4 });
    expect(() => parseShard('4/4')).toThrow('0 ≤ I < N');
    expect(() => parseShard('x')).toThrow('I/N');
    expect(parsePair('impl:model')).toEqual(['impl', 'model']);
    expect(() => parsePair('model:qemu')).toThrow('--machine-pair');
  });

  it('check --jobs 2 runs shards 0/2 and 1/2 in two processes and merges them', () => {
    const json = join(replayDir, 'jobs.json');
    const run = spawnSync(process.execPath, ['bin/mesovirt.js', 'check', '--steps', '200', '--seed', String(SEED), '--jobs', '2',
      '--max-failures', '1000', '--replay-dir', replayDir, '--json', json, '--no-progress'], { encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).not.toMatch(/Error|at .*\.ts:/);
    const merged = JSON.parse(readFileSync(json, 'utf8')) as CampaignResult;
    const alone = (index: number): CampaignResult => runCampaign({ steps: 200, seed: SEED, shard: { index, count: 2 }, machines: ['model', 'impl'], replayDir, maxFailures: 1000 });
    const a = alone(0), b = alone(1);
    expect(merged.shards).toEqual([0, 1]);
    expect(merged.shardCount).toBe(2);
    expect(merged.steps).toBe(a.steps + b.steps);
    expect(merged.cases).toBe(a.cases + b.cases);
    expect(merged.failures.map((f) => f.case)).toEqual([...a.failures, ...b.failures].map((f) => f.case).sort((x, y) => x - y));
    expect(run.stdout).toContain(`${merged.steps} compared steps in ${merged.cases} cases`);
    expect(run.status).toBe(merged.failures.length > 0 ? 1 : 0);
  });

  it('check refuses --jobs together with --shard', () => {
    const run = spawnSync(process.execPath, ['bin/mesovirt.js', 'check', '--steps', '10', '--jobs', '2', '--shard', '0/2'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('either --jobs or --shard');
    expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
  });
});
