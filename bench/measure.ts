// Shared measuring helpers for benchmarks. Machines here are shared and
// noisy, so every figure is taken several times in one run and reported as
// min and median; ratios compare figures from the same run only.

export interface Timing {
  readonly runs: number;
  readonly minMs: number;
  readonly medianMs: number;
}

export function summarize(samplesMs: readonly number[]): Timing {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { runs: sorted.length, minMs: sorted[0]!, medianMs: median };
}

/** Runs `work` `runs` times (after one warm-up) and times each run. */
export async function timeRuns(runs: number, work: () => unknown | Promise<unknown>): Promise<Timing> {
  await work();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    samples.push(performance.now() - start);
  }
  return summarize(samples);
}

/** Rate in units per second from a count and a time in milliseconds. */
export const perSecond = (count: number, ms: number): number => (ms > 0 ? (count * 1000) / ms : Infinity);
