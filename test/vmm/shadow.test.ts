// Single-shadow paging: fills, reflections and flushes, against page-table
// entries worked by hand (SDM vol. 3, 4.3: PDE/PTE bits P=1, R/W=2, U/S=4,
// A=0x20, D=0x40; #PF error code bits P=1, W/R=2, U/S=4).
import { describe, expect, it } from 'vitest';
import { emptyMemory, readPhysical, writePhysical, type PhysicalMemory } from '../../model/cpu/memory';
import { DEFAULT_CONFIG, Frame, frameMachine, machineMemorySize, validateConfig } from '../../model/vmm/config';
import {
  buildMonitorMappings, emptyShadow, flushShadow, handleShadowFault, invalidateShadowPage, shadowEntry, SHADOW_POOL_SIZE,
} from '../../model/vmm/shadow';

const cfg = DEFAULT_CONFIG;
const PART = cfg.partitionBase; // 0x400000
const PG = 0x80000001;
const regs = { cr0: PG, cr3: 0x1000, cr4: 0 };

function guestMemory(): PhysicalMemory {
  let m = buildMonitorMappings(emptyMemory(machineMemorySize(cfg)), cfg);
  const put = (gp: number, v: number) => { m = writePhysical(m, PART + gp, 4, v); };
  put(0x1000, 0x2000 | 7);          // PDE 0: table at 0x2000, P W U
  put(0x2000 + 5 * 4, 0x7000 | 5);  // page 5: frame 0x7000, P U (read-only)
  put(0x2000 + 6 * 4, 0x8000 | 3);  // page 6: frame 0x8000, P W (supervisor)
  put(0x2000 + 7 * 4, 0x2000000 | 7); // page 7: frame beyond the 16 MiB partition
  return m;
}

describe('[VMM.LAYOUT.1] [VMM.LAYOUT.2] the default layout', () => {
  it('is valid and puts the partition above the monitor frames', () => {
    expect(validateConfig(cfg)).toBeNull();
    expect(machineMemorySize(cfg)).toBe(0x01400000);
    expect(validateConfig({ ...cfg, vmmBase: 0xfc001000 })).toMatch(/4 MiB/);
    expect(validateConfig({ ...cfg, partitionBase: 0 })).toMatch(/overlaps/);
  });
});

describe('[VMM.SHADOW.1] [VMM.SHADOW.3] [VMM.SHADOW.4] filling the shadow', () => {
  it('a user read of a read-only user page maps machine 0x407000, read-only, user; guest A bits set', () => {
    const r = handleShadowFault(guestMemory(), cfg, emptyShadow, regs, 0x5123, 4);
    expect(r.kind).toBe('filled');
    if (r.kind !== 'filled') return;
    expect(shadowEntry(r.memory, cfg, 0x5123)).toBe(0x407005);
    expect(readPhysical(r.memory, PART + 0x2000 + 20, 4)).toBe(0x7025);
    expect(readPhysical(r.memory, PART + 0x1000, 4)).toBe(0x2027);
    expect(r.shadow.tablesInUse).toBe(1);
  });
  it('[VMM.SHADOW.5] a kernel read of a clean writable page maps it read-only; the first write sets D and maps it writable', () => {
    const read = handleShadowFault(guestMemory(), cfg, emptyShadow, regs, 0x6000, 0);
    if (read.kind !== 'filled') throw new Error(read.kind);
    expect(shadowEntry(read.memory, cfg, 0x6000)).toBe(0x408001);
    expect(readPhysical(read.memory, PART + 0x2000 + 24, 4)).toBe(0x8023);
    const write = handleShadowFault(read.memory, cfg, read.shadow, regs, 0x6004, 3);
    if (write.kind !== 'filled') throw new Error(write.kind);
    expect(shadowEntry(write.memory, cfg, 0x6000)).toBe(0x408003);
    expect(readPhysical(write.memory, PART + 0x2000 + 24, 4)).toBe(0x8063);
    expect(write.shadow.tablesInUse).toBe(1);
  });
  it('[VMM.SHADOW.2] with guest paging off, linear 0x3000 is guest-physical 0x3000, machine 0x403000', () => {
    const r = handleShadowFault(guestMemory(), cfg, emptyShadow, { ...regs, cr0: 1 }, 0x3000, 2);
    expect(r.kind === 'filled' && shadowEntry(r.memory, cfg, 0x3000)).toBe(0x403007);
  });
  it('[VMM.SHADOW.10] an exhausted pool is flushed before the next table is taken', () => {
    const r = handleShadowFault(guestMemory(), cfg, { tablesInUse: SHADOW_POOL_SIZE }, regs, 0x5000, 4);
    expect(r.kind === 'filled' && r.shadow.tablesInUse).toBe(1);
  });
});

describe('[VMM.SHADOW.6] what the guest tables refuse is reflected; what it does not own stops it', () => {
  it('a user write to a read-only page: #PF error 7 (P W U) at the address', () => {
    expect(handleShadowFault(guestMemory(), cfg, emptyShadow, regs, 0x5000, 6)).toEqual({ kind: 'reflect', errorCode: 7, address: 0x5000 });
  });
  it('a user read of a supervisor page: #PF error 5 (P U)', () => {
    expect(handleShadowFault(guestMemory(), cfg, emptyShadow, regs, 0x6000, 4)).toEqual({ kind: 'reflect', errorCode: 5, address: 0x6000 });
  });
  it('a page not present in the guest tables: error 0 for a kernel read', () => {
    expect(handleShadowFault(guestMemory(), cfg, emptyShadow, regs, 0x400000, 0)).toEqual({ kind: 'reflect', errorCode: 0, address: 0x400000 });
  });
  it('a guest frame beyond the partition stops the guest', () => {
    expect(handleShadowFault(guestMemory(), cfg, emptyShadow, regs, 0x7000, 0).kind).toBe('stop');
  });
  it('a fault inside the VMM region stops the guest', () => {
    expect(handleShadowFault(guestMemory(), cfg, emptyShadow, regs, 0xfc000000, 0).kind).toBe('stop');
  });
});

describe('[VMM.SHADOW.7] [VMM.SHADOW.8] [VMM.SHADOW.9] flushing', () => {
  it('a flush empties guest entries and keeps the monitor mapping', () => {
    const r = handleShadowFault(guestMemory(), cfg, emptyShadow, regs, 0x5000, 4);
    if (r.kind !== 'filled') throw new Error(r.kind);
    const flushed = flushShadow(r.memory, cfg);
    expect(shadowEntry(flushed.memory, cfg, 0x5000)).toBe(0);
    expect(flushed.shadow.tablesInUse).toBe(0);
    expect(shadowEntry(flushed.memory, cfg, 0xfc000000)).toBe(frameMachine(cfg, 0) | 3);
    expect(shadowEntry(flushed.memory, cfg, 0xfc000000 + Frame.gdt * 4096)).toBe(frameMachine(cfg, Frame.gdt) | 3);
  });
  it('INVLPG drops one entry only', () => {
    let r = handleShadowFault(guestMemory(), cfg, emptyShadow, regs, 0x5000, 4);
    if (r.kind !== 'filled') throw new Error(r.kind);
    r = handleShadowFault(r.memory, cfg, r.shadow, regs, 0x6000, 0) as typeof r;
    const m = invalidateShadowPage(r.memory, cfg, 0x5fff);
    expect(shadowEntry(m, cfg, 0x5000)).toBe(0);
    expect(shadowEntry(m, cfg, 0x6000)).toBe(0x408001);
  });
});
