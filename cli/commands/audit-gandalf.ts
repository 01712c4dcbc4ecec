// `mesovirt audit IMAGE --monitor gandalf [--mutant NAME]`: boot gandalf
// (gandalf/gandalf.asm, built by our assembler) on impl with IMAGE as its
// Multiboot module and check VMM.ISO, VMM.SEG, VMM.RING and VMM.RES on the
// real machine state (properties/gandalf/audit.ts). Exit status 1 on a
// violation, as the audit of model/vmm.
import { readFileSync } from 'node:fs';
import { auditGandalf } from '../../properties/gandalf/audit';
import { gandalfMutant, type GandalfMutant } from '../../properties/gandalf/mutants';
import { auditWorlds, WORLDS_DEFINES } from '../../properties/gandalf/worlds';
import { modeDefines } from '../../properties/gandalf/build';
import type { MemoryModeName } from '../../model/vmm/memory/types';

const GANDALF_MODES: readonly MemoryModeName[] = ['shadow-single', 'shadow-multi', 'direct'];

export function auditUnderGandalf(image: string, opts: { steps: number; mutant?: string; memory?: string; para?: boolean }): void {
  const mutant = opts.mutant === undefined ? null : gandalfMutant(opts.mutant);
  const mode = (opts.memory ?? mutant?.mode ?? 'shadow-single') as MemoryModeName;
  if (!GANDALF_MODES.includes(mode)) throw new Error(`--memory: gandalf is built for ${GANDALF_MODES.join(', ')}, got '${opts.memory}'`);
  // [GANDALF.PARA.1] --para (or a para mutant): gandalf built with -DPARA for a para guest.
  const para = opts.para === true || mutant?.para === true;
  if (para && mode === 'shadow-multi') throw new Error('--para: a para guest runs shadow-single or direct (PARA.BOOT.2), not shadow-multi');
  if (mutant?.mode !== undefined && mutant.mode !== mode) throw new Error(`--mutant ${mutant.name} is a ${mutant.mode} mutant, not ${mode}`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(image));
  } catch (e) {
    throw new Error(`${image}: cannot read (${(e as Error).message})`);
  }
  if (mutant?.worlds === true) {
    if (mode === 'direct') throw new Error(`--mutant ${mutant.name} is a mutant of the several-guests build, which runs shadow-single or shadow-multi, not direct`);
    if (para) throw new Error(`--para: the several-guests build (--mutant ${mutant.name}) runs meso guests, not para guests`);
    return auditWorldsMutant(image, bytes, opts.steps, mutant, mode);
  }
  const r = auditGandalf([bytes], { maxSteps: opts.steps, defines: { ...modeDefines(mode), ...(para ? { PARA: '' } : {}), ...(mutant === null ? {} : { [mutant.define]: '' }) } });
  const rows = Object.entries(r.exitsByReason).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const width = Math.max(6, ...rows.map(([k]) => k.length));
  const out = [
    `audit of ${image} under gandalf (${mode}${para ? ', para' : ''})${mutant ? ` built as the mutant '${mutant.name}' (${mutant.what})` : ''}`,
    `  steps          ${r.steps} (${r.end}), ${r.guestSteps} guest instructions, ${r.exits} exits`,
    '  invariants     VMM.RING after every step, VMM.SEG (segment registers) after every guest step,',
    '                 VMM.SEG (real GDT/LDT) and VMM.RES at every return to the guest, VMM.ISO across guest steps',
    `  violations     ${r.violation === null ? 0 : 1}`,
    'exits by reason:',
    ...rows.map(([k, n]) => `  ${k.padEnd(width)}  ${n}`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (r.violation !== null) {
    process.stdout.write(`VIOLATION [${r.violation.violation.rule}] at step ${r.violation.step}: ${r.violation.violation.message}\n`);
    process.exitCode = 1;
  }
}

/**
 * A mutant of the several-guests build (gandalf/worlds.inc): IMAGE runs as
 * two guests, side by side, under gandalf -DWORLDS with the mutant built in,
 * and the invariants are checked in every world (properties/gandalf/worlds.ts,
 * auditWorlds). Mutants that only refinement or non-interference catch
 * pass this audit: the line says which property catches them.
 */
function auditWorldsMutant(image: string, bytes: Uint8Array, steps: number, mutant: GandalfMutant, mode: 'shadow-single' | 'shadow-multi'): void {
  const r = auditWorlds([bytes, bytes], { mode, maxSteps: steps, defines: { ...WORLDS_DEFINES, [mutant.define]: '' } });
  const out = [
    `audit of ${image}, twice (two guests), under gandalf -DWORLDS (${mode}) built as the mutant '${mutant.name}' (${mutant.what})`,
    `  steps          ${r.steps} (${r.end}), ${r.switches} world switches`,
    '  invariants     VMM.RING, VMM.SEG, VMM.RES and VMM.ISO in the running world; every world\'s tables at every switch',
    `  caught by      ${mutant.killedBy}${mutant.killedBy === 'VMM.REFINE' || mutant.killedBy === 'VMM.NI' ? ' (not an invariant: test/gandalf/worlds.test.ts shows it caught)' : ''}`,
    `  violations     ${r.violation === null ? 0 : 1}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (r.violation !== null) {
    process.stdout.write(`VIOLATION [${r.violation.violation.rule}] at step ${r.violation.step}, guest ${r.violation.guest}: ${r.violation.violation.message}\n`);
    process.exitCode = 1;
  }
}
