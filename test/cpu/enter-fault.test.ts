// [INS.STACK.6] When ENTER faults after it has stored something, the stores
// stay in memory and only the registers go back. Evidence from outside: on
// the host CPU (AMD EPYC) `enter 0xdbac, 0x7f` with RBP = 0x33 faults reading
// the old frame at RBP - 8 and leaves the old RBP (0x33) in the slot below
// the stack pointer, with RSP and RBP as before
// (properties/diff/evidence/enter-partial-push.c). Worked by hand for 32-bit
// code: the level is 0x7f mod 32 = 31; the first push stores EBP = 0x33 at
// ESP - 4 = 0x7ffc; the first frame pointer copied is read at EBP - 4 = 0x2f;
// page 0 is not present, so that read raises #PF with CR2 = 0x2f and error
// code 4 at CPL 3 (user, read, not present: SDM vol. 3 §4.7).
import { describe, expect, it } from 'vitest';
import { oracleAvailable } from '../../properties/tools';
import { createModelMachine } from '../../properties/machines/model';
import { ImplMachine } from '../../impl/machine';
import type { Machine } from '../../model/machine';
import { PTE, withIdentityPaging } from '../../properties/builders';
import { PAGE_TABLE, STACK0, assemble, bareMachineOn, dword, readDword } from '../impl/harness';
import { EBP, ESP, imm, ins, machine, run } from './instruction-fixtures';

const SLOT = 0x7ffc;

describe('[INS.STACK.6] model: a faulting ENTER keeps the stores it made', () => {
  // Pages 0x1000..0x2ffff mapped; page 0 (the old frame at 0x2f) is not.
  const paged = () => withIdentityPaging(machine({ [EBP]: 0x33, [ESP]: 0x8000 }), 0x80000, 0x1000, 0x30000, PTE.P | PTE.W | PTE.U);

  it('enter 0xdbac, 0x7f: #PF on the first frame-pointer read, carrying the first push as kept bytes', () => {
    const out = run(paged(), ins('enter', [imm(16, 0xdbac), imm(8, 0x7f)]), 4);
    expect(out).toEqual({
      kind: 'fault', vector: 14, errorCode: 0, address: 0x2f,
      keptWrites: [{ physical: 0x7ffc, value: 0x33 }, { physical: 0x7ffd, value: 0 }, { physical: 0x7ffe, value: 0 }, { physical: 0x7fff, value: 0 }],
    });
  });

  it('a fault on the very first push keeps nothing', () => {
    const low = { ...paged(), regs: paged().regs.map((v, i) => (i === ESP ? 0x1002 : v)) };
    const out = run(low, ins('enter', [imm(16, 0), imm(8, 2)]), 4);
    expect(out).toEqual({ kind: 'fault', vector: 14, errorCode: 2, address: 0xffe });
  });
});

function faultingEnter<M extends Machine>(m: M): M {
  bareMachineOn(m, assemble(`
    mov esp, 0x8000
    mov ebp, 0x33
    enter 0xdbac, 0x7f
    jmp $`), { ring: 3, paging: true });
  dword(m, PAGE_TABLE, 0); // page 0 not present
  return m;
}

describe.runIf(oracleAvailable('nasm'))('[INS.STACK.6] model and impl: ENTER at CPL 3 whose frame copy faults', () => {
  for (const [name, make] of [['model', () => createModelMachine(4 << 20)], ['impl', () => new ImplMachine(4 << 20)]] as const) {
    it(`${name}: #PF(4) at 0x2f, old EBP kept at 0x7ffc, ESP and EBP restored`, () => {
      const m = faultingEnter(make() as Machine);
      m.step(); m.step();
      expect(m.step()).toEqual({ kind: 'exception', vector: 14, errorCode: 4 });
      expect(m.state().cr2).toBe(0x2f);
      expect(readDword(m, SLOT)).toBe(0x33);
      expect(m.state().regs.ebp).toBe(0x33);
      expect(readDword(m, STACK0 - 8)).toBe(0x8000); // ring-3 ESP in the fault frame
    });
  }
});
