// Comparing a transcript with the expected one, line by line. A differing
// line is tolerated only when KNOWN-DISCREPANCIES.json lists that kernel,
// test and machine with exactly that output and with the expected line as
// the manual's answer; every other difference is a failure.
import type { Discrepancy, KnownDiscrepancies, MachineOrOracle } from './known';

export interface LineDifference {
  /** 1-based line number in the expected transcript. */
  readonly line: number;
  readonly expected: string;
  readonly got: string;
}

export interface Comparison {
  readonly kernel: string;
  readonly machine: MachineOrOracle;
  /** Lines compared (the expected transcript's). */
  readonly lines: number;
  readonly failures: readonly LineDifference[];
  readonly tolerated: readonly { readonly difference: LineDifference; readonly reason: string }[];
  /** Listed discrepancies for this kernel and machine that did not occur. */
  readonly stale: readonly Discrepancy[];
}

export const testName = (line: string): string => {
  const at = line.indexOf(': ');
  return at < 0 ? line : line.slice(0, at);
};

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function compareTranscript(
  kernel: string, machine: MachineOrOracle, expectedText: string, gotText: string, known: KnownDiscrepancies,
): Comparison {
  const expected = splitLines(expectedText);
  const got = splitLines(gotText);
  const listed = known.discrepancies.filter((d) => d.kernel === kernel && d.machine === machine);
  const used = new Set<Discrepancy>();
  const failures: LineDifference[] = [];
  const tolerated: { difference: LineDifference; reason: string }[] = [];
  const count = Math.max(expected.length, got.length);
  for (let i = 0; i < count; i++) {
    const e = expected[i] ?? '(no line)';
    const g = got[i] ?? '(no line)';
    if (e === g) continue;
    const difference = { line: i + 1, expected: e, got: g };
    const known = listed.find((d) => d.manual === e && d.got === g);
    if (known === undefined) failures.push(difference);
    else {
      used.add(known);
      tolerated.push({ difference, reason: known.reason });
    }
  }
  return { kernel, machine, lines: expected.length, failures, tolerated, stale: listed.filter((d) => !used.has(d)) };
}

export function describeComparison(c: Comparison, max = 10): string {
  const head = `${c.kernel} on ${c.machine}: ${c.lines} lines, ${c.failures.length} differ, ${c.tolerated.length} known`;
  const shown = c.failures.slice(0, max).map((f) => `  line ${f.line}\n    expected: ${f.expected}\n    got:      ${f.got}`);
  const more = c.failures.length > max ? [`  … and ${c.failures.length - max} more`] : [];
  const stale = c.stale.map((d) => `  listed but not seen: ${d.test} (${d.reason})`);
  return [head, ...shown, ...more, ...stale].join('\n');
}
