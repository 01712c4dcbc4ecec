// The default property run over gandalf (guests.ts): the invariants on the
// real state, and refinement against model/vmm, in one memory mode. Each
// stops at the first guest that fails and names it, so a mutant's run is short.
import { auditGandalf } from './audit';
import { checkRefinement } from './refine';
import { modeDefines } from './build';
import { HOSTILE_SEEDS, PAGED_SEEDS, hostileAt, pagedAt, recursiveGuest, rtos, spacesGuest, teachMeso, tourGuest } from './guests';
import type { Violation } from './invariants';
import { PARA_HOSTILE_SEEDS, paraHostileAt, paraTourGuest, teachPara } from './para-guests';
import type { MemoryModeName } from '../../model/vmm/memory/types';

export interface GuestCase {
  readonly name: string;
  readonly image: () => Uint8Array;
  readonly maxUnits: number;
  /** Machine steps the invariants audit runs (by default 10,000,000 for a whole kernel, else 200,000). */
  readonly auditSteps?: number;
}

export function defaultGuests(mode: MemoryModeName = 'shadow-single'): GuestCase[] {
  // Quick guests first: a mutant's run stops at the first guest that catches it.
  const tours: GuestCase[] = [
    { name: 'tour guest, ring 1', image: () => tourGuest(1), maxUnits: 5000 },
    { name: 'tour guest, ring 3', image: () => tourGuest(3), maxUnits: 5000 },
  ];
  const paged = PAGED_SEEDS.map((seed) => ({ name: `paged guest, seed ${seed}`, image: () => pagedAt(seed), maxUnits: 20000 }));
  // The other modes' mutants are in their paging: the paging guests first.
  const spaces = { name: 'two address spaces, remapped', image: spacesGuest, maxUnits: 20000 };
  // (the direct build's boot clears 640 KiB of the partition, one machine step a dword)
  const recursive = { name: 'a directory that names itself (MEM.DIRECT.2)', image: recursiveGuest, maxUnits: 20000, auditSteps: 400_000 };
  const first = mode === 'shadow-single' ? [...tours, ...paged] : mode === 'direct' ? [spaces, recursive, ...paged, ...tours] : [spaces, ...paged, ...tours];
  return [
    ...first,
    { name: 'teach (meso)', image: () => teachMeso(), maxUnits: 1_000_000 },
    { name: 'rtos (meso)', image: () => rtos({ MESO: '' }), maxUnits: 1_000_000 },
    ...HOSTILE_SEEDS.map((seed) => ({ name: `hostile guest, seed ${seed}`, image: () => hostileAt(seed), maxUnits: 3000 })),
  ];
}

/** [GANDALF.PARA.1] The para guests (-DPARA), quick ones first: the directed tour at ring 1
 * and 3, the random hostile para guests, the teaching kernel's para build. */
export function paraGuests(): GuestCase[] {
  return [
    { name: 'para tour guest, ring 1', image: () => paraTourGuest(1), maxUnits: 3000 },
    { name: 'para tour guest, ring 3', image: () => paraTourGuest(3), maxUnits: 3000 },
    ...PARA_HOSTILE_SEEDS.map((seed) => ({ name: `hostile para guest, seed ${seed}`, image: () => paraHostileAt(seed), maxUnits: 3000 })),
    { name: 'teach (para)', image: () => teachPara(), maxUnits: 1_000_000 },
  ];
}

/** VMM.REFINE of gandalf -DPARA against model/vmm's para monitor over the para guests. */
export function runGandalfParaRefinement(defines: Record<string, string> = {}, mode: MemoryModeName = 'shadow-single', guests = paraGuests()): PropertyFailure | null {
  for (const g of guests) {
    const r = checkRefinement(g.image(), { defines, mode, para: true, maxUnits: g.maxUnits });
    if (r.divergence !== null) return { guest: g.name, rule: 'VMM.REFINE', message: `unit ${r.divergence.unit}, ${r.divergence.at}: ${r.divergence.differences.join('; ')}` };
  }
  return null;
}

export type PropertyFailure = { readonly guest: string; readonly rule: string; readonly message: string };

/** VMM.ISO, VMM.SEG, VMM.RING, VMM.RES on gandalf's real state, over the default guests. */
export function runGandalfInvariants(defines: Record<string, string> = {}, mode: MemoryModeName = 'shadow-single', guests = defaultGuests(mode)): PropertyFailure | null {
  for (const g of guests) {
    const r = auditGandalf([g.image()], { defines: { ...modeDefines(mode), ...defines }, maxSteps: g.auditSteps ?? (g.maxUnits >= 1_000_000 ? 10_000_000 : 200_000) });
    const v = r.violation as { step: number; violation: Violation } | null;
    if (v !== null) return { guest: g.name, rule: v.violation.rule, message: `step ${v.step}: ${v.violation.message}` };
  }
  return null;
}

/** VMM.REFINE over the default guests. */
export function runGandalfRefinement(defines: Record<string, string> = {}, mode: MemoryModeName = 'shadow-single', guests = defaultGuests(mode)): PropertyFailure | null {
  for (const g of guests) {
    const r = checkRefinement(g.image(), { defines, mode, maxUnits: g.maxUnits });
    if (r.divergence !== null) return { guest: g.name, rule: 'VMM.REFINE', message: `unit ${r.divergence.unit}, ${r.divergence.at}: ${r.divergence.differences.join('; ')}` };
  }
  return null;
}
