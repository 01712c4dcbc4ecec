// Hand-worked examples for the data-movement, stack and arithmetic handlers.
// Every expected value is worked out from the Intel manual's description of
// the instruction, step by step in the comments.
import { describe, expect, it } from 'vitest';
import { AF, CF, OF, PF, SF, ZF } from '../../model/cpu/eflags';
import {
  EAX, EBP, EBX, ECX, EDX, ESP, imm, ins, machine, mem, ok, peek, poke, reg, run,
} from './instruction-fixtures';

describe('stack handlers', () => {
  it('[INS.STACK.1] push esp pushes the value ESP had before the push', () => {
    const s = ok(machine({ [ESP]: 0x8000 }), ins('push', [reg(32, ESP)]), 1);
    expect(s.regs[ESP]).toBe(0x7ffc);
    expect(peek(s, 0x7ffc, 32)).toBe(0x8000);
    expect(s.eip).toBe(0x1001);
  });

  it('[INS.STACK.1] push of a sign-extended imm8 pushes the whole dword, and push [esp] uses the old ESP', () => {
    const s = ok(machine(), ins('push', [imm(32, 0xffffff80)]));
    expect(peek(s, 0x7ffc, 32)).toBe(0xffffff80);
    const t = ok(poke(machine(), 0x8000, 32, 0xcafe), ins('push', [mem(32, ESP)]), 3);
    expect(peek(t, 0x7ffc, 32)).toBe(0xcafe);
  });

  it('[INS.STACK.2] pop [esp] writes through the incremented ESP', () => {
    // ESP = 0x7FFC holds 0x11223344; pop makes ESP 0x8000, then [ESP] = [0x8000] gets the value.
    const start = poke(machine({ [ESP]: 0x7ffc }), 0x7ffc, 32, 0x11223344);
    const s = ok(start, ins('pop', [mem(32, ESP)]), 3);
    expect(s.regs[ESP]).toBe(0x8000);
    expect(peek(s, 0x8000, 32)).toBe(0x11223344);
  });

  it('[INS.STACK.2] pop esp leaves ESP equal to the popped value', () => {
    const s = ok(poke(machine({ [ESP]: 0x7ffc }), 0x7ffc, 32, 0x5000), ins('pop', [reg(32, ESP)]), 1);
    expect(s.regs[ESP]).toBe(0x5000);
  });

  it('[INS.STACK.3] pusha stores the original ESP; popa skips it', () => {
    const start = machine({ [EAX]: 0xa, [ECX]: 0xc, [EDX]: 0xd, [EBX]: 0xb, [EBP]: 0xbb, 6: 0x51, 7: 0xd1 });
    const s = ok(start, ins('pusha'), 1);
    expect(s.regs[ESP]).toBe(0x8000 - 32);
    // Lowest address first: EDI, ESI, EBP, original ESP, EBX, EDX, ECX, EAX.
    const stored = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => peek(s, 0x7fe0 + 4 * k, 32));
    expect(stored).toEqual([0xd1, 0x51, 0xbb, 0x8000, 0xb, 0xd, 0xc, 0xa]);
    const cleared = { ...poke(s, 0x7fec, 32, 0x1234), regs: [0, 0, 0, 0, 0x7fe0, 0, 0, 0] };
    const back = ok(cleared, ins('popa'), 1);
    expect(back.regs).toEqual([0xa, 0xc, 0xd, 0xb, 0x8000, 0xbb, 0x51, 0xd1]);
  });

  it('[INS.STACK.4] enter 8, 0 pushes EBP, points EBP at it and allocates 8 bytes', () => {
    const s = ok(machine({ [EBP]: 0x9000 }), ins('enter', [imm(16, 8), imm(8, 0)]), 4);
    expect(peek(s, 0x7ffc, 32)).toBe(0x9000);
    expect(s.regs[EBP]).toBe(0x7ffc);
    expect(s.regs[ESP]).toBe(0x7ff4);
  });

  it('[INS.STACK.4] enter 16, 3 copies two outer frame pointers and pushes the new frame', () => {
    // push EBP (0x9000) at 0x7FFC: frame = 0x7FFC. Then [0x8FFC] and
    // [0x8FF8] are pushed at 0x7FF8 and 0x7FF4, the frame at 0x7FF0;
    // EBP = 0x7FFC and ESP = 0x7FF0 − 16 = 0x7FE0.
    let start = machine({ [EBP]: 0x9000 });
    start = poke(poke(start, 0x8ffc, 32, 0xaaaa0001), 0x8ff8, 32, 0xaaaa0002);
    const s = ok(start, ins('enter', [imm(16, 16), imm(8, 3)]), 4);
    expect([0x7ffc, 0x7ff8, 0x7ff4, 0x7ff0].map((a) => peek(s, a, 32))).toEqual([0x9000, 0xaaaa0001, 0xaaaa0002, 0x7ffc]);
    expect(s.regs[EBP]).toBe(0x7ffc);
    expect(s.regs[ESP]).toBe(0x7fe0);
  });

  it('[INS.STACK.5] leave restores ESP from EBP and pops EBP', () => {
    const s = ok(poke(machine({ [EBP]: 0x7ffc, [ESP]: 0x7f00 }), 0x7ffc, 32, 0x9000), ins('leave'), 1);
    expect(s.regs[ESP]).toBe(0x8000);
    expect(s.regs[EBP]).toBe(0x9000);
  });
});

describe('data movement handlers', () => {
  it('[INS.DATA.4] xadd exchanges and adds; xadd eax, eax doubles EAX', () => {
    const s = ok(machine({ [EAX]: 5, [EBX]: 7 }), ins('xadd', [reg(32, EAX), reg(32, EBX)]), 3);
    expect([s.regs[EAX], s.regs[EBX]]).toEqual([12, 5]);
    const t = ok(machine({ [EAX]: 0x80000000 }), ins('xadd', [reg(32, EAX), reg(32, EAX)]), 3);
    expect(t.regs[EAX]).toBe(0); // 0x80000000 + 0x80000000 wraps: CF, OF and ZF set
    expect(t.eflags & (CF | OF | ZF)).toBe(CF | OF | ZF);
  });

  it('[INS.DATA.5] cmpxchg stores the source when equal, loads the accumulator when not', () => {
    const equal = ok(poke(machine({ [EAX]: 5, [ECX]: 9 }), 0x2000, 32, 5), ins('cmpxchg', [mem(32, null, 0x2000), reg(32, ECX)]), 7);
    expect(peek(equal, 0x2000, 32)).toBe(9);
    expect(equal.regs[EAX]).toBe(5);
    expect(equal.eflags & ZF).toBe(ZF);
    const differ = ok(poke(machine({ [EAX]: 5, [ECX]: 9 }), 0x2000, 32, 6), ins('cmpxchg', [mem(32, null, 0x2000), reg(32, ECX)]), 7);
    expect(peek(differ, 0x2000, 32)).toBe(6);
    expect(differ.regs[EAX]).toBe(6);
    expect(differ.eflags & (ZF | CF)).toBe(CF); // 5 − 6 borrows
  });

  it('[INS.DATA.5] cmpxchg writes the destination back even when unequal, so a read-only segment faults', () => {
    const start = machine({ [EAX]: 5 });
    const readOnly = { ...start, segments: { ...start.segments, ds: { ...start.segments.ds, attributes: 0xc000 | 0x80 | 0x10 | 0x1 } } };
    const out = run(poke(readOnly, 0x2000, 32, 6), ins('cmpxchg', [mem(32, null, 0x2000), reg(32, ECX)]), 7);
    expect(out).toMatchObject({ kind: 'fault', vector: 13, errorCode: 0 });
  });

  it('[INS.DATA.2] movsx and movzx of 0x80', () => {
    expect(ok(machine({ [EBX]: 0x80 }), ins('movsx', [reg(32, EAX), reg(8, EBX)]), 3).regs[EAX]).toBe(0xffffff80);
    expect(ok(machine({ [EBX]: 0x80 }), ins('movzx', [reg(32, EAX), reg(8, EBX)]), 3).regs[EAX]).toBe(0x80);
    expect(ok(machine({ [EAX]: 0x12345678, [EBX]: 0x8001 }), ins('movsx', [reg(16, EAX), reg(8, EBX)], { operandSize: 16 }), 4).regs[EAX]).toBe(0x12340001);
  });

  it('[INS.DATA.7] cbw, cwde, cwd, cdq', () => {
    expect(ok(machine({ [EAX]: 0x12340080 }), ins('cbw', [], { operandSize: 16 }), 2).regs[EAX]).toBe(0x1234ff80);
    expect(ok(machine({ [EAX]: 0x12348000 }), ins('cbw'), 1).regs[EAX]).toBe(0xffff8000);
    expect(ok(machine({ [EAX]: 0x80000000, [EDX]: 0 }), ins('cwd'), 1).regs[EDX]).toBe(0xffffffff);
    expect(ok(machine({ [EAX]: 0x8000, [EDX]: 0xabcd1234 }), ins('cwd', [], { operandSize: 16 }), 2).regs[EDX]).toBe(0xabcdffff);
  });

  it('[INS.DATA.6] lea computes the offset only, truncated to 16 bits with a 16-bit operand size', () => {
    expect(ok(machine({ [EBX]: 0x100, [ECX]: 3 }), ins('lea', [reg(32, EAX), mem(0, EBX, 8, ECX, 4)]), 4).regs[EAX]).toBe(0x114);
    expect(ok(machine({ [EAX]: 0xffffffff, [EBX]: 0x1fff0 }), ins('lea', [reg(16, EAX), mem(0, EBX, 0x20)], { operandSize: 16 }), 4).regs[EAX]).toBe(0xffff0010);
  });

  it('[INS.DATA.1] [INS.DATA.3] mov and xchg', () => {
    const s = ok(machine({ [EAX]: 1, [EBX]: 2 }), ins('xchg', [reg(32, EAX), reg(32, EBX)]), 1);
    expect([s.regs[EAX], s.regs[EBX]]).toEqual([2, 1]);
    const t = ok(machine({ [EAX]: 0x11223344 }), ins('mov', [mem(8, null, 0x2000), reg(8, 4)]), 6); // mov [0x2000], ah
    expect(peek(t, 0x2000, 8)).toBe(0x33);
  });

  it('[INS.FLAG.1] lahf and sahf', () => {
    // EFLAGS = SF | ZF | CF: AH = 1100_0011 (bit 1 reads as 1).
    expect(ok(machine({}, SF | ZF | CF), ins('lahf'), 1).regs[EAX]! >>> 8 & 0xff).toBe(0xc3);
    const s = ok(machine({ [EAX]: 0xff00 }, 0), ins('sahf'), 1);
    expect(s.eflags & (SF | ZF | AF | PF | CF | OF)).toBe(SF | ZF | AF | PF | CF);
  });

  it('[INS.FLAG.2] clc stc cmc cld std', () => {
    expect(ok(machine({}, CF), ins('clc'), 1).eflags & CF).toBe(0);
    expect(ok(machine({}, 0), ins('stc'), 1).eflags & CF).toBe(CF);
    expect(ok(machine({}, CF), ins('cmc'), 1).eflags & CF).toBe(0);
    expect(ok(machine({}, 0), ins('std'), 1).eflags & 0x400).toBe(0x400);
    expect(ok(machine({}, 0x400), ins('cld'), 1).eflags & 0x400).toBe(0);
  });
});

describe('arithmetic handlers', () => {
  it('[INS.ALU.7] lock with a register destination is #UD', () => {
    expect(run(machine(), ins('add', [reg(32, EAX), reg(32, EBX)], { lock: true }))).toMatchObject({ kind: 'fault', vector: 6 });
  });

  it('[INS.ALU.1] add to memory writes the sum and the flags', () => {
    const s = ok(poke(machine(), 0x2000, 8, 0xff), ins('add', [mem(8, null, 0x2000), imm(8, 1)]), 7);
    expect(peek(s, 0x2000, 8)).toBe(0);
    expect(s.eflags & (CF | ZF | AF | PF | SF | OF)).toBe(CF | ZF | AF | PF);
  });

  it('[INS.SHIFT.1] a shift by CL = 32 changes nothing, not even the flags', () => {
    const s = ok(machine({ [EAX]: 0x1234, [ECX]: 32 }, CF | OF), ins('shl', [reg(32, EAX), reg(8, ECX)]));
    expect(s.regs[EAX]).toBe(0x1234);
    expect(s.eflags & (CF | OF)).toBe(CF | OF);
    expect(s.undefinedFlags).toBe(0);
  });

  it('[INS.MUL.3] mul, imul with three operands', () => {
    const s = ok(machine({ [EAX]: 0x80, [EBX]: 2 }), ins('mul', [reg(8, EBX)]));
    expect(s.regs[EAX]! & 0xffff).toBe(0x0100);
    expect(s.eflags & (CF | OF)).toBe(CF | OF);
    const t = ok(machine({ [EBX]: 3 }), ins('imul', [reg(32, EAX), reg(32, EBX), imm(32, 0xfffffffe)]), 3);
    expect(t.regs[EAX]).toBe(0xfffffffa);
    expect(t.eflags & (CF | OF)).toBe(0);
    expect(t.undefinedFlags & (SF | ZF | AF | PF)).toBe(SF | ZF | AF | PF);
  });

  it('[INS.DIV.3] div writes quotient and remainder; #DE on zero and on overflow changes nothing', () => {
    const s = ok(machine({ [EAX]: 100, [EDX]: 0, [ECX]: 7 }), ins('div', [reg(32, ECX)]));
    expect([s.regs[EAX], s.regs[EDX]]).toEqual([14, 2]);
    expect(run(machine({ [EAX]: 100 }), ins('div', [reg(32, ECX)]))).toEqual({ kind: 'fault', vector: 0, errorCode: null, rule: 'INS.DIV.1' });
    // AX = 0xFF80 = −128, divided by −1: quotient +128 does not fit a signed byte.
    expect(run(machine({ [EAX]: 0xff80, [EBX]: 0xff }), ins('idiv', [reg(8, EBX)]))).toMatchObject({ kind: 'fault', vector: 0 });
  });

  it('[INS.BCD.4] aam 0 is #DE; aam 10 and aad 10 by hand', () => {
    expect(run(machine({ [EAX]: 0x3f }), ins('aam', [imm(8, 0)]))).toMatchObject({ kind: 'fault', vector: 0 });
    expect(ok(machine({ [EAX]: 0x3f }), ins('aam', [imm(8, 10)])).regs[EAX]).toBe(0x0603); // 63 = 6·10 + 3
    expect(ok(machine({ [EAX]: 0x0607 }), ins('aad', [imm(8, 10)])).regs[EAX]).toBe(0x43); // 6·10 + 7 = 67
  });
});
