// The rules of shadow-multi and direct on worked examples: the paged guests
// of memory-guests.ts (layout worked by hand there: directories at 0x110000
// and 0x111000, the identity table at 0x112000, data tables at 0x113000 and
// 0x114000), and hand-built tables for direct validation.
import { describe, expect, it } from 'vitest';
import { emptyMemory, readPhysical, writePhysical } from '../../model/cpu/memory';
import { DEFAULT_CONFIG } from '../../model/vmm/config';
import { bootInMode } from '../../model/vmm/memory/boot';
import { DIRECT_CONFIG, validateTables } from '../../model/vmm/memory/direct';
import { initialMemoryState, type DirectState, type MemoryModeName, type MultiShadowState } from '../../model/vmm/memory/types';
import { runWorld } from '../../model/vmm/run';
import { DATA_TABLES, DIRECTORIES, pagedImage, type PagedOp } from '../../properties/vmm/memory-guests';

function run(ops: readonly PagedOp[], mode: MemoryModeName) {
  const b = bootInMode(pagedImage(ops), mode);
  if (b.kind !== 'ok') throw new Error(b.message);
  return runWorld(b.world, 20_000);
}
const faults = (ops: readonly PagedOp[], mode: MemoryModeName) => run(ops, mode).world.vmm.exits['page fault'] ?? 0;
const reads = [0, 1, 2, 3].map((page) => ({ kind: 'read', page }) as const);
const switchBoth: PagedOp[] = [{ kind: 'switch', directory: 1 }, ...reads, { kind: 'switch', directory: 0 }, ...reads];

describe('shadow-multi', () => {
  it('[MEM.MULTI.1] [MEM.MULTI.5] after the warm-up, switching to the other space and back costs no page fault; single-shadow refaults every data page', () => {
    expect(faults(switchBoth, 'shadow-multi')).toBe(faults([], 'shadow-multi'));
    expect(faults(switchBoth, 'shadow-single') - faults([], 'shadow-single')).toBeGreaterThanOrEqual(8);
  });
  it('[MEM.MULTI.1] [MEM.MULTI.6] the spaces kept are the two directories; the paging-off space went with the PG change', () => {
    const m = run(switchBoth, 'shadow-multi').world.vmm.memory as MultiShadowState;
    expect(m.spaces.map((s) => s.key).sort()).toEqual([...DIRECTORIES]);
    expect(m.active).toBe(DIRECTORIES[0]);
  });
  it('[MEM.MULTI.2] [MEM.MULTI.3] both directories, the identity table and both data tables are covered', () => {
    const m = run([], 'shadow-multi').world.vmm.memory as MultiShadowState;
    for (const page of [...DIRECTORIES, 0x112000, ...DATA_TABLES]) expect(m.covered.has(page)).toBe(true);
    expect(m.unsynced.size).toBe(0);
  });
  it('[MEM.MULTI.4] a write to data table 0 drops what derives from it and leaves it unsynced until the next CR3 write; [MEM.MULTI.7] INVLPG then refills the page', () => {
    const ops: PagedOp[] = [{ kind: 'map', table: 0, page: 1, frame: 5, flush: 'invlpg' }];
    const r = run(ops, 'shadow-multi');
    const m = r.world.vmm.memory as MultiShadowState;
    expect(m.unsynced.has(DATA_TABLES[0])).toBe(true);
    expect(m.covered.has(DATA_TABLES[0])).toBe(false);
    const flushed = run([...ops, { kind: 'switch', directory: 0 }], 'shadow-multi').world.vmm.memory as MultiShadowState;
    expect(flushed.unsynced.size).toBe(0);
  });
});

describe('direct', () => {
  it('[MEM.DIRECT.1] needs the partition at machine 0', () => {
    const b = bootInMode(pagedImage([]), 'direct', DEFAULT_CONFIG);
    expect(b.kind === 'error' && b.message).toMatch(/partition at machine 0/);
    expect(DIRECT_CONFIG.partitionBase).toBe(0);
  });

  const state = initialMemoryState('direct') as DirectState;
  const cfg = DIRECT_CONFIG;
  // Directory at 0x10000: slot 0 -> table 0x11000, which maps page 0 -> 0x20000 (P W) and page 1 -> the table itself (P W).
  let base = emptyMemory(0x1400000);
  base = writePhysical(base, 0x10000, 4, 0x11003);
  base = writePhysical(base, 0x11000, 4, 0x20003);
  base = writePhysical(base, 0x11004, 4, 0x11003);
  it('[MEM.DIRECT.2] [MEM.DIRECT.3] good tables are accepted; the writable mapping of the table loses R/W; the VMM slot gets the monitor entry', () => {
    const v = validateTables(base, cfg, 0x10000, 0, state);
    if (v.kind !== 'ok') throw new Error(v.reason);
    expect([...v.tables].sort()).toEqual([0x10000, 0x11000]);
    expect(readPhysical(v.memory, 0x11004, 4)).toBe(0x11001);
    expect(readPhysical(v.memory, 0x11000, 4)).toBe(0x20003);
    expect([...v.demoted]).toEqual([0x11004]);
    // Monitor frames at 16 MiB; its page table is frame 7: 0x1007000, present and writable, supervisor.
    expect(readPhysical(v.memory, 0x10000 + 4 * (0xfc000000 >>> 22), 4)).toBe(0x1007003);
  });
  it('[MEM.DIRECT.2] a frame beyond the partition, a table beyond it, or an entry in the VMM slot is refused', () => {
    expect(validateTables(writePhysical(base, 0x11008, 4, 0x1000003), cfg, 0x10000, 0, state).kind).toBe('refuse');
    expect(validateTables(writePhysical(base, 0x10004, 4, 0x1008003), cfg, 0x10000, 0, state).kind).toBe('refuse');
    expect(validateTables(writePhysical(base, 0x10000 + 4 * 1009, 4, 0x11003), cfg, 0x10000, 0, state).kind).toBe('refuse');
    expect(validateTables(base, cfg, 0x1000000, 0, state).kind).toBe('refuse');
  });
  it('[MEM.DIRECT.4] with paging on, the real CR3 is the guest directory; [MEM.DIRECT.5] the emulated table write lands and the table stays read-only', () => {
    const r = run([{ kind: 'map', table: 0, page: 1, frame: 5, flush: 'invlpg' }, { kind: 'read', page: 1 }], 'direct');
    expect(r.end).toBe('exit 1');
    expect(r.world.machine.cr3).toBe(DIRECTORIES[0]);
    expect(r.console.endsWith('F')).toBe(true);
    expect(readPhysical(r.world.machine.memory, DATA_TABLES[0] + 4, 4) & 0xfffff000).toBe(0x125000);
    // The identity table's entry for data table 0 (page 0x113) has R/W clear.
    expect(readPhysical(r.world.machine.memory, 0x112000 + 4 * 0x113, 4) & 2).toBe(0);
  });
});
