// Explanations (spec/explain.md): the rule each fault names, the rules a step
// applied, the VMM rules that handled an exit, and `run --explain`. The
// expected faults, error codes and rules of the situations come from the
// manual's pseudo-code (properties/explain/checks.ts says where), not from
// the model's output. Each check is shown to fail under a mutant.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpecRules } from '../properties/spec/rule-ids';
import { firstSentence, parseSpecRules } from '../properties/spec/rule-text';
import {
  exceptionRuleProblems, kernelRuleProblems, monitorCliProblems, ruleSitesIn, SITUATIONS, situationProblems, sourcesUnder, staticRuleProblems,
} from '../properties/explain/checks';
import { ruleMutation } from '../model/cpu/outcome';
import { EMULATION_RULES } from '../model/vmm/emulate';
import { explainStep } from '../model/explain';
import { step } from '../model/cpu/step';
import { toCommon } from '../model/cpu/state';
import { readBytes } from '../model/cpu/memory';
import { bootGuest } from '../model/vmm/boot';
import { stepWorld } from '../model/vmm/run';
import type { World } from '../model/vmm/state';
import { assemble } from '../model/isa/asm/assemble';
import { ring1GuestImage } from '../properties/vmm/ring1-guest';
import { parseWindowOption } from '../cli/commands/run-explain';
import { bootParaGuest } from '../model/vmm/para/boot';
import { HYPERCALL_VECTOR } from '../model/vmm/para/interface';
import { buildTeach } from '../bench/guests-run';
import { handlers } from '../model/cpu/execute';
import { instructionRule } from '../model/cpu/instruction-rules';
import type { Instruction } from '../model/isa/ast';

const ROOT = process.cwd();
const spec = loadSpecRules(ROOT);
const situation = (name: string) => SITUATIONS.find((s) => s.expect.name.startsWith(name))!;

/** Run `body` with a rule mutant active. */
function withMutant<T>(from: string, to: string | undefined, body: () => T): T {
  ruleMutation.active = { from, to };
  try {
    return body();
  } finally {
    ruleMutation.active = null;
  }
}

describe('explanations run in a browser', () => {
  it('model/explain.ts and properties/spec/rule-text.ts import no node: module, directly or through their imports', () => {
    const seen = new Set<string>();
    const nodeImports: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^;]*?from '([^']+)'/gms)) {
        const target = m[1]!;
        if (target.startsWith('node:')) nodeImports.push(`${file}: ${target}`);
        else if (target.startsWith('.')) visit(join(file, '..', target.endsWith('.ts') ? target : `${target}.ts`));
      }
    };
    visit(join(ROOT, 'model/explain.ts'));
    visit(join(ROOT, 'properties/spec/rule-text.ts'));
    expect(seen.size).toBeGreaterThan(20);
    expect(nodeImports).toEqual([]);
    // The walker sees a node: import where there is one (rule-ids.ts reads spec/ from disk).
    visit(join(ROOT, 'properties/spec/rule-ids.ts'));
    expect(nodeImports.join('\n')).toMatch(/rule-ids\.ts: node:fs/);
  });
});

describe('[EXPLAIN.TEXT.1] the spec\'s own sentence for a rule', () => {
  it('ends at the first full stop that ends a sentence, not after e.g., vol. or inside a number', () => {
    expect(firstSentence('A is 3.5 wide, e.g. here (SDM vol. 3). Then more.')).toBe('A is 3.5 wide, e.g. here (SDM vol. 3).');
    expect(firstSentence('No full stop at all')).toBe('No full stop at all');
  });
  it('a paragraph goes on across a line that starts with #GP (it is not a heading), and stops at a heading or blank line', () => {
    const rules = parseSpecRules('x.md', '**A.B.1** they fault\n#GP(0) before doing anything. More.\n# Heading\n\n**A.B.2** x\n\n| **A.C.1** | SGDT | stores it. |\n');
    expect(rules.map((r) => [r.id, r.line, r.sentence])).toEqual([
      ['A.B.1', 1, 'they fault #GP(0) before doing anything.'],
      ['A.B.2', 5, 'x'],
      ['A.C.1', 7, 'SGDT — stores it.'],
    ]);
  });
  it('reads the real spec: SEG.LOAD.4 and PRIV.INSN.1 as written in their chapters', () => {
    expect(spec.get('SEG.LOAD.4')?.sentence).toBe('SS needs RPL = CPL, a writable data segment, and DPL = CPL, else #GP(selector).');
    expect(spec.get('PRIV.INSN.1')?.text).toContain('they fault #GP(0) before doing anything.');
    expect(spec.get('SEG.LOAD.4')?.file).toBe('spec/segmentation.md');
  });
});

describe('[EXPLAIN.RULE.1] every rule the model names is a spec rule that fits', () => {
  const sites = ruleSitesIn(sourcesUnder(ROOT, 'model'));
  it('model/ names rules at more than 150 places, 80 of them raising an exception', () => {
    expect(sites.length).toBeGreaterThan(150);
    expect(sites.filter((s) => s.vector !== undefined).length).toBeGreaterThan(80);
  });
  it('each is defined in spec/, and each raising place names a rule whose text names its exception', () => {
    expect(staticRuleProblems(sites, spec)).toEqual([]);
  });
  it('mutants: a site whose rule is swapped for one about another exception, or for an unknown id, is found', () => {
    const segmentation = sourcesUnder(ROOT, 'model/cpu').find((s) => s.file.endsWith('segmentation.ts'))!;
    const swapped = segmentation.text.replace("fault(Vector.NP, errorCode, 'SEG.LOAD.7')", "fault(Vector.NP, errorCode, 'SEG.LOAD.4')");
    expect(swapped).not.toBe(segmentation.text);
    expect(staticRuleProblems(ruleSitesIn([{ file: segmentation.file, text: swapped }]), spec).join('\n')).toMatch(/raises #NP by 'SEG.LOAD.4'/);
    const unknown = segmentation.text.replace("'SEG.LOAD.7'", "'SEG.LOAD.77'");
    expect(staticRuleProblems(ruleSitesIn([{ file: segmentation.file, text: unknown }]), spec).join('\n')).toMatch(/'SEG.LOAD.77' is not a rule/);
  });
});

describe('[EXPLAIN.STEP.1] every instruction handler names the rule that specifies it', () => {
  it('each mnemonic execute.ts dispatches has a rule of spec/, and the system forms of MOV/PUSH/POP their own', () => {
    const missing = Object.keys(handlers).filter((m) => {
      const id = instructionRule({ mnemonic: m, operands: [] } as unknown as Instruction);
      return id === undefined || !spec.has(id);
    });
    expect(missing).toEqual([]);
    const form = (mnemonic: string, operands: unknown[]) => instructionRule({ mnemonic, operands } as unknown as Instruction);
    // spec/segmentation.md, system.md: the rules of MOV to a segment register, PUSH of one, MOV to CR3.
    expect(form('mov', [{ kind: 'sreg', reg: 3 }, { kind: 'reg', reg: 0, size: 16 }])).toBe('SEG.MOV.1');
    expect(form('push', [{ kind: 'sreg', reg: 0 }])).toBe('SEG.PUSH.1');
    expect(form('mov', [{ kind: 'creg', reg: 3 }, { kind: 'reg', reg: 0, size: 32 }])).toBe('SYS.CR.2');
    expect(form('add', [])).toBe('INS.ALU.1');
  });
  it('an explained step lists its instruction\'s rule after the fetch', () => {
    const ids = explainStep(situation('DIV by zero').state()).rules.map((r) => r.id);
    expect(ids.slice(0, 2)).toEqual(['EXC.FETCH.1', 'INS.DIV.1']);
  });
});

describe('[EXPLAIN.FAULT.1] [EXPLAIN.STEP.1] hand-built situations name the rule the manual gives', () => {
  for (const s of SITUATIONS) {
    it(`${s.expect.name}: ${s.expect.rule}`, () => expect(situationProblems(s)).toEqual([]));
  }
  it('the explained step is the step: same state (memory and TLB included) and event', () => {
    for (const s of SITUATIONS) {
      const state = s.state();
      const a = explainStep(state).result;
      const b = step(state);
      expect(toCommon(a.state)).toEqual(toCommon(b.state));
      expect(JSON.stringify(a.state.tlb)).toBe(JSON.stringify(b.state.tlb));
      expect(Buffer.from(readBytes(a.state.memory, 0, 0x500000)).equals(Buffer.from(readBytes(b.state.memory, 0, 0x500000)))).toBe(true);
      expect(a.event).toEqual(b.event);
    }
  });
  it('a page walk lists its entries with their addresses and the A/D bits it set', () => {
    // The PF situation: the ring-3 fetch walks the identity map (PDE at CR3 + 0,
    // PTE of 0x10000 at table 0x401000 + 0x10 * 4) and sets A in both (SDM vol. 3 §4.8).
    const x = explainStep(situation('a ring-3 write').state());
    const notes = x.rules.map((r) => `${r.id} ${r.note ?? ''}`);
    expect(notes).toContain('PAGE.WALK.1 user read of 0x00010000: PDE at 0x00400000 = 0x00401007');
    expect(notes).toContain('PAGE.WALK.2 PTE at 0x00401040 = 0x00010007');
    expect(notes).toContain('PAGE.AD.2 PDE 0x00401007 → 0x00401027, PTE 0x00010007 → 0x00010027');
    expect(notes).toContain('PAGE.FAULT.1 #PF(0x7) raised');
  });
  it('mutants: SEG.LOAD.4 swapped for SEG.LOAD.5, or the page-fault rule dropped, fail their situations', () => {
    expect(withMutant('SEG.LOAD.4', 'SEG.LOAD.5', () => situationProblems(situation('MOV SS, 0x13')))).not.toEqual([]);
    expect(withMutant('PAGE.FAULT.1', undefined, () => situationProblems(situation('a ring-3 write')))).not.toEqual([]);
    expect(withMutant('INS.DIV.1', 'INS.DIV.2', () => situationProblems(situation('DIV by zero')))).not.toEqual([]);
  });
});

describe('[EXPLAIN.VMM.1] [EXPLAIN.STEP.2] a ring-1 guest\'s CLI under the monitor', () => {
  it('traps (#GP(0)) and is handled by VMM.EXIT.0, VMM.EXIT.1 (CLI and STI) and VMM.EXIT.6', () => {
    expect(monitorCliProblems()).toEqual([]);
  });
  it('mutants: CLI\'s emulation rule swapped (VMM.EXIT.2) or dropped is found', () => {
    const table = EMULATION_RULES as Record<string, string>;
    const original = table.cli!;
    try {
      table.cli = 'VMM.EXIT.2';
      expect(monitorCliProblems().join('\n')).toMatch(/VMM.EXIT.2/);
      delete table.cli;
      expect(monitorCliProblems()).not.toEqual([]);
    } finally {
      table.cli = original;
    }
    expect(monitorCliProblems()).toEqual([]);
  });
});

describe('[EXPLAIN.STEP.2] a para guest\'s hypercall under the monitor', () => {
  it('is handled by PARA.EXIT.1, then PARA.CALL.1 (naming the hypercall), and returns with PARA.IF.1', () => {
    const b = bootParaGuest(buildTeach({ PARA: '' }));
    if (b.kind !== 'ok') throw new Error(b.message);
    let world: World = b.world;
    let handled: readonly string[] | null = null;
    let note = '';
    for (let n = 0; n < 200_000 && handled === null; n++) {
      const r = stepWorld(world);
      // spec/para.md PARA.CALL.1: a hypercall is int 0x82 from ring 1, which enters the monitor.
      if (r.step.kind === 'exit' && r.step.event.kind === 'exception' && r.step.event.vector === HYPERCALL_VECTOR) {
        handled = r.step.handledBy.map((u) => u.id);
        note = r.step.handledBy[1]?.note ?? '';
      }
      if (r.step.kind === 'end') break;
      world = r.world;
    }
    expect(handled).not.toBeNull();
    expect(handled![0]).toBe('PARA.EXIT.1');
    expect(handled![1]).toBe('PARA.CALL.1');
    expect(note).toMatch(/^hypercall [a-z_]+$/);
    expect(handled!.at(-1)).toBe('PARA.IF.1');
  });
});

describe('[EXPLAIN.RULE.2] exceptions of a conformance kernel name spec rules that fit', () => {
  // The full suite checks every kernel's exceptions where it already runs
  // them (test/conformance.test.ts); here the small `exceptions` kernel (#DE,
  // #UD, #BR, #TS, #SS, #NP, #DF, INT n) shows the check has teeth.
  it('the exceptions kernel: every exception names a fitting rule', () => {
    const r = kernelRuleProblems('exceptions', spec);
    expect(r.exceptions).toBeGreaterThan(50);
    expect(r.problems).toEqual([]);
  });
  it('mutants: the #DE rule dropped, or the #NP gate rule swapped for the #DE one, are found', () => {
    expect(withMutant('INS.DIV.1', undefined, () => kernelRuleProblems('exceptions', spec).problems).join('\n')).toMatch(/no rule/);
    expect(withMutant('EXC.IDT.5', 'INS.DIV.1', () => kernelRuleProblems('exceptions', spec).problems).join('\n')).toMatch(/INS.DIV.1's text does not name #NP/);
  });
  it('the check itself: an unknown rule and a missing one are reported', () => {
    const event = (rule: string | undefined) => ({ kind: 'exception' as const, vector: 13, errorCode: 0, ...(rule === undefined ? {} : { rule }) });
    expect(exceptionRuleProblems('k', [{ step: 1, event: event('NO.SUCH.1') }, { step: 2, event: event(undefined) }], spec)).toEqual([
      'k step 1: {"kind":"exception","vector":13,"errorCode":0,"rule":"NO.SUCH.1"}: NO.SUCH.1 is not in spec/',
      'k step 2: {"kind":"exception","vector":13,"errorCode":0}: no rule',
    ]);
  });
});

describe('mesovirt run --explain', () => {
  it('window options: --steps 0, a fraction, a sign or a word are refused; --from 0 is the first step', () => {
    // The same parser the command uses; one refusal per kind goes through the real command below (status 2).
    expect(() => parseWindowOption('0', '--steps', true)).toThrow("--steps must be a positive integer, got '0'");
    expect(() => parseWindowOption('1.5', '--steps', true)).toThrow(/positive integer/);
    expect(() => parseWindowOption('+3', '--from', false)).toThrow(/non-negative integer/);
    expect(() => parseWindowOption('', '--from', false)).toThrow(/non-negative integer/);
    expect(parseWindowOption('0', '--from', false)).toBe(0);
    expect(parseWindowOption('12', '--steps', true)).toBe(12);
  });

  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-explain-'));
  const mesovirt = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn('node', [join(ROOT, 'bin', 'mesovirt.js'), ...args], { cwd: ROOT });
      let stdout = '', stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  const hello = join(dir, 'hello.elf');
  const built = assemble(join(ROOT, 'guests/hello/hello.asm'), (p) => readFileSync(p, 'utf8'), { format: 'elf' });
  if (built.kind !== 'ok') throw new Error('hello does not assemble');
  writeFileSync(hello, built.bytes);

  it('prints each step of the window on hello with the rules and the spec\'s sentences; and rejects bad windows with status 2', async () => {
    const guest = join(dir, 'ring1.bin');
    writeFileSync(guest, ring1GuestImage('    mov ax, 0x13\n    mov ss, ax'));
    // Where the guest's MOV SS is: located by stepping the world (the expected
    // text below comes from the manual and spec/, not from this run).
    const boot = bootGuest(ring1GuestImage('    mov ax, 0x13\n    mov ss, ax'));
    if (boot.kind !== 'ok') throw new Error(boot.message);
    let world: World = boot.world;
    let at = -1;
    for (let n = 0; n < 5000 && at < 0; n++) {
      const r = stepWorld(world);
      if (r.step.kind === 'exit' && r.step.event.kind === 'exception' && r.step.event.vector === 13 && r.step.event.errorCode === 0x10) at = n;
      world = r.world;
    }
    expect(at).toBeGreaterThan(0);
    const [window, vmm, negative, word, stray] = await Promise.all([
      mesovirt('run', hello, '--explain', '--from', '3', '--steps', '4'),
      mesovirt('run', guest, '--vmm', '--explain', '--from', String(at), '--steps', '1'),
      mesovirt('run', hello, '--explain', '--from', '-1'),
      mesovirt('run', hello, '--explain', '--steps', 'ten'),
      mesovirt('run', hello, '--from', '3'),
    ]);
    expect(window.status, window.stderr).toBe(0);
    const lines = window.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('step ')).map((l) => l.split(' ')[1])).toEqual(['3', '4', '5', '6']);
    // hello.asm: mov esp; mov esi; mov dx; then the loop lodsb; test al, al; jz; out dx, al.
    expect(lines.find((l) => l.startsWith('step 3'))).toMatch(/lodsb/);
    expect(window.stdout).toContain('SEG.LIMIT.1 — In an expand-up segment an access of n bytes at offset o is allowed when o + n − 1 ≤ limit; the access may not wrap past 4 GiB.');
    expect(lines.find((l) => l.startsWith('step 6'))).toMatch(/out dx, al/);
    expect(window.stdout).toContain('IO.PERM.1 — IN, OUT, INS and OUTS are allowed at CPL ≤ IOPL.  [the out instruction; port 0xe9: CPL 0 ≤ IOPL 0]');
    expect(window.stdout).toContain('console: "h"');
    // Under the monitor: the guest's MOV SS, 0x13 at CPL 1 is #GP(0x10) by SEG.LOAD.4, reflected to the guest.
    expect(vmm.status, vmm.stderr).toBe(0);
    expect(vmm.stdout).toMatch(/mov ss, e?ax/);
    expect(vmm.stdout).toContain('#GP(0x10): SEG.LOAD.4 — SS needs RPL = CPL, a writable data segment, and DPL = CPL, else #GP(selector).');
    expect(vmm.stdout).toContain('handled by: VMM.EXIT.0, VMM.REFLECT.1\n');
    for (const [r, text] of [[negative, /--from must be a non-negative integer, got '-1'/], [word, /--steps must be a positive integer, got 'ten'/], [stray, /--from and --steps go with --explain/]] as const) {
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(text);
      expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    }
  }, 120_000);
});
