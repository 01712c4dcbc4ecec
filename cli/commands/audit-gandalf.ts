// `mesovirt audit IMAGE --monitor gandalf [--mutant NAME]`: boot gandalf
// (gandalf/gandalf.asm, built by our assembler) on impl with IMAGE as its
// Multiboot module and check VMM.ISO, VMM.SEG, VMM.RING and VMM.RES on the
// real machine state (properties/gandalf/audit.ts). Exit status 1 on a
// violation, as the audit of model/vmm.
import { readFileSync } from 'node:fs';
import { auditGandalf } from '../../properties/gandalf/audit';
import { gandalfMutant } from '../../properties/gandalf/mutants';
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
