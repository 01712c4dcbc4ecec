// Known-broken builds of gandalf (-DMUTANT_<NAME>, gandalf/config.inc) and
// the property that must catch each: an invariant of the real state
// (audit.ts) or refinement against model/vmm (refine.ts), over the guests
// of the default run (guests.ts). test/gandalf-mutants.test.ts proves each
// one is caught, and `mesovirt audit --monitor gandalf --mutant NAME` shows it.
import type { MemoryModeName } from '../../model/vmm/memory/types';

export type GandalfProperty = 'VMM.SEG' | 'VMM.RES' | 'VMM.ISO' | 'VMM.RING' | 'VMM.REFINE' | 'VMM.NI';

export interface GandalfMutant {
  /** The name on the command line (`--mutant`). */
  readonly name: string;
  /** The define that builds it. */
  readonly define: string;
  readonly what: string;
  readonly killedBy: GandalfProperty;
  /** The memory mode it is built and checked in (shadow-single when absent). */
  readonly mode?: MemoryModeName;
  /** A mutant of the para interface: built with -DPARA, checked on the para guests (para-guests.ts). */
  readonly para?: true;
  /** A mutant of the several-guests build (-DWORLDS, gandalf/worlds.inc), checked with two guests (properties/gandalf/worlds.ts). */
  readonly worlds?: boolean;
}

export const GANDALF_MUTANTS: readonly GandalfMutant[] = [
  { name: 'limit-page-high', define: 'MUTANT_LIMIT_PAGE_HIGH', what: 'a segment reaching the VMM base is truncated one page (or byte) too high', killedBy: 'VMM.SEG' },
  { name: 'dpl0-accepted', define: 'MUTANT_DPL0_ACCEPTED', what: 'a guest code or data segment of DPL 0 is installed', killedBy: 'VMM.SEG' },
  { name: 'boot-segments-reach-monitor', define: 'MUTANT_BOOT_SEGMENTS_REACH_MONITOR', what: 'the boot segments are flat 4 GiB', killedBy: 'VMM.SEG' },
  { name: 'frame-not-relocated', define: 'MUTANT_FRAME_NOT_RELOCATED', what: 'a shadow entry maps the guest frame number as a machine frame', killedBy: 'VMM.RES' },
  { name: 'virtual-if-lost', define: 'MUTANT_VIRTUAL_IF_LOST', what: 'an emulated STI leaves the virtual IF clear', killedBy: 'VMM.REFINE' },
  { name: 'cr2-not-virtualized', define: 'MUTANT_CR2_NOT_VIRTUALIZED', what: 'a reflected #PF leaves the virtual CR2 as it was', killedBy: 'VMM.REFINE' },
  { name: 'stale-shadow-after-cr3', define: 'MUTANT_STALE_SHADOW_AFTER_CR3', what: 'a guest CR3 write does not flush the shadow', killedBy: 'VMM.REFINE' },
  { name: 'shadow-writable', define: 'MUTANT_SHADOW_WRITABLE', what: 'every shadow entry is writable, whatever the guest maps', killedBy: 'VMM.REFINE' },
  { name: 'invlpg-ignored', define: 'MUTANT_INVLPG_IGNORED', what: 'a guest INVLPG leaves the shadow entry', killedBy: 'VMM.REFINE' },
  { name: 'multi-table-write-kept', define: 'MUTANT_MULTI_TABLE_WRITE_KEPT', what: 'shadow-multi: a write to a covered guest page table drops nothing derived from it (MEM.MULTI.4)', killedBy: 'VMM.REFINE', mode: 'shadow-multi' },
  { name: 'direct-tables-writable', define: 'MUTANT_DIRECT_TABLES_WRITABLE', what: 'direct: the guest\'s writable mappings of its own page-table pages are left writable (MEM.DIRECT.3)', killedBy: 'VMM.RES', mode: 'direct' },
  { name: 'direct-self-map', define: 'MUTANT_DIRECT_SELF_MAP', what: 'direct: a directory that names itself as a page table is accepted (MEM.DIRECT.2)', killedBy: 'VMM.RES', mode: 'direct' },
  { name: 'para-table-writable', define: 'MUTANT_PARA_TABLE_WRITABLE', what: 'para: mmu_update accepts a writable mapping of a page-table frame (PARA.MMU.4)', killedBy: 'VMM.REFINE', para: true },
  { name: 'hypercall-ring3', define: 'MUTANT_HYPERCALL_RING3', what: 'para: the hypercall gate has DPL 3 and a hypercall from ring 3 is carried out (PARA.CALL.5)', killedBy: 'VMM.REFINE', para: true },
  { name: 'para-batch-off-by-one', define: 'MUTANT_PARA_BATCH_OFF_BY_ONE', what: 'para: mmu_update applies one request past the count it was given (PARA.MMU.1)', killedBy: 'VMM.REFINE', para: true },
  { name: 'para-held-not-flagged', define: 'MUTANT_PARA_HELD_NOT_FLAGGED', what: 'para: an interrupt held back leaves the shared page\'s flag clear (PARA.IF.3)', killedBy: 'VMM.REFINE', para: true },
  { name: 'para-refused-marks-kept', define: 'MUTANT_PARA_REFUSED_MARKS_KEPT', what: 'para: reading a refused mmu_update request leaves the accessed bits it set (GANDALF.PARA.6)', killedBy: 'VMM.REFINE', para: true },
  { name: 'world-segments-kept', define: 'MUTANT_WORLD_SEGMENTS_KEPT', what: 'worlds: a world switch leaves DS, ES, FS and GS as the outgoing guest had them', killedBy: 'VMM.REFINE', worlds: true },
  { name: 'world-partition-not-switched', define: 'MUTANT_WORLD_PARTITION_NOT_SWITCHED', what: "worlds: after a switch the shadow maps the incoming guest's frames into guest 0's partition", killedBy: 'VMM.RES', worlds: true },
  { name: 'world-multi-kept', define: 'MUTANT_WORLD_MULTI_KEPT', what: "worlds, shadow-multi: the incoming guest gets the outgoing one's count of address spaces and records", killedBy: 'VMM.REFINE', mode: 'shadow-multi', worlds: true },
  { name: 'world-pic-shared', define: 'MUTANT_WORLD_PIC_SHARED', what: 'worlds: the interrupt controllers are not switched: one PIC for every guest', killedBy: 'VMM.NI', worlds: true },
  { name: 'multi-stale-after-cr3', define: 'MUTANT_MULTI_UNSYNCED_KEPT', what: 'shadow-multi: a guest CR3 write keeps the entries derived from pages written since their first exit (MEM.MULTI.5)', killedBy: 'VMM.REFINE', mode: 'shadow-multi' },
];

export function gandalfMutant(name: string): GandalfMutant {
  const m = GANDALF_MUTANTS.find((x) => x.name === name);
  if (m === undefined) throw new Error(`--mutant: gandalf has no mutant '${name}'; known: ${GANDALF_MUTANTS.map((x) => x.name).join(', ')}`);
  return m;
}
