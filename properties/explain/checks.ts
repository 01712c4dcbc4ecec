// Checks of the explanations (spec/explain.md): that every rule the model
// names is a spec rule and fits what it names (static, over the source of
// model/), that hand-built situations name the rule the manual's pseudo-code
// gives (dynamic), and that every exception of the conformance kernels names
// a rule. Each check returns its problems as strings, so the tests can show
// that a mutant makes a check fail (test/explain.test.ts).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { StepEvent } from '../../model/machine';
import type { MachineState } from '../../model/cpu/state';
import { step } from '../../model/cpu/step';
import { explainStep, explainWorldStep } from '../../model/explain';
import { bootGuest } from '../../model/vmm/boot';
import type { World } from '../../model/vmm/state';
import { gateDescriptor, LAYOUT, mapPage, PTE, SEL, segmentDescriptor, systemState, withIdentityPaging, writeCode } from '../builders';
import { RULE_ID, type SpecRule } from '../spec/rule-text';
import { ring1GuestImage } from '../vmm/ring1-guest';
import { buildKernel, type KernelName } from '../conformance/kernels';
import { createMachine, runOnMachine } from '../conformance/machines';

// ------------------------------------------------------------------ static

/** How the spec names each exception vector (the text of a rule that raises it says so). */
const VECTOR_WORDS: Readonly<Record<string, readonly string[]>> = {
  DE: ['#DE'], BR: ['#BR'], UD: ['#UD'], NM: ['#NM'], TS: ['#TS'], NP: ['#NP'],
  SS: ['#SS'], GP: ['#GP'], PF: ['#PF', 'page fault'], DF: ['#DF'],
};

/** One place in model/ that names a rule id in a string. */
export interface RuleSite {
  readonly file: string;
  readonly line: number;
  readonly id: string;
  /** The exception raised there, when the site is fault(Vector.X, …), gp(…) or ud(…). */
  readonly vector?: string;
}

const QUOTED_ID = new RegExp(`'(${RULE_ID})'`, 'g');
const RAISE = new RegExp(`\\b(?:fault\\(Vector\\.([A-Z]+),[^;]*?|gp\\([^;]*?|ud\\()'(${RULE_ID})'`, 'g');

/** Every quoted rule id in the given TypeScript sources, with the exception raised where one is. */
export function ruleSitesIn(sources: ReadonlyArray<{ readonly file: string; readonly text: string }>): RuleSite[] {
  return sources.flatMap(({ file, text }) => text.split('\n').flatMap((lineText, index) => {
    const raised = new Map<string, string>();
    for (const m of lineText.matchAll(RAISE)) {
      const vector = m[1] ?? (m[0].startsWith('gp(') ? 'GP' : 'UD');
      raised.set(`${m.index! + m[0].length - m[2]!.length - 2}`, vector);
    }
    return [...lineText.matchAll(QUOTED_ID)].map((m) => {
      const vector = raised.get(`${m.index!}`);
      return vector === undefined ? { file, line: index + 1, id: m[1]! } : { file, line: index + 1, id: m[1]!, vector };
    });
  }));
}

/** The TypeScript sources under `dir` (relative names from `root`). */
export function sourcesUnder(root: string, dir: string): Array<{ file: string; text: string }> {
  const walk = (path: string): string[] => readdirSync(path).flatMap((name) => {
    const full = join(path, name);
    return statSync(full).isDirectory() ? walk(full) : full.endsWith('.ts') ? [full] : [];
  });
  return walk(join(root, dir)).sort().map((full) => ({ file: relative(root, full), text: readFileSync(full, 'utf8') }));
}

/**
 * [EXPLAIN.RULE.1] Every rule id model/ names is defined in spec/, and a
 * site that raises an exception names a rule whose text names that exception.
 */
export function staticRuleProblems(sites: readonly RuleSite[], spec: ReadonlyMap<string, SpecRule>): string[] {
  return sites.flatMap((s) => {
    const rule = spec.get(s.id);
    if (rule === undefined) return [`${s.file}:${s.line}: '${s.id}' is not a rule of spec/`];
    if (s.vector === undefined) return [];
    const words = VECTOR_WORDS[s.vector] ?? [`#${s.vector}`];
    return words.some((w) => rule.text.includes(w)) ? [] : [`${s.file}:${s.line}: raises #${s.vector} by '${s.id}', whose text (${rule.file}:${rule.line}) does not name #${s.vector}`];
  });
}

// ----------------------------------------------------------------- dynamic

/** What a situation should raise, worked out from the manual (not from the model). */
export interface Expectation {
  readonly name: string;
  readonly vector: number;
  readonly errorCode: number | null;
  readonly rule: string;
  /** Rules the explanation must also list, in this order (not necessarily adjacent). */
  readonly alsoApplied?: readonly string[];
}

const HANDLER = 0x20000;
const interruptGate = (selector: number = SEL.code0) => gateDescriptor({ selector, offset: HANDLER, type: 0xe });
/** Gates for the faults the situations raise, so each is delivered (not escalated). */
const FAULT_GATES = { 11: interruptGate(), 12: interruptGate(), 13: interruptGate(), 14: interruptGate() };
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** mov ax, SEL; mov <sreg>, ax — as two steps; the second is explained. */
function segmentLoad(selector: number, sregCode: number, options: Parameters<typeof systemState>[0] = {}): MachineState {
  let s = systemState({ gates: FAULT_GATES, ...options });
  // 66 B8 iw: mov ax, imm16; 8E /r (reg field = segment register, rm = AX): mov sreg, ax.
  s = writeCode(s, LAYOUT.code, [0x66, 0xb8, selector & 0xff, selector >>> 8, 0x8e, 0xc0 | (sregCode << 3)]);
  return step(s).state;
}

const USER_PAGE = 0x00c00000;
const CR3 = 0x400000;

/** Situations whose fault, error code and rule are derived from the SDM. */
export const SITUATIONS: ReadonlyArray<{ readonly expect: Expectation; readonly state: () => MachineState }> = [
  {
    // SDM vol. 2, MOV (segment register) pseudo-code: SS with RPL ≠ CPL →
    // #GP(selector); the error code is the selector with its RPL bits clear
    // (vol. 3 §6.13, error code format): 0x13 → 0x10.
    expect: { name: 'MOV SS, 0x13 at CPL 0 (RPL 3 ≠ CPL)', vector: 13, errorCode: 0x10, rule: 'SEG.LOAD.4', alsoApplied: ['SEG.TABLE.1', 'SEG.LOAD.4', 'EXC.IDT.2', 'EXC.ENTRY.3'] },
    state: () => segmentLoad(SEL.data0 | 3, 2),
  },
  {
    // MOV DS pseudo-code: a data segment with P = 0 → #NP(selector); GDT index 8 → 0x40.
    expect: { name: 'MOV DS to a not-present data segment', vector: 11, errorCode: 0x40, rule: 'SEG.LOAD.7' },
    state: () => segmentLoad(0x40, 3, { extraDescriptors: [segmentDescriptor({ type: 0x2, present: false })] }),
  },
  {
    // MOV SS with a null selector → #GP(0) (vol. 2, MOV: "IF SS is loaded and selector is NULL THEN #GP(0)").
    expect: { name: 'MOV SS, 0', vector: 13, errorCode: 0, rule: 'SEG.LOAD.1' },
    state: () => segmentLoad(0, 2),
  },
  {
    // Vol. 3 §4.7: a user-mode write to a present supervisor page: P = 1,
    // W/R = 1, U/S = 1 → error code 7; CR2 = the address.
    expect: { name: 'a ring-3 write to a supervisor page', vector: 14, errorCode: 7, rule: 'PAGE.FAULT.1', alsoApplied: ['PAGE.WALK.1', 'PAGE.WALK.2', 'PAGE.PROT.3', 'PAGE.FAULT.1', 'EXC.CR2.1', 'EXC.ENTRY.2', 'PRIV.TSS.1', 'EXC.ENTRY.3'] },
    state: () => {
      let s = systemState({ cpl: 3, gates: FAULT_GATES });
      s = withIdentityPaging(s, CR3, 0, 0x30000);
      s = mapPage(s, CR3, USER_PAGE, 0x200000, PTE.P | PTE.W);
      return writeCode(s, LAYOUT.code, [0xa3, ...le32(USER_PAGE + 8)]); // mov [moffs32], eax
    },
  },
  {
    // Vol. 2, DIV: a zero divisor → #DE (no error code).
    expect: { name: 'DIV by zero', vector: 0, errorCode: null, rule: 'INS.DIV.1' },
    state: () => writeCode(systemState({ gates: { 0: interruptGate() } }), LAYOUT.code, [0xf7, 0xf1]), // div ecx (ECX = 0)
  },
  {
    // Vol. 2, INT n: at CPL 3 through a DPL-0 gate → #GP(n·8 + 2) (IDT bit, EXT clear): 0x30 → 0x182.
    expect: { name: 'INT 0x30 at CPL 3 through a DPL-0 gate', vector: 13, errorCode: 0x30 * 8 + 2, rule: 'EXC.IDT.4' },
    state: () => writeCode(systemState({ cpl: 3, gates: { ...FAULT_GATES, 0x30: interruptGate() } }), LAYOUT.code, [0xcd, 0x30]),
  },
  {
    // Vol. 2, CLI: at CPL 3 with IOPL 0 → #GP(0).
    expect: { name: 'CLI at CPL 3, IOPL 0', vector: 13, errorCode: 0, rule: 'IO.IF.1' },
    state: () => writeCode(systemState({ cpl: 3, gates: FAULT_GATES }), LAYOUT.code, [0xfa]),
  },
  {
    // Vol. 2, MOV to CR3 (or any privileged instruction) at CPL 3 → #GP(0).
    expect: { name: 'MOV CR3, EAX at CPL 3', vector: 13, errorCode: 0, rule: 'PRIV.INSN.1' },
    state: () => writeCode(systemState({ cpl: 3, gates: FAULT_GATES }), LAYOUT.code, [0x0f, 0x22, 0xd8]),
  },
  {
    // Vol. 3 §6.15, #DF: a #GP while delivering a #GP (its gate's code
    // selector is null → #GP(EXT = 1)) is a double fault, error code 0.
    expect: { name: '#GP during #GP delivery', vector: 8, errorCode: 0, rule: 'EXC.DF.1', alsoApplied: ['PRIV.INSN.1', 'EXC.TARGET.1', 'EXC.DF.1'] },
    state: () => writeCode(systemState({ cpl: 3, gates: { 13: interruptGate(0), 8: interruptGate() } }), LAYOUT.code, [0xf4]), // hlt at CPL 3
  },
];

const describeEvent = (e: StepEvent): string => JSON.stringify(e);

/** Apply a situation: the explained step must raise what the manual says, name the rule, and match step(). */
export function situationProblems(situation: { readonly expect: Expectation; readonly state: () => MachineState }): string[] {
  const { expect: x } = situation;
  const state = situation.state();
  const explained = explainStep(state);
  const plain = step(state);
  const e = explained.result.event;
  const problems: string[] = [];
  if (describeEvent(e) !== describeEvent(plain.event)) problems.push(`${x.name}: explainStep's event ${describeEvent(e)} is not step's ${describeEvent(plain.event)}`);
  if (e.kind !== 'exception' || e.vector !== x.vector || e.errorCode !== x.errorCode) {
    problems.push(`${x.name}: expected vector ${x.vector} error code ${x.errorCode}, got ${describeEvent(e)}`);
    return problems;
  }
  if (e.rule !== x.rule) problems.push(`${x.name}: the event names rule ${e.rule ?? '(none)'}, expected ${x.rule}`);
  const ids = explained.rules.map((r) => r.id);
  if (!ids.includes(x.rule)) problems.push(`${x.name}: the explanation does not list ${x.rule}: ${ids.join(' ')}`);
  let from = 0;
  for (const id of x.alsoApplied ?? []) {
    const at = ids.indexOf(id, from);
    if (at < 0) { problems.push(`${x.name}: the explanation does not list ${id} after position ${from}: ${ids.join(' ')}`); break; }
    from = at + 1;
  }
  return problems;
}

// --------------------------------------------------------- the monitor's exits

/** A ring-1 guest's first CLI traps (#GP(0)) into the monitor; the exit must be
 * classified (VMM.EXIT.0), emulated by the CLI rule (VMM.EXIT.1) and returned (VMM.EXIT.6). */
export function monitorCliProblems(): string[] {
  const boot = bootGuest(ring1GuestImage(''));
  if (boot.kind !== 'ok') return [`the ring-1 guest does not boot: ${boot.message}`];
  let world: World = boot.world;
  for (let n = 0; n < 2000; n++) {
    const r = explainWorldStep(world);
    const e = r.step.kind === 'exit' ? r.step.event : null;
    // The guest's first instruction is CLI, at ring 1 with IOPL 0: #GP(0) (SDM
    // vol. 2, CLI). Exits before it are page faults (the shadow fills).
    if (r.step.kind === 'exit' && e !== null && e.kind === 'exception' && e.vector !== 14) {
      if (e.vector !== 13 || e.errorCode !== 0) return [`the first exit other than a #PF is ${JSON.stringify(e)}, not the CLI's #GP(0)`];
      const handled = r.step.handledBy.map((u) => u.id);
      const expected = ['VMM.EXIT.0', 'VMM.EXIT.1', 'VMM.EXIT.6'];
      const problems: string[] = [];
      if (JSON.stringify(handled) !== JSON.stringify(expected)) problems.push(`the CLI exit was handled by ${handled.join(', ')}, expected ${expected.join(', ')}`);
      const listed = r.rules.map((u) => u.id);
      if (!expected.every((id) => listed.includes(id))) problems.push(`explainWorldStep does not list the exit's rules: ${listed.join(' ')}`);
      if (!listed.includes('IO.IF.1')) problems.push(`the processor's rule for the trap (IO.IF.1) is missing: ${listed.join(' ')}`);
      return problems;
    }
    if (r.step.kind === 'end') return [`the guest ended before any exit: ${r.step.reason}`];
    world = r.world;
  }
  return ['no exit in 2000 steps'];
}

// ---------------------------------------------------------------- conformance

const VECTOR_NAMES = ['DE', 'DB', 'NMI', 'BP', 'OF', 'BR', 'UD', 'NM', 'DF', '9', 'TS', 'NP', 'SS', 'GP', 'PF'];

/**
 * [EXPLAIN.RULE.2] Every exception event of a run names a rule of spec/,
 * and, for a fault the model raised itself (not INT n, INT3, INTO or INT1:
 * EXC.SOFT.1), a rule whose text names that exception.
 */
export function exceptionRuleProblems(
  label: string,
  exceptions: ReadonlyArray<{ readonly step: number; readonly event: Extract<StepEvent, { kind: 'exception' }> }>,
  spec: ReadonlyMap<string, SpecRule>,
): string[] {
  return exceptions.flatMap(({ step: n, event: e }) => {
    const where = `${label} step ${n}: ${JSON.stringify(e)}`;
    if (e.rule === undefined) return [`${where}: no rule`];
    const rule = spec.get(e.rule);
    if (rule === undefined) return [`${where}: ${e.rule} is not in spec/`];
    if (e.rule === 'EXC.SOFT.1') return [];
    const name = VECTOR_NAMES[e.vector];
    const words = name === undefined ? [] : (VECTOR_WORDS[name] ?? []);
    return words.length > 0 && !words.some((w) => rule.text.includes(w)) ? [`${where}: ${e.rule}'s text does not name #${name}`] : [];
  });
}

const kernelImages = new Map<KernelName, Uint8Array>();

/** Run one conformance kernel on the model (rules kept) and check its exceptions. */
export function kernelRuleProblems(kernel: KernelName, spec: ReadonlyMap<string, SpecRule>): { readonly exceptions: number; readonly problems: readonly string[] } {
  if (!kernelImages.has(kernel)) kernelImages.set(kernel, buildKernel(kernel));
  const run = runOnMachine(kernelImages.get(kernel)!, createMachine('model'));
  const exceptions = run.exceptions ?? [];
  return { exceptions: exceptions.length, problems: exceptionRuleProblems(kernel, exceptions, spec) };
}
