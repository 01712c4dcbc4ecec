// [PRIV.EIP.1] A far CALL checks the new EIP against the target's limit
// before it pushes the return address. Worked from the CALL pseudo-code of
// the Intel manual (vol. 2A, CALL: "IF tempEIP not in code segment limit
// THEN #GP(0); FI; Push(CS); Push(EIP)"): at CPL 3, `call 0x33:0x100` to a
// present ring-3 code segment whose limit is 5, with the stack page below
// ESP not present, raises #GP(0), not the #PF the push would have raised
// (the exception itself is delivered on the ring-0 stack from the TSS).
// Found by `mesovirt check --seed 600` (case 165018): the model pushed
// first and page-faulted; impl raised #GP(0).
import { describe, expect, it } from 'vitest';
import { oracleAvailable } from '../../properties/tools';
import { createModelMachine } from '../../properties/machines/model';
import { ImplMachine } from '../../impl/machine';
import type { Machine } from '../../model/machine';
import { ATTR, IDT, PAGE_TABLE, assemble, bareMachineOn, dword } from '../impl/harness';

function farCall<M extends Machine>(m: M, offset: number): M {
  bareMachineOn(m, assemble(`
    mov esp, 0x7002
    call 0x33:${offset}
    jmp $`), { ring: 3, paging: true, spare: [0, 5, ATTR.code3 & ~0x8000] }); // G clear: a limit of 5 bytes
  dword(m, PAGE_TABLE + 6 * 4, 0); // page 0x6000, where the pushes would go, not present
  return m;
}

describe.runIf(oracleAvailable('nasm'))('[PRIV.EIP.1] model and impl: the target limit is checked before the pushes', () => {
  for (const [name, make] of [['model', () => createModelMachine(4 << 20)], ['impl', () => new ImplMachine(4 << 20)]] as const) {
    it(`${name}: call 0x33:0x100 beyond a 6-byte segment is #GP(0), with the push's page missing`, () => {
      const m = farCall(make() as Machine, 0x100);
      m.step();
      expect(m.step()).toEqual({ kind: 'exception', vector: 13, errorCode: 0 });
      expect(m.state().cr2).toBe(0);
    });
    it(`${name}: call 0x33:0x4 within the limit pushes, and the push page-faults (#PF(6) at 0x6ffe)`, () => {
      const m = farCall(make() as Machine, 0x4);
      m.step();
      expect(m.step()).toEqual({ kind: 'exception', vector: 14, errorCode: 6 });
      expect(m.state().cr2).toBe(0x6ffe);
    });
  }
});

// The same order for an exception's delivery (the manual's INTRA-PRIVILEGE-
// LEVEL-INTERRUPT: "IF instruction pointer from gate is not within new
// code-segment limit THEN #GP(EXT)", before the pushes). Worked by hand: at
// CPL 3, UD2 raises #UD; its gate leads to a conforming ring-3 code segment
// (selector 0x30) whose limit is 5 bytes, at offset 0x4000; the delivery
// stays on the ring-3 stack, whose page is missing. The limit check fails
// first: #GP with the EXT bit (error code 1), which is delivered through the
// default ring-0 gate. Pushing first would have raised #PF(6) instead.
// Found by `mesovirt check --steps 10000000` (case 389871), where the model
// pushed first and impl checked first.
function udThroughSmallHandlerSegment<M extends Machine>(m: M): M {
  bareMachineOn(m, assemble(`
    mov esp, 0x7002
    ud2
    jmp $`), { ring: 3, paging: true, spare: [0, 5, 0x40fe] }); // conforming code, DPL 3, limit 5 bytes
  dword(m, IDT + 6 * 8, (0x30 << 16) | 0x4000);
  dword(m, IDT + 6 * 8 + 4, 0x8e00);
  dword(m, PAGE_TABLE + 6 * 4, 0);
  return m;
}

describe.runIf(oracleAvailable('nasm'))('[PRIV.EIP.1] [EXC.ENTRY.1] model and impl: a handler beyond its segment limit is #GP(EXT) before any push', () => {
  for (const [name, make] of [['model', () => createModelMachine(4 << 20)], ['impl', () => new ImplMachine(4 << 20)]] as const) {
    it(`${name}: #UD through a gate to offset 0x4000 of a 6-byte segment: #GP(1)`, () => {
      const m = udThroughSmallHandlerSegment(make() as Machine);
      m.step();
      expect(m.step()).toEqual({ kind: 'exception', vector: 13, errorCode: 1 });
      expect(m.state().cr2).toBe(0);
    });
  }
});
