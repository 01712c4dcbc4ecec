// The benchmark report: wrong answers and missing machines are shown as such,
// ratios compare the same image, and results files are written whole.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anyWrong, formatResults, saveResults } from '../bench/report';
import type { BenchResults, Measured } from '../bench/suite';

const figure = (medianMs: number): Measured => ({
  status: 'ok', work: 100, instructions: 2_000_000,
  timing: { runs: 3, minMs: medianMs - 1, medianMs },
  mips: { median: 2_000_000 / medianMs / 1000, best: 2_000_000 / (medianMs - 1) / 1000 },
});

const results = (implMs: number, v86Ms: number): BenchResults => ({
  timestamp: '2026-01-02T03:04:05.678Z', quick: false, runs: 3,
  host: { node: 'v20', platform: 'linux-x64', cpus: 2 },
  kernels: [{
    name: 'alu', describe: 'register-only ALU loop',
    model: figure(1000), impl: figure(implMs), v86: figure(v86Ms), v86Warm: figure(v86Ms / 2),
    qemu: { status: 'missing', reason: 'qemu-system-i386 is not installed' },
    qemuIcount: { status: 'missing', reason: 'qemu-system-i386 is not installed' },
    ratios: { implOverV86: v86Ms / implMs, implOverV86Warm: v86Ms / 2 / implMs, implOverQemu: null },
  }],
  decoder: { status: 'missing', reason: 'bench/decoder.ts does not exist' },
  differential: { status: 'ok', steps: 5000, stepsPerSecond: 2500, guest: 'sieve' },
});

describe('benchmark report', () => {
  test('a table row per machine, MIPS from the instruction count, missing machines said to be missing', () => {
    const text = formatResults(results(200, 50));
    // 2,000,000 instructions in 200 ms median = 10 MIPS; in 199 ms best = 10.05.
    expect(text).toMatch(/impl +100 +2000000 +199 \/ 200 +10\.1 \/ 10\.0/);
    expect(text).toContain('missing: qemu-system-i386 is not installed');
    expect(text).toContain('impl/v86 warm 1/8.0   impl/v86 cold 1/4.0');
    expect(text).toMatch(/v86 cold +100 +2000000 +49\.0 \/ 50\.0/);
    expect(text).toMatch(/v86 warm +100 +2000000 +24\.0 \/ 25\.0/);
    expect(text).toContain('decoder: missing: bench/decoder.ts does not exist');
    expect(text).toContain('5000 steps compared, 2500 steps/s');
    expect(anyWrong(results(200, 50))).toBe(false);
  });
  test("impl's untimed first run is shown beside its figures", () => {
    const r = results(200, 50);
    const text = formatResults({ ...r, kernels: [{ ...r.kernels[0]!, implFirstRunMs: 345.6 }] });
    expect(text).toMatch(/impl +100 +2000000 +199 \/ 200 +10\.1 \/ 10\.0 +after a first run of 346 ms \(not counted\)/);
    expect(formatResults(r)).not.toContain('after a first run');
  });
  test("the model's untimed warm-up runs are shown beside its figures, the cold first run's time with them", () => {
    const r = results(200, 50);
    const text = formatResults({ ...r, kernels: [{ ...r.kernels[0]!, modelWarmUp: { runs: 4, ms: 1234.4, firstRunMs: 612.3 } }] });
    expect(text).toMatch(/model +.*after 4 untimed runs of 1234 ms \(the first, cold: 612 ms\)/);
    expect(formatResults(r)).not.toMatch(/model +.*untimed run/);
  });
  test('impl faster than v86 reads as a multiple', () => {
    expect(formatResults(results(50, 100))).toContain('impl/v86 warm 1.00x   impl/v86 cold 2.00x');
  });
  test('a wrong checksum is shown and counts as a failure', () => {
    const r = results(100, 100);
    const wrong: BenchResults = { ...r, kernels: [{ ...r.kernels[0]!, v86: { status: 'wrong', expected: 'alu 1\n', got: 'alu 2\n' } }] };
    expect(formatResults(wrong)).toContain('WRONG: printed "alu 2\\n", expected "alu 1\\n"');
    expect(anyWrong(wrong)).toBe(true);
  });
  test('results are written as <timestamp>.json and latest.json, with no temporary file left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesovirt-bench-results-'));
    try {
      const path = saveResults(results(100, 100), dir);
      expect(readdirSync(dir).sort()).toEqual(['2026-01-02T03-04-05-678Z.json', 'latest.json']);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(results(100, 100));
      expect(readFileSync(join(dir, 'latest.json'), 'utf8')).toBe(readFileSync(path, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
