// [DIFF.CASE.1] The random cases have what the spec says they have: random
// descriptor tables of every kind, written where the processor reads them,
// selectors in registers and on the stack. Checked on the machine state each
// case builds, decoded here by hand from the descriptor format (SDM vol. 3
// §3.4.5, §5.8.3, §6.11), not through the builders.
import { describe, expect, it } from 'vitest';
import { campaignCase } from '../properties/diff/campaign';
import { caseState } from '../properties/diff/states';
import { EXTRA_DESCRIPTORS, LDT_BASE, LDT_ENTRIES, LDT_SELECTOR } from '../properties/diff/tables';
import { readPhysical } from '../model/cpu/memory';

const GDT = 0x1000;
const CASES = 400;

/** The kind of a descriptor from its high dword: S bit, then type. */
function kindOf(high: number): string {
  const type = (high >>> 8) & 0xf;
  if (high & 0x1000) return type & 8 ? (type & 4 ? 'conforming code' : 'code') : type & 4 ? 'expand-down data' : 'data';
  return ({ 2: 'ldt', 9: 'tss', 0xb: 'busy tss', 0xc: 'call gate', 0xe: 'interrupt gate', 0xf: 'trap gate', 5: 'task gate' } as Record<number, string>)[type] ?? 'reserved';
}

describe('[DIFF.CASE.1] random cases carry random descriptor tables', () => {
  const cases = Array.from({ length: CASES }, (_, k) => campaignCase(0x6d65736f, k));

  it('every kind of GDT entry occurs, written in the GDT at indices 8..23, with present and absent ones', () => {
    const kinds = new Set<string>();
    let absent = 0, smallLimits = 0;
    for (const c of cases) {
      const memory = caseState(c).memory;
      for (let i = 0; i < EXTRA_DESCRIPTORS; i++) {
        const low = readPhysical(memory, GDT + 8 * (8 + i), 4), high = readPhysical(memory, GDT + 8 * (8 + i) + 4, 4);
        expect([low, high]).toEqual([c.tables.gdt[i]![0], c.tables.gdt[i]![1]]);
        if (low === 0 && high === 0) continue;
        kinds.add(kindOf(high));
        if (!(high & 0x8000)) absent++;
        if (high & 0x1000 && !(high & 0x800000) && ((high & 0xf0000) | (low & 0xffff)) < 0x10000) smallLimits++;
      }
    }
    expect([...kinds].sort()).toEqual(['busy tss', 'call gate', 'code', 'conforming code', 'data', 'expand-down data', 'interrupt gate', 'ldt', 'reserved', 'task gate', 'trap gate', 'tss']);
    expect(absent).toBeGreaterThan(CASES / 4);
    expect(smallLimits).toBeGreaterThan(CASES / 4);
  });

  it('the LDT is described in the GDT at its selector, and LDTR starts loaded in some cases only', () => {
    let loaded = 0;
    for (const c of cases) {
      const s = caseState(c);
      const high = readPhysical(s.memory, GDT + LDT_SELECTOR + 4, 4), low = readPhysical(s.memory, GDT + LDT_SELECTOR, 4);
      expect(kindOf(high)).toBe('ldt');
      expect(((low >>> 16) | ((high & 0xff) << 16) | (high & 0xff000000)) >>> 0).toBe(LDT_BASE);
      expect(readPhysical(s.memory, LDT_BASE + 8 * (LDT_ENTRIES - 1) + 4, 4)).toBe(c.tables.ldt[LDT_ENTRIES - 1]![1]);
      if (c.tables.ldtLoaded) {
        loaded++;
        expect(s.ldtr).toMatchObject({ selector: LDT_SELECTOR, base: LDT_BASE, limit: LDT_ENTRIES * 8 - 1, valid: true });
      } else expect(s.ldtr.valid).toBe(false);
    }
    expect(loaded).toBeGreaterThan(CASES / 4);
    expect(loaded).toBeLessThan((3 * CASES) / 4);
  });

  it('IDT overrides replace the default gates; registers and the stack hold selectors', () => {
    let overridden = 0;
    for (const c of cases) {
      const s = caseState(c);
      for (const { vector, gate } of c.tables.idt) {
        const last = [...c.tables.idt].reverse().find((g) => g.vector === vector)!;
        if (last.gate !== gate) continue;
        expect(readPhysical(s.memory, 0x2000 + 8 * vector + 4, 4)).toBe(gate[1]);
        overridden++;
      }
      // The last selector drawn for a register is the one it holds.
      for (const [register, selector] of new Map(c.tables.selectors)) {
        expect(register).not.toBe(1); // ECX keeps the REP bound
        expect(register).not.toBe(4); // ESP keeps the ring's stack
        expect(s.regs[register]).toBe(selector);
      }
      c.tables.stack.forEach((value, i) => expect(readPhysical(s.memory, s.regs[4]! + 4 * i, 4)).toBe(value >>> 0));
    }
    expect(overridden).toBeGreaterThan(CASES);
  });

  it('with paging, CR3 at 0x100000 maps the low 1 MiB to itself and each data page with its own flags; without, CR0.PG is clear', () => {
    // Read by hand: PDE 0 at CR3, its table's PTE for page p at (PDE & ~0xfff) + 4 * p (SDM vol. 3 §4.3).
    let paged = 0;
    for (const c of cases.slice(0, 100)) {
      const s = caseState(c);
      if (!c.paging) { expect(s.cr0 >>> 31).toBe(0); continue; }
      paged++;
      expect(s.cr0 >>> 31).toBe(1);
      expect(s.cr3).toBe(0x100000);
      const pde = readPhysical(s.memory, 0x100000, 4);
      expect(pde & 1).toBe(1);
      const pte = (page: number): number => readPhysical(s.memory, (pde & ~0xfff) + 4 * page, 4);
      for (const page of [0x0, 0x1, 0x4, 0x10, 0x1f, 0x30, 0xff]) expect(pte(page)).toBe(((page << 12) | 7) >>> 0);
      c.dataPageFlags.forEach((flags, k) => expect(pte(0x20 + k), `data page ${k}`).toBe(((0x20000 + k * 0x1000) | flags) >>> 0));
    }
    expect(paged).toBeGreaterThan(20);
  });
});
