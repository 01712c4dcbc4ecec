// Page-table updates of a para guest: the batched mmu_update and the base
// pointer. The guest's tables hold guest-physical frames and are read by the
// monitor's shadow as for a meso guest; what changes is that the guest never
// writes a page-table entry itself: it asks, and the monitor validates.
import { readBytes, writePhysical, type PhysicalMemory } from '../../cpu/memory';
import { PTE_PRESENT, PTE_WRITABLE, PDE_LARGE } from '../../cpu/paging';
import { PAGE, type VmmConfig } from '../config';
import { guestToMachine } from '../guest-paging';
import type { ParaState } from './interface';

export interface MmuRequest { readonly ptr: number; readonly val: number }

export type MmuResult =
  | { readonly kind: 'ok'; readonly memory: PhysicalMemory; readonly para: ParaState; readonly flush: boolean }
  | { readonly kind: 'refused'; readonly reason: string };

type Level = 1 | 2;

const frameOf = (entry: number): number => (entry >>> 12) & 0xfffff;
const inPartition = (config: VmmConfig, guestPhysical: number, bytes: number): boolean =>
  guestPhysical >= 0 && guestPhysical + bytes <= config.partitionSize;

function entriesOf(memory: PhysicalMemory, config: VmmConfig, frame: number): Uint32Array {
  const bytes = readBytes(memory, guestToMachine(config, frame * PAGE), PAGE);
  return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + PAGE));
}

/** Does any known page table map `frame` writable? */
function mappedWritable(memory: PhysicalMemory, config: VmmConfig, tables: ParaState['tables'], frame: number): string | null {
  for (const [key, level] of Object.entries(tables)) {
    if (level !== 1) continue;
    const entries = entriesOf(memory, config, Number(key));
    for (let i = 0; i < 1024; i++) {
      const e = entries[i]!;
      if ((e & PTE_PRESENT) !== 0 && (e & PTE_WRITABLE) !== 0 && frameOf(e) === frame) return `frame 0x${frame.toString(16)} is mapped writable by table 0x${key}`;
    }
  }
  return null;
}

/** Check one entry at `index` of a `level` table against the known tables; a
 * directory entry may name a new table, returned to be adopted. */
function checkEntry(config: VmmConfig, tables: ParaState['tables'], level: Level, index: number, entry: number): { ok: true; newTable: number | null } | { ok: false; reason: string } {
  if ((entry & PTE_PRESENT) === 0) return { ok: true, newTable: null };
  const frame = frameOf(entry);
  // [PARA.MMU.2] Every present entry names a frame of the guest's partition.
  if (!inPartition(config, frame * PAGE, PAGE)) return { ok: false, reason: `entry names frame 0x${frame.toString(16)} outside the partition` };
  if (level === 2) {
    // [PARA.MMU.3] Nothing is mapped at or above the VMM base, and a
    // directory entry names a page table (no 4 MiB pages).
    if (index >= config.vmmBase >>> 22) return { ok: false, reason: `directory entry ${index} lies at or above the VMM base` };
    if ((entry & PDE_LARGE) !== 0) return { ok: false, reason: 'a 4 MiB page in a para guest' };
    const known = tables[frame];
    if (known === 2) return { ok: false, reason: `directory entry names directory frame 0x${frame.toString(16)}` };
    return { ok: true, newTable: known === 1 ? null : frame };
  }
  // [PARA.MMU.4] A page table may map a page-table frame only read-only.
  if ((entry & PTE_WRITABLE) !== 0 && tables[frame] !== undefined) return { ok: false, reason: `writable mapping of page-table frame 0x${frame.toString(16)}` };
  return { ok: true, newTable: null };
}

/** [PARA.MMU.5] Adopt `frame` as a page table of `level`: nothing may map it
 * writable, and each of its entries must pass the entry checks (a directory's
 * tables are adopted in turn). */
export function adoptTable(memory: PhysicalMemory, config: VmmConfig, para: ParaState, frame: number, level: Level): { kind: 'ok'; para: ParaState } | { kind: 'refused'; reason: string } {
  const known = para.tables[frame];
  if (known === level) return { kind: 'ok', para };
  if (known !== undefined) return { kind: 'refused', reason: `frame 0x${frame.toString(16)} is already a level-${known} table` };
  if (!inPartition(config, frame * PAGE, PAGE)) return { kind: 'refused', reason: `frame 0x${frame.toString(16)} outside the partition` };
  let p: ParaState = { ...para, tables: { ...para.tables, [frame]: level } };
  const writable = mappedWritable(memory, config, p.tables, frame);
  if (writable !== null) return { kind: 'refused', reason: writable };
  const entries = entriesOf(memory, config, frame);
  for (let i = 0; i < 1024; i++) {
    const c = checkEntry(config, p.tables, level, i, entries[i]!);
    if (!c.ok) return { kind: 'refused', reason: c.reason };
    if (c.newTable !== null) {
      const a = adoptTable(memory, config, p, c.newTable, 1);
      if (a.kind !== 'ok') return a;
      p = a.para;
    }
  }
  return { kind: 'ok', para: p };
}

/**
 * [PARA.MMU.1] One request: the entry it writes lies in the partition and in
 * a frame that is (or becomes) a page table of the level the command names.
 * [PARA.MMU.6] Replacing a present entry may leave stale shadow entries and
 * TLB entries: the caller flushes both (`flush`).
 */
export function applyRequest(memory: PhysicalMemory, config: VmmConfig, para: ParaState, request: MmuRequest): MmuResult {
  const address = (request.ptr & ~3) >>> 0;
  const level: Level = (request.ptr & 3) === 1 ? 2 : 1;
  const machine = guestToMachine(config, address);
  const old = inPartition(config, address, 4) ? new DataView(readBytes(memory, machine, 4).slice().buffer).getUint32(0, true) : 0;
  const flush = (old & PTE_PRESENT) !== 0;
  if (!para.rules.validateMmu) {
    // (mutant) no validation: the entry is written wherever it points.
    return { kind: 'ok', memory: writePhysical(memory, machine, 4, request.val), para: { ...para, mmuApplied: para.mmuApplied + 1 }, flush };
  }
  if ((request.ptr & 3) > 1) return { kind: 'refused', reason: `unknown mmu_update command ${request.ptr & 3}` };
  if (!inPartition(config, address, 4)) return { kind: 'refused', reason: `entry address 0x${address.toString(16)} outside the partition` };
  const frame = address >>> 12;
  const adopted = adoptTable(memory, config, para, frame, level);
  if (adopted.kind !== 'ok') return adopted;
  let p = adopted.para;
  const c = checkEntry(config, p.tables, level, (address & 0xfff) >>> 2, request.val);
  if (!c.ok) return { kind: 'refused', reason: c.reason };
  const written = writePhysical(memory, machine, 4, request.val);
  if (c.newTable !== null) {
    const a = adoptTable(written, config, p, c.newTable, 1);
    if (a.kind !== 'ok') return a;
    p = a.para;
  }
  return { kind: 'ok', memory: written, para: { ...p, mmuApplied: p.mmuApplied + 1 }, flush };
}

/** [PARA.MMU.7] new_baseptr: the directory is adopted (validated with
 * every table it names) before the guest may run on it. */
export function checkBaseptr(memory: PhysicalMemory, config: VmmConfig, para: ParaState, directory: number): { kind: 'ok'; para: ParaState } | { kind: 'refused'; reason: string } {
  if ((directory & 0xfff) !== 0) return { kind: 'refused', reason: 'the directory is not page-aligned' };
  if (!para.rules.validateMmu) return { kind: 'ok', para };
  return adoptTable(memory, config, para, directory >>> 12, 2);
}
