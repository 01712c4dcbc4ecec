// The conformance suite: every kernel in guests/conformance, run on the
// model and impl in process and on QEMU and Bochs, must print the expected
// transcript (the manual's answers, produced on Bochs and checked by hand),
// except the lines listed in KNOWN-DISCREPANCIES.json for that machine.
import { describe, expect, test } from 'vitest';
import { oracleAvailable } from '../properties/tools';
import { KERNELS, buildKernel, expectedTranscript } from '../properties/conformance/kernels';
import { createMachine, runOnMachine } from '../properties/conformance/machines';
import { ORACLE_TOOL, runOracle, type Oracle } from '../properties/conformance/oracles';
import { compareTranscript, describeComparison } from '../properties/conformance/compare';
import { loadKnown } from '../properties/conformance/known';
import { expectedEnding } from '../properties/conformance/suite';
import { exceptionRuleProblems } from '../properties/explain/checks';
import { loadSpecRules } from '../properties/spec/rule-ids';

const known = loadKnown();
const images = new Map(KERNELS.map((k) => [k, buildKernel(k)] as const));
const spec = loadSpecRules(process.cwd());

describe('conformance kernels on our machines', () => {
  for (const kernel of KERNELS) {
    for (const machine of ['model', 'impl'] as const) {
      test(`${kernel} on ${machine} prints the expected transcript`, () => {
        const run = runOnMachine(images.get(kernel)!, createMachine(machine));
        const c = compareTranscript(kernel, machine, expectedTranscript(kernel), run.text, known);
        expect(c.failures, describeComparison(c)).toEqual([]);
        expect(c.stale, describeComparison(c)).toEqual([]);
        expect(run.ending).toBe(expectedEnding(kernel));
        // [EXPLAIN.RULE.2] On the model every exception names a spec rule that fits it.
        if (machine === 'model') expect(exceptionRuleProblems(kernel, run.exceptions ?? [], spec)).toEqual([]);
      }, 120_000);
    }
  }
});

for (const oracle of ['qemu', 'bochs'] as const satisfies readonly Oracle[]) {
  describe.runIf(oracleAvailable(ORACLE_TOOL[oracle]))(`conformance kernels on ${oracle}`, () => {
    for (const kernel of KERNELS) {
      test(`${kernel} on ${oracle} prints the expected transcript, except its listed discrepancies`, async () => {
        const run = await runOracle(oracle, images.get(kernel)!);
        const c = compareTranscript(kernel, oracle, expectedTranscript(kernel), run.text, known);
        expect(c.failures, describeComparison(c)).toEqual([]);
        expect(c.stale, describeComparison(c)).toEqual([]);
        // the shutdown kernel must stop the oracle (QEMU's reset, Bochs's
        // "exception with no resolution"); every other one reaches its end line
        if (expectedEnding(kernel) === 'shutdown') expect(run.ending).toBe('shutdown');
        else expect(run.ending).not.toBe('timeout');
      }, 150_000);
    }
  });
}
