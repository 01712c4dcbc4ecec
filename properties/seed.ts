// Every property runs from a fixed seed so that CI is deterministic; set
// MESOVIRT_SEED to explore other seeds. fast-check prints the seed and the
// path of a failure, and `replayParameters` turns them back into a run.
import type { Parameters } from 'fast-check';

export const DEFAULT_SEED = 0x6d65736f; // 'meso'

export function propertySeed(): number {
  const raw = process.env.MESOVIRT_SEED;
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  const seed = Number(raw);
  if (!Number.isInteger(seed)) throw new Error(`MESOVIRT_SEED must be an integer, got '${raw}'`);
  return seed | 0;
}

/** fast-check parameters for a property run: fixed seed, given number of runs. */
export function propertyParams<T>(numRuns: number, extra: Parameters<T> = {}): Parameters<T> {
  return { seed: propertySeed(), numRuns, verbose: 1, ...extra };
}
