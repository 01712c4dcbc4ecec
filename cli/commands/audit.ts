// `mesovirt audit IMAGE [--steps N]`: run a Multiboot image under the
// monitor and check the monitor's invariants (VMM.ISO, VMM.SEG, VMM.RING,
// VMM.RES; properties/vmm/invariants.ts) after every step. Prints a
// summary; on the first violation prints the step, the instruction that
// was about to run (disassembled) and the rule, and exits with status 1.
import type { Command } from 'commander';
import { runWorld } from '../../model/vmm/run';
import type { World } from '../../model/vmm/state';
import { disassemble } from '../../model/isa/disassembler';
import { checkStep, type Violation } from '../../properties/vmm/invariants';
import { instructionAt } from '../../properties/vmm/equivalence';
import { fetchGuestInstruction } from '../../model/vmm/emulate';
import { MUTANTS } from '../../properties/vmm/mutants';
import { bootImage, exitTable, monitorConfig } from './run-vmm';
import { auditOnImpl } from '../../properties/vmm/impl-audit';
import { readFileSync } from 'node:fs';

const INVARIANTS = ['VMM.ISO', 'VMM.SEG', 'VMM.RING', 'VMM.RES'] as const;

/** What was about to run when the step began, as text. */
function instructionText(world: World): string {
  const m = world.machine;
  // Through the processor's paging, or else the guest's own (the shadow may not map it yet).
  const i = instructionAt(m) ?? (m.segments.cs.selector & 3 ? fetchGuestInstruction(world, m)?.instruction ?? null : null);
  const at = `${m.segments.cs.selector.toString(16).padStart(4, '0')}:${m.eip.toString(16).padStart(8, '0')}`;
  return `${at}  ${i === null ? '(not mapped)' : disassemble(i, m.eip)} (CPL ${m.segments.cs.selector & 3})`;
}

export function register(program: Command): void {
  program
    .command('audit')
    .description('run IMAGE under the monitor and check VMM.ISO, VMM.SEG, VMM.RING and VMM.RES after every step; exit 1 on a violation')
    .argument('<image>', 'Multiboot v1 kernel built for ring 1 (e.g. a -D MESO build)')
    .option('--steps <n>', 'steps to run at most', '10000000')
    .option('--vmm-base <addr>', 'the VMM base (default 0xFC000000)')
    .option('--machine <kind>', 'the CPU under the monitor: model or impl (properties/vmm/impl-audit.ts)', 'model')
    .option('--mutant <name>', 'audit a known-broken monitor instead (properties/vmm/mutants.ts, or with --monitor gandalf properties/gandalf/mutants.ts), to see the audit catch it')
    .option('--memory <mode>', "with --monitor gandalf: the memory mode gandalf is built for (shadow-single, shadow-multi, direct)")
    .option('--para', 'with --monitor gandalf: gandalf built with -DPARA, for a para guest (a -D PARA build; spec/para.md)')
    .option('--monitor <which>', "'model' (model/vmm, the default) or 'gandalf' (gandalf/, the monitor as IA-32 code, run on impl with IMAGE as its module)", 'model')
    .action(async (image: string, opts: { steps: string; vmmBase?: string; machine: string; mutant?: string; monitor: string; memory?: string; para?: boolean }) => {
      const steps = Number(opts.steps);
      if (!Number.isInteger(steps) || steps <= 0) throw new Error(`--steps must be a positive integer, got '${opts.steps}'`);
      if (opts.monitor === 'gandalf') return (await import('./audit-gandalf')).auditUnderGandalf(image, { steps, mutant: opts.mutant, memory: opts.memory, para: opts.para });
      if (opts.monitor !== 'model') throw new Error(`--monitor must be 'model' or 'gandalf', got '${opts.monitor}'`);
      if (opts.para === true) throw new Error('--para goes with --monitor gandalf');
      if (opts.memory !== undefined) throw new Error('--memory goes with --monitor gandalf (for model/vmm: mesovirt run --vmm --memory)');
      if (opts.machine !== 'model' && opts.machine !== 'impl') throw new Error(`--machine must be 'model' or 'impl', got '${opts.machine}'`);
      const mutant = opts.mutant === undefined ? null : MUTANTS.find((m) => m.name === opts.mutant);
      if (mutant === undefined) throw new Error(`--mutant: no mutant named '${opts.mutant}'; known: ${MUTANTS.map((m) => `'${m.name}'`).join(', ')}`);
      const boot = bootImage(image, monitorConfig(opts.vmmBase), mutant?.rules);
      let violation: { step: number; v: Violation; instruction: string } | null = null;
      let checked = 0;
      let r: { steps: number; end: string; world: World };
      if (opts.machine === 'impl') {
        const a = auditOnImpl(boot, readFileSync(image), steps, mutant?.rules);
        checked = a.checked;
        if (a.violation !== null) violation = { step: a.violation.step, v: a.violation.v, instruction: instructionText(a.violation.before) };
        r = { steps: a.run.steps, end: a.run.end, world: { ...boot, vmm: a.run.vmm } };
      } else {
        r = runWorld(boot, steps, (before, after, s) => {
          if (violation !== null) return;
          checked++;
          const v = checkStep(boot, before, after, s);
          if (v !== null) violation = { step: checked, v, instruction: instructionText(before) };
        });
      }
      const out = [
        `audit of ${image}${mutant ? ` under the mutant monitor '${mutant.name}'` : ''} on ${opts.machine}`,
        `  steps          ${r.steps} (${r.end})`,
        `  invariants     ${INVARIANTS.join(', ')}, each checked after ${checked} steps`,
        `  violations     ${violation === null ? 0 : 1}`,
        'exits by reason:',
        ...exitTable(r.world),
      ];
      process.stdout.write(`${out.join('\n')}\n`);
      if (violation !== null) {
        const { step, v, instruction } = violation as { step: number; v: Violation; instruction: string };
        process.stdout.write(`VIOLATION [${v.rule}] at step ${step}: ${v.message}\n  instruction: ${instruction}\n`);
        process.exitCode = 1;
      }
    });
}
