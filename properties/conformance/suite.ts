// The conformance suite: build every kernel, run it on our machines and on
// the installed oracles, and compare each transcript with the expected one.
import { KERNELS, buildKernel, expectedTranscript, type KernelName } from './kernels';
import { createMachine, runOnMachine, type OwnMachine, type Transcript } from './machines';
import { runOracle, type Oracle } from './oracles';
import { compareTranscript, type Comparison } from './compare';
import { loadKnown, type KnownDiscrepancies } from './known';

export interface SuiteOptions {
  readonly kernels?: readonly KernelName[];
  readonly machines: readonly OwnMachine[];
  readonly oracles: readonly Oracle[];
  /** Called after each run (progress). */
  readonly onResult?: (c: Comparison, run: Transcript) => void;
}

export interface SuiteResult {
  readonly comparisons: readonly Comparison[];
  /** Runs that did not end by the kernel's exit (a machine stuck or broken). */
  readonly badEndings: readonly { kernel: string; machine: string; ending: string }[];
}

/** The ending each kernel must reach: 'exit' through port 0xF4, except the
 * shutdown kernel, whose last test triple-faults on purpose. */
export function expectedEnding(kernel: KernelName): string {
  return (kernel as string) === 'shutdown' ? 'shutdown' : 'exit';
}

export async function runSuite(options: SuiteOptions, known: KnownDiscrepancies = loadKnown()): Promise<SuiteResult> {
  const comparisons: Comparison[] = [];
  const badEndings: { kernel: string; machine: string; ending: string }[] = [];
  for (const kernel of options.kernels ?? KERNELS) {
    const image = buildKernel(kernel);
    const expected = expectedTranscript(kernel);
    const record = (machine: OwnMachine | Oracle, run: Transcript, ownEnding: boolean): void => {
      const c = compareTranscript(kernel, machine, expected, run.text, known);
      comparisons.push(c);
      if (ownEnding && run.ending !== expectedEnding(kernel)) badEndings.push({ kernel, machine, ending: run.ending });
      if (!ownEnding && (run.ending === 'timeout' || run.ending.startsWith('failed')
        || (expectedEnding(kernel) === 'shutdown' && run.ending !== 'shutdown'))) badEndings.push({ kernel, machine, ending: run.ending });
      options.onResult?.(c, run);
    };
    for (const machine of options.machines) record(machine, runOnMachine(image, createMachine(machine)), true);
    for (const oracle of options.oracles) record(oracle, await runOracle(oracle, image), false);
  }
  return { comparisons, badEndings };
}

export function suitePassed(r: SuiteResult): boolean {
  return r.badEndings.length === 0 && r.comparisons.every((c) => c.failures.length === 0 && c.stale.length === 0);
}
