// XCHG and XADD with a memory operand whose address uses the register they
// write. The manual (SDM vol. 2, XCHG: "TEMP := DEST; DEST := SRC; SRC :=
// TEMP"; XADD: "TEMP := SRC + DEST; SRC := DEST; DEST := TEMP") computes the
// operand's address once, when the instruction starts; writing the register
// does not move the memory operand. Found by the differential campaign
// (`mesovirt check`, seed 0x6d65736f, case 120: lock xchg ebp, [ebp-0x80]).
import { describe, expect, it } from 'vitest';
import { EAX, EBP, ins, machine, mem, ok, peek, poke, reg } from './instruction-fixtures';

describe('exchanges address memory as it was before the instruction', () => {
  it('[INS.DATA.3] xchg ebp, [ebp+0x10]: the old EBP lands at the old address', () => {
    // EBP = 0x2000, [0x2010] = 0x1234. After: EBP = 0x1234 and [0x2010] = 0x2000;
    // nothing is written at 0x1234 + 0x10.
    const start = poke(machine({ [EBP]: 0x2000 }), 0x2010, 32, 0x1234);
    const s = ok(start, ins('xchg', [reg(32, EBP), mem(32, EBP, 0x10)]), 3);
    expect(s.regs[EBP]).toBe(0x1234);
    expect(peek(s, 0x2010, 32)).toBe(0x2000);
    expect(peek(s, 0x1244, 32)).toBe(0);
  });

  it('[INS.DATA.4] xadd [eax], eax: the sum goes to the old address, EAX gets the old memory', () => {
    // EAX = 0x3000, [0x3000] = 5. TEMP = 0x3005; EAX := 5; [0x3000] := 0x3005.
    const start = poke(machine({ [EAX]: 0x3000 }), 0x3000, 32, 5);
    const s = ok(start, ins('xadd', [mem(32, EAX, 0), reg(32, EAX)]), 3);
    expect(s.regs[EAX]).toBe(5);
    expect(peek(s, 0x3000, 32)).toBe(0x3005);
    expect(peek(s, 5, 32)).toBe(0);
  });
});
