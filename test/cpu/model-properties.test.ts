// Properties of the model's own machinery, each against an independent
// formulation: the persistent memory against a flat byte array, the limit
// check against byte-by-byte membership in the valid range, the TLB against
// a fresh page walk, and step() as a total function.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyParams } from '../../properties/seed';
import { emptyMemory, readPhysical, writePhysical, type PhysicalMemory } from '../../model/cpu/memory';
import { withinLimit } from '../../model/cpu/context';
import { translate } from '../../model/cpu/paging';
import { emptyTlb } from '../../model/cpu/tlb';
import { step } from '../../model/cpu/step';
import { systemState, mapPage, withIdentityPaging, writeCode, gateDescriptor, SEL, LAYOUT, PTE } from '../../properties/builders';
import type { SegmentRegister } from '../../model/cpu/state';

const SIZE = 1 << 16;

describe('persistent memory [STATE.MEM.1]', () => {
  const writes = fc.array(fc.record({ address: fc.integer({ min: 0, max: SIZE - 4 }), bytes: fc.constantFrom(1 as const, 2 as const, 4 as const), value: fc.nat() }), { maxLength: 40 });
  it('matches a flat array, and every earlier version is unchanged', () => {
    fc.assert(fc.property(writes, (ws) => {
      const flat = new Uint8Array(SIZE);
      const versions: { memory: PhysicalMemory; snapshot: Uint8Array }[] = [];
      let memory = emptyMemory(SIZE);
      for (const w of ws) {
        versions.push({ memory, snapshot: flat.slice() });
        memory = writePhysical(memory, w.address, w.bytes, w.value);
        for (let i = 0; i < w.bytes; i++) flat[w.address + i] = (w.value >>> (8 * i)) & 0xff;
      }
      versions.push({ memory, snapshot: flat });
      for (const v of versions) {
        for (const w of ws) expect(readPhysical(v.memory, w.address, 1)).toBe(v.snapshot[w.address]);
      }
    }), propertyParams(200));
  });
});

describe('limit checks [SEG.LIMIT.1] [SEG.LIMIT.2]', () => {
  const segment = fc.record({ limit: fc.oneof(fc.nat(), fc.constantFrom(0, 0xfff, 0xffff, 0xfffff, 0xffffffff)), expandDown: fc.boolean(), big: fc.boolean() });
  const offset = fc.oneof(fc.nat(), fc.constantFrom(0, 0xffff, 0xfffe, 0x10000, 0xfffffffc, 0xffffffff));
  it('an access is allowed exactly when each of its bytes is a valid offset', () => {
    fc.assert(fc.property(segment, offset, fc.constantFrom(1, 2, 4), (seg, off, bytes) => {
      const reg: SegmentRegister = { selector: 8, base: 0, limit: seg.limit >>> 0, valid: true, attributes: 0x80 | 0x10 | (seg.expandDown ? 0x6 : 0x2) | (seg.big ? 0x4000 : 0) };
      const valid = (o: number): boolean => {
        if (o > 0xffffffff) return false; // no wrap-around
        if (!seg.expandDown) return o <= reg.limit;
        return o > reg.limit && o <= (seg.big ? 0xffffffff : 0xffff);
      };
      let all = true;
      for (let i = 0; i < bytes; i++) all &&= valid(off + i);
      expect(withinLimit(reg, off, bytes)).toBe(all);
    }), propertyParams(2000));
  });
});

describe('the TLB agrees with a fresh walk while the tables are unchanged [PAGE.TLB.2]', () => {
  const CR3 = 0x400000;
  const mapping = fc.record({ page: fc.integer({ min: 0x100, max: 0x3ff }), frame: fc.integer({ min: 0x200, max: 0x2ff }), flags: fc.integer({ min: 0, max: 7 }) });
  const accessArb = fc.record({ which: fc.nat(), offset: fc.integer({ min: 0, max: 0xfff }), write: fc.boolean(), user: fc.boolean() });
  it('each access gives the same answer with the accumulated TLB as with an empty one', () => {
    fc.assert(fc.property(fc.array(mapping, { minLength: 1, maxLength: 8 }), fc.array(accessArb, { maxLength: 20 }), (maps, accesses) => {
        let s = withIdentityPaging(systemState(), CR3, 0, 0x1000);
        for (const m of maps) s = mapPage(s, CR3, m.page << 12, m.frame << 12, m.flags | PTE.A | PTE.D);
        for (const a of accesses) {
          const linear = ((maps[a.which % maps.length]!.page << 12) | a.offset) >>> 0;
          const access = { write: a.write, user: a.user };
          const cached = translate(s, linear, access);
          const fresh = translate({ ...s, tlb: emptyTlb }, linear, access);
          if (cached.kind === 'ok' && fresh.kind === 'ok') expect(cached.physical).toBe(fresh.physical);
          else expect(cached).toEqual(fresh);
          if (cached.kind === 'ok') s = cached.state;
        }
    }), propertyParams(200));
  });
});

describe('step is total', () => {
  const gates: Record<number, readonly [number, number]> = {};
  for (let v = 0; v < 32; v++) gates[v] = gateDescriptor({ selector: SEL.code0, offset: 0x20000, type: 0xe });
  const base = systemState({ cpl: 3, gates });
  it('random bytes at CS:EIP give an event, never an exception thrown', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const r = step(writeCode(base, LAYOUT.code, bytes));
      expect(['retired', 'exception', 'interrupt', 'halted', 'shutdown', 'exit', 'model-error']).toContain(r.event.kind);
    }), propertyParams(500));
  });
});
