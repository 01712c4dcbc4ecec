// Whole guests in lock step: every guest image the project has (hello, the
// teaching kernel, the benchmark kernels at small sizes, the conformance
// kernels, the RTOS) runs on two machines compared after every step, and on
// memory at the end. Each compared step counts toward the DIFF budget.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble } from '../../model/isa/asm/assemble';
import { formatError } from '../../model/isa/asm/source';
import type { StepEvent } from '../../model/machine';
import { bootImage } from '../machines';
import { KERNELS as BENCH_KERNELS, buildKernel as buildBenchKernel } from '../../bench/kernels';
import { KERNELS as CONFORMANCE_KERNELS, buildKernel as buildConformanceKernel } from '../conformance/kernels';
import { createPairMachine, type MachinePair } from './scenario';
import { lockstep, memoryDifferences, type Divergence } from './lockstep';

const GUESTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'guests');
export const GUEST_MEMORY = 16 << 20;

export interface LockstepGuest {
  readonly name: string;
  build(): Uint8Array;
  /** At most this many steps are compared. */
  readonly budget: number;
  /** True when the guest idles in HLT waiting for its timer (run through it). */
  readonly idles?: boolean;
}

function buildSource(relative: string, format: 'bin' | 'elf', defines: Record<string, string> = {}): Uint8Array {
  const path = join(GUESTS, relative);
  const result = assemble(path, (file) => {
    for (const candidate of [file, resolve(dirname(path), file)]) if (existsSync(candidate)) return readFileSync(candidate, 'utf8');
    return null;
  }, { format, defines });
  if (result.kind !== 'ok') throw new Error(result.errors.slice(0, 3).map(formatError).join('\n'));
  return result.bytes;
}

/** Small sizes: the model is the bottleneck (a few thousand steps per second). */
const BENCH_WORK: Record<string, number> = { alu: 3_000, sieve: 4_096, syscall: 20 };

// [DIFF.GUEST.1]
export const LOCKSTEP_GUESTS: readonly LockstepGuest[] = [
  { name: 'hello', build: () => buildSource('hello/hello.asm', 'elf'), budget: 100_000 },
  { name: 'teach (native)', build: () => buildSource('teach/teach.asm', 'bin'), budget: 2_000_000 },
  ...BENCH_KERNELS.map((k) => ({ name: `bench ${k.name} (${BENCH_WORK[k.name]})`, build: () => buildBenchKernel(k, BENCH_WORK[k.name]!), budget: 2_000_000 })),
  ...CONFORMANCE_KERNELS.map((k) => ({ name: `conformance ${k}`, build: () => buildConformanceKernel(k), budget: 2_000_000 })),
  { name: 'rtos (native)', build: () => buildSource('rtos/rtos.asm', 'bin'), budget: 40_000, idles: true },
];

// [DIFF.BUDGET.1] The floor of compared steps the test suite must reach.
export const REQUIRED_COMPARED_STEPS = 200_000;

export interface GuestLockstep {
  readonly name: string;
  readonly steps: number;
  readonly last: StepEvent | null;
  readonly divergence: Divergence | null;
  readonly memory: readonly string[];
  readonly consoleAgrees: boolean;
}

/** Run a guest in lock step (`image`: the guest already built, for a bench that times the run alone). */
export function lockstepGuest(g: LockstepGuest, pair: MachinePair = ['model', 'impl'], image: Uint8Array = g.build()): GuestLockstep {
  const a = createPairMachine(pair[0], GUEST_MEMORY), b = createPairMachine(pair[1], GUEST_MEMORY);
  bootImage(a, image, g.name);
  bootImage(b, image, g.name);
  const run = lockstep(a, b, g.budget, { throughHalt: g.idles === true });
  const memory = run.divergence === null ? memoryDifferences(a, b, 0, 4 << 20) : [];
  const ca = a.consoleOutput(), cb = b.consoleOutput();
  const consoleAgrees = ca.length === cb.length && ca.every((x, i) => x === cb[i]);
  return { name: g.name, steps: run.steps, last: run.last, divergence: run.divergence, memory, consoleAgrees };
}
