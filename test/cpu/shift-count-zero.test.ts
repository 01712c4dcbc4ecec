// [PAGE.RMW.2] A shift or rotate of a memory operand by a count that masks
// to 0 is still a write access. Evidence from outside: the host CPU faults
// on `shl dword [ro], cl` and `shrd [ro], eax, cl` with CL = 0
// (properties/diff/evidence/shift-count-zero-write.c); the SDM's #PF error
// code has W/R = bit 1, so a not-present page at CPL 0 gives 2.
import { describe, expect, it } from 'vitest';
import { PTE, withIdentityPaging } from '../../properties/builders';
import { ECX, imm, ins, machine, mem, ok, peek, poke, reg, run } from './instruction-fixtures';

const CR3 = 0x80000;
const paged = () => withIdentityPaging(machine(), CR3, 0, 0x30000, PTE.P | PTE.W | PTE.U);

describe('[PAGE.RMW.2] model: a shift by zero is a read-modify-write access', () => {
  it('shl, rcr, shld and shrd of a not-present page by 0 (or 32): #PF with W/R = 1', () => {
    const shifts = [
      ins('shl', [mem(32, null, 0x30000), imm(8, 0)]),
      ins('rcr', [mem(8, null, 0x30000), imm(8, 32)]),
      ins('shld', [mem(32, null, 0x30000), reg(32, ECX), imm(8, 0)]),
      ins('shrd', [mem(16, null, 0x30000), reg(16, ECX), imm(8, 0)]),
    ];
    for (const i of shifts) expect(run(paged(), i, 7), i.mnemonic).toMatchObject({ kind: 'fault', vector: 14, errorCode: 2 });
  });

  it('on a present page the value is unchanged', () => {
    const s = ok(poke(paged(), 0x2000, 32, 0x80000001), ins('sar', [mem(32, null, 0x2000), imm(8, 0)]), 7);
    expect(peek(s, 0x2000, 32)).toBe(0x80000001);
  });
});
