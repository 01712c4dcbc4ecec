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
      kind: 'fault', vector: 14, errorCode: 0, address: 0x2f, rule: 'PAGE.FAULT.1',
      keptWrites: [{ physical: 0x7ffc, value: 0x33 }, { physical: 0x7ffd, value: 0 }, { physical: 0x7ffe, value: 0 }, { physical: 0x7fff, value: 0 }],
    });
  });

  it('a fault on the very first push keeps nothing', () => {
    const low = { ...paged(), regs: paged().regs.map((v, i) => (i === ESP ? 0x1002 : v)) };
    const out = run(low, ins('enter', [imm(16, 0), imm(8, 2)]), 4);
    expect(out).toEqual({ kind: 'fault', vector: 14, errorCode: 2, address: 0xffe, rule: 'PAGE.FAULT.1' });
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

// [INS.STACK.7] ENTER with a non-zero size touches the new top of stack as a
// write. Host evidence (properties/diff/evidence/enter-final-esp-touch.c, AMD
// EPYC, 64-bit): with RSP 64 bytes above an inaccessible page, `enter 0x38, 0`
// does not fault (its final RSP is the page's first byte) and `enter 0x40, 0`
// faults at exactly the final RSP, 8 bytes below the page, also when the page
// below is read-only: a write access of one operand-size unit.
// Worked by hand for 32-bit code at CPL 3: ESP = 0x8040, the push of EBP
// leaves ESP = 0x803c; `enter 0x3c, 0` ends at 0x8000 (the first byte of page
// 8, fine) and `enter 0x40, 0` at 0x7ffc in page 7. Page 7 not present: #PF,
// CR2 = 0x7ffc, error code 6 (user, write, not present); page 7 read-only:
// error code 7 (user, write, present) (SDM vol. 3 §4.7). On a flat 4 GiB
// stack with ESP = 4, `enter 8, 0` pushes EBP at 0 and ends at 0xFFFFFFF8,
// whose unit fits (that page is not mapped here: #PF(6) there); with ESP = 6,
// `enter 4, 0` pushes at 2 and ends at 0xFFFFFFFE, whose four bytes wrap
// past 4 GiB: #SS(0) (SEG.LIMIT.1), before any page is looked at.
function enterAt<M extends Machine>(m: M, esp: number, size: number, page7: number): M {
  bareMachineOn(m, assemble(`
    mov esp, ${esp}
    enter ${size}, 0
    jmp $`), { ring: 3, paging: true });
  dword(m, PAGE_TABLE + 7 * 4, page7);
  return m;
}

describe.runIf(oracleAvailable('nasm'))('[INS.STACK.7] model and impl: ENTER touches its final ESP as a write', () => {
  for (const [name, make] of [['model', () => createModelMachine(4 << 20)], ['impl', () => new ImplMachine(4 << 20)]] as const) {
    it(`${name}: a final ESP at the first byte of a present page does not fault`, () => {
      const m = enterAt(make() as Machine, 0x8040, 0x3c, 0);
      m.step();
      expect(m.step()).toEqual({ kind: 'retired' });
      expect(m.state().regs.esp).toBe(0x8000);
    });
    it(`${name}: a final ESP in a page that is not present: #PF(6) at it, ESP and EBP restored`, () => {
      const m = enterAt(make() as Machine, 0x8040, 0x40, 0);
      m.step();
      expect(m.step()).toEqual({ kind: 'exception', vector: 14, errorCode: 6 });
      expect(m.state().cr2).toBe(0x7ffc);
      expect(readDword(m, STACK0 - 8)).toBe(0x8040); // ring-3 ESP in the fault frame
    });
    it(`${name}: a final ESP in a read-only user page: #PF(7)`, () => {
      const m = enterAt(make() as Machine, 0x8040, 0x40, 0x7000 | PTE.P | PTE.U);
      m.step();
      expect(m.step()).toEqual({ kind: 'exception', vector: 14, errorCode: 7 });
      expect(m.state().cr2).toBe(0x7ffc);
    });
    it(`${name}: a final ESP whose unit wraps past 4 GiB on a flat stack: #SS(0)`, () => {
      const fits = enterAt(make() as Machine, 4, 8, 0x7000 | 7);
      fits.step();
      expect(fits.step()).toEqual({ kind: 'exception', vector: 14, errorCode: 6 });
      expect(fits.state().cr2).toBe(0xfffffff8);
      const wraps = enterAt(make() as Machine, 6, 4, 0x7000 | 7);
      wraps.step();
      expect(wraps.step()).toEqual({ kind: 'exception', vector: 12, errorCode: 0 });
    });
  }
});
