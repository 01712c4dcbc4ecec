// `mesovirt run IMAGE --explain [--from N] [--steps K] [--vmm]`: run the image
// on the model and, for each step in the window, print the instruction, the
// event and every spec rule the step applied with the spec's own sentence
// (model/explain.ts, spec/explain.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StepEvent } from '../../model/machine';
import type { MachineState } from '../../model/cpu/state';
import { step } from '../../model/cpu/step';
import { cpl, readLinear } from '../../model/cpu/context';
import { consoleBytes } from '../../model/cpu/devices';
import { eventName } from '../../model/cpu/applied';
import { decode } from '../../model/isa/decoder';
import { disassemble } from '../../model/isa/disassembler';
import { explainStep, explainWorldStep, type RuleUse } from '../../model/explain';
import { stepWorld, type WorldStep } from '../../model/vmm/run';
import type { World } from '../../model/vmm/state';
import { bootImage as bootOnMachine, createMachine } from '../../properties/machines';
import type { ModelMachine } from '../../properties/machines/model';
import type { RtcDate } from '../../model/cpu/cmos';
import { loadSpecRules } from '../../properties/spec/rule-ids';
import type { SpecRule } from '../../properties/spec/rule-text';
import { bootImage as bootUnderMonitor, monitorConfig } from './run-vmm';

export interface ExplainOptions {
  /** First step explained (0 = the first step of the run). */
  readonly from: number;
  /** How many steps are explained. */
  readonly steps: number;
  readonly memoryMiB: number;
  readonly vmm: boolean;
  readonly vmmBase?: string;
  readonly append?: string;
  /** The date the CMOS clock shows (bare machine only). */
  readonly rtc?: RtcDate;
}

/** A non-negative (or, with `positive`, at least 1) integer option, or a clear error. */
export function parseWindowOption(text: string, option: string, positive: boolean): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || (positive && n < 1)) {
    throw new Error(`${option} must be ${positive ? 'a positive' : 'a non-negative'} integer, got '${text}'`);
  }
  return n;
}

const hex = (n: number, digits = 8): string => `0x${(n >>> 0).toString(16).padStart(digits, '0')}`;

/** The instruction at CS:EIP, read through the segment and paging without changing the state. */
function disassemblyAt(state: MachineState): string {
  const bytes: number[] = [];
  let s = state;
  for (let i = 0; i < 15; i++) {
    const offset = (state.eip + i) >>> 0;
    if (offset > state.segments.cs.limit) break;
    const b = readLinear(s, state.segments.cs.base + offset, 1, cpl(state) === 3);
    if (b.kind !== 'ok') break;
    s = b.value.state;
    bytes.push(b.value.value);
  }
  const d = decode(bytes);
  return d.kind === 'ok' ? disassemble(d.instruction, state.eip) : '(no instruction: the fetch or the decoder fails)';
}

/** How the spec states a rule: "ID — first sentence", or a warning for an id the spec lacks. */
function ruleLine(rules: ReadonlyMap<string, SpecRule>, id: string): string {
  const r = rules.get(id);
  return r === undefined ? `${id} — (not in spec/: a bug)` : `${id} — ${r.sentence}`;
}

function eventLine(rules: ReadonlyMap<string, SpecRule>, event: StepEvent | null): string {
  if (event === null) return 'no step';
  switch (event.kind) {
    case 'exception': return event.rule === undefined ? eventName(event.vector, event.errorCode) : `${eventName(event.vector, event.errorCode)}: ${ruleLine(rules, event.rule)}`;
    case 'interrupt': return `interrupt, vector ${event.vector}`;
    case 'shutdown': return `shutdown: ${event.reason}`;
    case 'exit': return `exit port, code ${event.code}`;
    case 'model-error': return `model error: ${event.message}`;
    default: return event.kind;
  }
}

function printStep(out: string[], rules: ReadonlyMap<string, SpecRule>, n: number, before: MachineState, event: string, uses: readonly RuleUse[], console: string, handledBy?: readonly RuleUse[]): void {
  out.push(`step ${n}  ${hex(before.segments.cs.selector, 4)}:${hex(before.eip)}  ${disassemblyAt(before)}`);
  out.push(`  event: ${event}`);
  if (handledBy !== undefined) out.push(`  handled by: ${handledBy.map((u) => u.id).join(', ') || '(nothing)'}`);
  // A rule applied twice in a row (an OUT's rule, then its permission check) is one line with both notes.
  const merged: Array<{ id: string; notes: string[] }> = [];
  for (const u of uses) {
    const last = merged.at(-1);
    if (last !== undefined && last.id === u.id) { if (u.note !== undefined) last.notes.push(u.note); }
    else merged.push({ id: u.id, notes: u.note === undefined ? [] : [u.note] });
  }
  for (const u of merged) out.push(`    ${ruleLine(rules, u.id)}${u.notes.length === 0 ? '' : `  [${u.notes.join('; ')}]`}`);
  if (console.length > 0) out.push(`  console: ${JSON.stringify(console)}`);
}

const ends = (e: StepEvent): boolean => e.kind === 'exit' || e.kind === 'shutdown' || e.kind === 'model-error';

function readImage(image: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(image));
  } catch (e) {
    throw new Error(`${image}: cannot read (${(e as Error).message})`);
  }
}

/** The explanation of the window, as lines (the command prints them). */
export function explainRun(image: string, opts: ExplainOptions, projectRoot: string): string[] {
  const rules = loadSpecRules(projectRoot);
  const out: string[] = [];
  const end = opts.from + opts.steps;
  if (opts.vmm) {
    let world: World = bootUnderMonitor(image, monitorConfig(opts.vmmBase));
    for (let n = 0; n < end; n++) {
      if (n < opts.from) {
        const r = stepWorld(world);
        world = r.world;
        if (r.step.kind === 'end') { out.push(`the run ended at step ${n} (${r.step.reason}), before --from ${opts.from}`); return out; }
        continue;
      }
      const printedBefore = consoleBytes(world.machine.devices.console).length;
      const before = world.machine;
      const x = explainWorldStep(world);
      world = x.world;
      const text = new TextDecoder('latin1').decode(consoleBytes(world.machine.devices.console).subarray(printedBefore));
      printStep(out, rules, n, before, worldEventLine(rules, x.step), x.rules, text, x.step.kind === 'exit' ? x.step.handledBy : undefined);
      if (x.step.kind === 'end') { out.push(`the run ended: ${x.step.reason}`); break; }
    }
    return out;
  }
  const facade = createMachine('model', opts.memoryMiB * 1024 * 1024, { rtc: opts.rtc }) as ModelMachine;
  bootOnMachine(facade, readImage(image), image, { append: opts.append });
  let state = facade.modelState();
  let halted = false;
  for (let n = 0; n < end; n++) {
    if (n < opts.from) {
      const r = step(state);
      state = r.state;
      if (ends(r.event) || (r.event.kind === 'halted' && halted)) { out.push(`the run ended at step ${n} (${r.event.kind}), before --from ${opts.from}`); return out; }
      halted = r.event.kind === 'halted';
      continue;
    }
    const printedBefore = consoleBytes(state.devices.console).length;
    const before = state;
    const x = explainStep(state);
    state = x.result.state;
    const text = new TextDecoder('latin1').decode(consoleBytes(state.devices.console).subarray(printedBefore));
    printStep(out, rules, n, before, eventLine(rules, x.result.event), x.rules, text);
    if (ends(x.result.event) || (x.result.event.kind === 'halted' && halted)) { out.push(`the run ended: ${x.result.event.kind}`); break; }
    halted = x.result.event.kind === 'halted';
  }
  return out;
}

function worldEventLine(rules: ReadonlyMap<string, SpecRule>, s: WorldStep): string {
  switch (s.kind) {
    case 'guest': return `guest: ${eventLine(rules, s.event)}`;
    case 'exit': return `exit to the monitor: ${eventLine(rules, s.event)}`;
    case 'monitor': return `the monitor's IRET back to the guest: ${eventLine(rules, s.event)}`;
    case 'end': return `end: ${s.reason}`;
  }
}

/** The project root (where spec/ is), from this file's place in cli/commands/. */
export const projectRootOf = (moduleDir: string): string => join(moduleDir, '..', '..');
