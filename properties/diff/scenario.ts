// A differential scenario is everything needed to run one comparison again
// on any pair of machines: the initial common state, the physical pages that
// are not zero (code, descriptor tables, page tables, data), and how many
// steps to compare. Random DIFF cases are turned into scenarios, and replay
// files store one, so a failure found by the property or by a campaign runs
// again exactly from its file.
import type { CommonState, Machine, StepEvent } from '../../model/machine';
import { changedPages, emptyMemory, PAGE_SIZE, readBytes, readBytesInto } from '../../model/cpu/memory';
import { fromCommon, toCommon, type MachineState } from '../../model/cpu/state';
import { decode } from '../../model/isa/decoder';
import { disassemble } from '../../model/isa/disassembler';
import { LAYOUT } from '../builders';
import { createModelMachine, type ModelMachine } from '../machines/model';
import { createImplMachine } from '../machines/impl';
import { ImplMachine } from '../../impl/machine';
import { DIFF_MEMORY, MAX_REP_COUNT, STEPS_PER_CASE, caseState, encoded, type DiffCase } from './states';
import { lockstep, memoryDifferences, pagesOfEither, type StreamBounds } from './lockstep';
import { knownDiscrepancy } from './known';

export interface Page { readonly address: number; readonly bytes: Uint8Array }

export interface DiffScenario {
  readonly memorySize: number;
  readonly initial: CommonState;
  /** Every page of physical memory that is not all zero at the start. */
  readonly pages: readonly Page[];
  /** Where the instruction stream under test starts, and its bytes. */
  readonly code: { readonly address: number; readonly bytes: Uint8Array };
  readonly steps: number;
  /** [DIFF.CASE.3] Stop before the second instruction that starts in the
   * zero bytes after the stream (the rest of its page). Absent in replay files written
   * before the rule, which run their steps through those bytes as before. */
  readonly stopAfterStream?: boolean;
}

export { STEPS_PER_CASE };

export function scenarioOfCase(c: DiffCase, steps = STEPS_PER_CASE): DiffScenario {
  const s = caseState(c);
  const pages: Page[] = [];
  for (const address of changedPages(emptyMemory(s.memory.size), s.memory, 0, DIFF_MEMORY)) {
    const page = readBytes(s.memory, address, PAGE_SIZE);
    if (!allZero(page)) pages.push({ address, bytes: page });
  }
  const bytes = readBytes(s.memory, LAYOUT.code, streamLength(c));
  return { memorySize: DIFF_MEMORY, initial: toCommon(s), pages, code: { address: LAYOUT.code, bytes }, steps, stopAfterStream: true };
}

/** [DIFF.CASE.3] The stream's bounds for the lock step: it stops at the end
 * of the stream's last page, or (stopAfterStream absent) nowhere. Random
 * cases run with CS base 0 and the low memory identity-mapped, so the
 * stream's physical address is its linear address. */
export function streamBounds(address: number, length: number, stopAfterStream: boolean): StreamBounds {
  const end = address + length;
  return { start: address, end, stopAt: stopAfterStream ? Math.ceil(end / PAGE_SIZE) * PAGE_SIZE : end };
}

function allZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** The length of a case's stream: what the encoder made of its instructions (caseState writes them so). */
function streamLength(c: DiffCase): number {
  let length = 0;
  for (const i of c.program) length += encoded(i)?.length ?? 0;
  return length;
}

/** The instruction stream as a listing: address, bytes, NASM syntax. */
export function scenarioListing(code: DiffScenario['code']): string {
  const lines: string[] = [];
  let at = 0;
  while (at < code.bytes.length) {
    const r = decode(code.bytes, at);
    const length = r.kind === 'ok' || r.kind === 'undefined' ? r.length : code.bytes.length - at;
    const text = r.kind === 'ok' ? disassemble(r.instruction, code.address + at) : r.kind === 'undefined' ? '(ud)' : `(${r.kind})`;
    const hexBytes = [...code.bytes.subarray(at, at + length)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    lines.push(`  ${(code.address + at).toString(16).padStart(8, '0')}  ${hexBytes.padEnd(30)} ${text}`);
    at += length;
  }
  return lines.join('\n');
}

export type MachinePair = readonly [Machine['name'], Machine['name']];

/** A machine for a comparison; impl records the pages it writes, so that
 * the comparison of memory reads only those and the model's (DIFF.MEMORY.1). */
export function createPairMachine(kind: Machine['name'], memorySize: number): Machine {
  return kind === 'model' ? createModelMachine(memorySize) : createImplMachine(memorySize, { recordWrites: true });
}

/** A divergence with both machines' whole state after the step that differed. */
export interface DiffFailure {
  readonly step: number;
  readonly eip: number;
  readonly differences: readonly string[];
  readonly events: readonly [StepEvent, StepEvent];
  readonly states: readonly [CommonState, CommonState];
}

export interface ScenarioOutcome {
  readonly steps: number;
  /** Of `steps`, those that started inside the drawn stream (DIFF.CASE.3). */
  readonly streamSteps: number;
  readonly failure: DiffFailure | null;
  /** Id of a known discrepancy the run stopped on (not a failure). */
  readonly known: string | null;
}

/** Load a scenario into a fresh machine. */
export function loadScenario(machine: Machine, s: DiffScenario): Machine {
  for (const p of s.pages) machine.writePhysical(p.address, p.bytes);
  machine.setState(s.initial);
  return machine;
}

/** Run a scenario on a pair of machines (the first is the reference, whose
 * undefined-flag mask applies) in lock step, then compare memory. */
export function runScenario(s: DiffScenario, pair: MachinePair = ['model', 'impl'], onStep?: (event: StepEvent) => void): ScenarioOutcome {
  const a = loadScenario(createPairMachine(pair[0], s.memorySize), s);
  const b = loadScenario(createPairMachine(pair[1], s.memorySize), s);
  try {
    return compareMachines({ steps: s.steps, memorySize: s.memorySize, initial: s.initial, stream: streamBounds(s.code.address, s.code.bytes.length, s.stopAfterStream === true), code: () => s.code.bytes }, a, b, onStep).outcome;
  } finally {
    a.release?.();
    b.release?.();
  }
}

const pageBuffer = new Uint8Array(PAGE_SIZE);

/** A machine of `kind` in the state a random case describes: what
 * loadScenario(…, scenarioOfCase(c)) makes, built straight from the case's
 * model state. The model takes that state itself (normalized as setState
 * would: fromCommon); impl gets the pages the case wrote and the common
 * state. A campaign makes two per case, so this skips the scenario's page
 * list; test/diff-run-case.test.ts checks that both ways give equal
 * machines. */
export function caseMachine(kind: Machine['name'], s: MachineState): Machine {
  // (Each page goes through one buffer, which writePhysical copies.)
  if (kind === 'model') {
    const m = createModelMachine(DIFF_MEMORY);
    m.setModelState(fromCommon(s, toCommon(s)));
    return m;
  }
  const m = createPairMachine(kind, DIFF_MEMORY);
  for (const address of changedPages(emptyMemory(s.memory.size), s.memory, 0, DIFF_MEMORY)) m.writePhysical(address, readBytesInto(s.memory, address, pageBuffer));
  m.setState(toCommon(s));
  return m;
}

/** [DIFF.CASE.1] Run a random case on a pair of machines: the same run and
 * outcome as runScenario(scenarioOfCase(c)), with less set-up. */
export function runCase(c: DiffCase, pair: MachinePair = ['model', 'impl'], onStep?: (event: StepEvent) => void): ScenarioOutcome {
  const s = caseState(c);
  const a = caseMachine(pair[0], s), b = caseMachine(pair[1], s);
  let equalMemory = false;
  try {
    const stream = streamBounds(LAYOUT.code, streamLength(c), true);
    const outcome = compareMachines({ steps: STEPS_PER_CASE, memorySize: DIFF_MEMORY, initial: toCommon(s), stream, code: () => scenarioOfCase(c).code.bytes }, a, b, onStep);
    equalMemory = outcome.equalMemory;
    return outcome.outcome;
  } finally {
    if (b instanceof ImplMachine) b.release(pagesToZero(a, b, equalMemory));
    else b.release?.();
    a.release?.();
  }
}

/** For tests: turned on, runCase vouches for no page at all, so impl's RAM is handed on unzeroed (test/diff-run-case.test.ts shows the next machine then finds bytes). */
export const runCaseMutation = { vouchForNoPage: false };

/** The pages of impl's RAM that may be non-zero after a case (release
 * zeroes only these for the next case), or null (all of it may be). Only
 * a case whose comparison found the two RAMs equal names pages (a case
 * that failed, or stopped at a model error, has its RAM zeroed whole):
 * the pages the model wrote, and those impl wrote if it recorded them (its
 * case's pages were written into it too; DIFF.MEMORY.1 compared those). */
function pagesToZero(model: Machine, impl: ImplMachine, equalMemory: boolean): readonly number[] | null {
  if (runCaseMutation.vouchForNoPage) return [];
  if (!equalMemory) return null;
  const memory = (model as Partial<ModelMachine>).modelState?.().memory;
  if (memory === undefined || memory.base !== null) return null;
  const modelWritten = changedPages(emptyMemory(memory.size), memory), implWritten = impl.writtenPages();
  return implWritten === null ? modelWritten : pagesOfEither(modelWritten, implWritten, 0, memory.size);
}

/** What a comparison needs of its scenario; the code bytes are only read to
 * match a divergence against the known discrepancies. */
interface Comparison {
  readonly steps: number;
  readonly memorySize: number;
  readonly initial: CommonState;
  readonly stream: StreamBounds;
  readonly code: () => Uint8Array;
}

/** A comparison's outcome, and whether it compared the two RAMs and found them equal. */
interface Compared { readonly outcome: ScenarioOutcome; readonly equalMemory: boolean }

const ended = (outcome: ScenarioOutcome, equalMemory = false): Compared => ({ outcome, equalMemory });

function compareMachines(s: Comparison, a: Machine, b: Machine, onStep?: (event: StepEvent) => void): Compared {
  // [DIFF.REP.1] A case stops before a REP whose count exceeds the bound.
  const r = lockstep(a, b, s.steps, { maxRepCount: MAX_REP_COUNT, stream: s.stream, onStep });
  const steps = r.steps, streamSteps = r.streamSteps;
  if (r.divergence !== null) {
    const d = r.divergence;
    const known = knownDiscrepancy({ ...d, code: s.code(), initial: s.initial });
    if (known !== null) return ended({ steps, streamSteps, failure: null, known: known.id });
    return ended({
      steps, streamSteps, known: null,
      failure: { step: d.step, eip: d.eip, differences: d.differences, events: [d.modelEvent, d.implEvent], states: [a.state(), b.state()] },
    });
  }
  // [DIFF.EVENT.1] A model error stops the comparison without failing it:
  // the model stopped short of the instruction, so memory is not compared
  // either (impl may have gone on to set accessed bits or push a frame).
  if (r.last?.kind === 'model-error') return ended({ steps, streamSteps, failure: null, known: null });
  const memory = memoryDifferences(a, b, 0, s.memorySize);
  if (memory.length > 0) {
    const known = knownDiscrepancy({ step: r.steps, eip: s.initial.eip, differences: memory, modelEvent: r.last ?? { kind: 'retired' }, implEvent: r.last ?? { kind: 'retired' }, code: s.code(), initial: s.initial });
    if (known !== null) return ended({ steps, streamSteps, failure: null, known: known.id });
    return ended({
      steps, streamSteps, known: null,
      failure: { step: r.steps, eip: a.state().eip, differences: memory.slice(0, 8), events: [r.last ?? { kind: 'retired' }, r.last ?? { kind: 'retired' }], states: [a.state(), b.state()] },
    });
  }
  return ended({ steps, streamSteps, failure: null, known: null }, true);
}
