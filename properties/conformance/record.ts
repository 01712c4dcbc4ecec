// Recording expected transcripts, so that nobody edits them by hand: run a
// kernel on the oracle that models the behaviour (Bochs by default: it
// checks segment limits), apply OVERRIDES.json (the manual's answer where
// that oracle is known to be wrong), and write expected/<kernel>.log.
//
// Then the listed discrepancies of that kernel are brought up to date: an
// entry's decision (kernel, test, machine, reason) is kept, and its two lines
// are re-read from the new transcripts, but only when they changed in
// addresses alone (ip=, sp=; a harness change moves code): a change in
// substance is left for a person to decide, and shows up as a failure.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFORMANCE_DIR, buildKernel, type KernelName } from './kernels';
import { runOracle, END_LINE, type Oracle } from './oracles';
import { createMachine, runOnMachine, type OwnMachine } from './machines';
import { applyOverrides, loadOverrides, type AppliedOverride, type Overrides } from './overrides';
import { KNOWN_FILE, loadKnown, type Discrepancy, type KnownDiscrepancies, type MachineOrOracle } from './known';
import { compareTranscript, testName } from './compare';

/** Write a file whole or not at all: a temporary name, then a rename. */
export function writeWhole(path: string, text: string): void {
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

export const expectedPath = (kernel: string): string => join(CONFORMANCE_DIR, 'expected', `${kernel}.log`);

/** The expected transcript from an oracle's run: overrides applied, must end with the end line. */
export function expectedFromOracle(kernel: string, oracle: Oracle, oracleText: string, overrides: Overrides): { text: string; applied: AppliedOverride[] } {
  const lines = oracleText.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[lines.length - 1] !== END_LINE && kernel !== 'shutdown') {
    throw new Error(`${kernel} on ${oracle} did not reach '${END_LINE}' (last line: '${lines[lines.length - 1] ?? ''}'); nothing recorded`);
  }
  const r = applyOverrides(kernel, oracle, `${lines.join('\n')}\n`, overrides);
  return r;
}

const ADDRESSES = /\b(ip|sp)=[0-9a-f]{8}\b/g;
const withoutAddresses = (line: string): string => line.replace(ADDRESSES, '$1=*');

export interface KnownUpdate {
  readonly known: KnownDiscrepancies;
  readonly refreshed: number;
  /** Entries that no longer differ (dropped). */
  readonly dropped: readonly Discrepancy[];
  /** Entries whose lines changed in substance (kept as they were: a person decides). */
  readonly undecided: readonly { entry: Discrepancy; got: string; manual: string }[];
}

function lineOf(text: string, test: string): string | undefined {
  return text.split('\n').find((l) => l.includes(': ') && testName(l) === test);
}

/** Refresh the listed discrepancies of `kernel` against new transcripts. */
export function refreshKnown(
  kernel: string, expected: string, transcripts: ReadonlyMap<MachineOrOracle, string>, known: KnownDiscrepancies,
): KnownUpdate {
  let refreshed = 0;
  const dropped: Discrepancy[] = [];
  const undecided: { entry: Discrepancy; got: string; manual: string }[] = [];
  const discrepancies: Discrepancy[] = [];
  for (const d of known.discrepancies) {
    const text = transcripts.get(d.machine);
    if (d.kernel !== kernel || text === undefined) {
      discrepancies.push(d);
      continue;
    }
    const manual = lineOf(expected, d.test) ?? '(no line)';
    const got = lineOf(text, d.test) ?? '(no line)';
    if (got === manual) {
      dropped.push(d);
      continue;
    }
    if (withoutAddresses(got) === withoutAddresses(d.got) && withoutAddresses(manual) === withoutAddresses(d.manual)) {
      if (got !== d.got || manual !== d.manual) refreshed++;
      discrepancies.push({ ...d, got, manual });
    } else {
      undecided.push({ entry: d, got, manual });
      discrepancies.push(d);
    }
  }
  return { known: { ...known, discrepancies }, refreshed, dropped, undecided };
}

export interface RecordReport {
  readonly kernel: KernelName;
  readonly oracle: Oracle;
  readonly lines: number;
  readonly applied: readonly AppliedOverride[];
  readonly update: KnownUpdate;
  /** Lines where a machine differs from the new expected transcript and no entry lists it. */
  readonly unlisted: readonly { machine: MachineOrOracle; line: number; expected: string; got: string }[];
}

/**
 * Record expected/<kernel>.log on `oracle` and refresh KNOWN-DISCREPANCIES.json
 * against the model, impl and the other oracles (`others`). Writes both files.
 */
export async function recordKernel(kernel: KernelName, oracle: Oracle, others: readonly Oracle[]): Promise<RecordReport> {
  const image = buildKernel(kernel);
  const overrides = loadOverrides();
  const run = await runOracle(oracle, image);
  if (run.ending === 'timeout' || run.ending.startsWith('failed')) throw new Error(`${kernel} on ${oracle}: ${run.ending}; nothing recorded`);
  const { text, applied } = expectedFromOracle(kernel, oracle, run.text, overrides);
  const transcripts = new Map<MachineOrOracle, string>([[oracle, run.text]]);
  for (const m of ['model', 'impl'] as const satisfies readonly OwnMachine[]) transcripts.set(m, runOnMachine(image, createMachine(m)).text);
  for (const o of others.filter((x) => x !== oracle)) transcripts.set(o, (await runOracle(o, image)).text);
  const update = refreshKnown(kernel, text, transcripts, loadKnown());
  writeWhole(expectedPath(kernel), text);
  writeWhole(KNOWN_FILE, `${JSON.stringify(update.known, null, 2)}\n`);
  const unlisted = [...transcripts].flatMap(([machine, got]) =>
    compareTranscript(kernel, machine, text, got, update.known).failures.map((f) => ({ machine, ...f })));
  return { kernel, oracle, lines: text.split('\n').length - 1, applied, update, unlisted };
}

export function describeRecord(r: RecordReport): string {
  const out = [`${r.kernel}: recorded ${r.lines} lines on ${r.oracle} (${r.applied.length} overridden by the manual)`];
  for (const a of r.applied) out.push(`  override line ${a.line}: ${a.after}`);
  out.push(`  known discrepancies: ${r.update.refreshed} refreshed, ${r.update.dropped.length} dropped (no longer differ), ${r.update.undecided.length} changed in substance (left as they were)`);
  for (const d of r.update.dropped) out.push(`  dropped: ${d.machine} ${d.test}`);
  for (const u of r.update.undecided) out.push(`  undecided: ${u.entry.machine} ${u.entry.test}\n    now expected: ${u.manual}\n    now got:      ${u.got}`);
  for (const u of r.unlisted.slice(0, 40)) out.push(`  unlisted difference on ${u.machine}, line ${u.line}\n    expected: ${u.expected}\n    got:      ${u.got}`);
  if (r.unlisted.length > 40) out.push(`  … and ${r.unlisted.length - 40} more unlisted differences`);
  return out.join('\n');
}

/**
 * List a decided discrepancy: for every test of `kernel` whose name matches
 * `tests` and where `machine` now differs from the expected transcript, add
 * an entry with `reason` (entries already listed are replaced). Returns the
 * entries added. The decision is the person's; the lines come from the run.
 */
export async function listDiscrepancies(kernel: KernelName, machine: MachineOrOracle, tests: RegExp, reason: string): Promise<Discrepancy[]> {
  if (reason.trim() === '') throw new Error('--reason must say why the machine differs and what the manual says');
  if ((machine === 'model' || machine === 'impl') && !new RegExp(`^${machine} bug: .*reported`).test(reason)) {
    throw new Error(`a ${machine} discrepancy is a bug: the reason must start '${machine} bug:' and say it is reported`);
  }
  const image = buildKernel(kernel);
  const text = machine === 'model' || machine === 'impl'
    ? runOnMachine(image, createMachine(machine)).text
    : (await runOracle(machine, image)).text;
  const known = loadKnown();
  const expected = (await import('./kernels')).expectedTranscript(kernel);
  const differences = compareTranscript(kernel, machine, expected, text, { ...known, discrepancies: [] }).failures
    .filter((f) => tests.test(testName(f.expected)) && testName(f.expected) === testName(f.got));
  const added = differences.map((f) => ({ kernel, test: testName(f.expected), machine, got: f.got, manual: f.expected, reason }));
  const keep = known.discrepancies.filter((d) => !(d.kernel === kernel && d.machine === machine && added.some((a) => a.test === d.test)));
  writeWhole(KNOWN_FILE, `${JSON.stringify({ ...known, discrepancies: [...keep, ...added] }, null, 2)}\n`);
  return added;
}
