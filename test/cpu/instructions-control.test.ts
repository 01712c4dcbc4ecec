// Hand-worked examples for near control transfer, conditional moves, bit
// operations on memory, BOUND and the string instructions.
import { describe, expect, it } from 'vitest';
import { CF, DF, OF, SF, ZF } from '../../model/cpu/eflags';
import type { MachineState } from '../../model/cpu/state';
import { EAX, ECX, EDI, ESI, ESP, imm, ins, machine, mem, ok, peek, poke, reg, rel, run } from './instruction-fixtures';

const withCsLimit = (s: MachineState, limit: number): MachineState => ({ ...s, segments: { ...s.segments, cs: { ...s.segments.cs, limit } } });
const withSegment = (s: MachineState, name: 'ds' | 'es' | 'fs', change: Partial<MachineState['segments']['ds']>): MachineState =>
  ({ ...s, segments: { ...s.segments, [name]: { ...s.segments[name], ...change } } });
const JE = 4, JL = 12;

describe('near control transfer', () => {
  it('[INS.BRANCH.2] je jumps when ZF = 1 and falls through otherwise', () => {
    expect(ok(machine({}, ZF), ins('jcc', [rel(0x10)], { condition: JE })).eip).toBe(0x1012);
    expect(ok(machine({}, 0), ins('jcc', [rel(0x10)], { condition: JE })).eip).toBe(0x1002);
    expect(ok(machine({}, 0), ins('jcc', [rel(-0x12)], { condition: JE + 1 })).eip).toBe(0x0ff0);
  });

  it('[INS.BRANCH.1] a near jump beyond the CS limit is #GP(0) at the jump', () => {
    expect(run(withCsLimit(machine(), 0xffff), ins('jmp', [rel(0x20000)]), 5)).toEqual({ kind: 'fault', vector: 13, errorCode: 0, rule: 'INS.BRANCH.1' });
    expect(ok(withCsLimit(machine(), 0xffff), ins('jmp', [rel(0xeffa)]), 5).eip).toBe(0xffff);
  });

  it('[INS.BRANCH.1] a 16-bit operand size truncates the target to 16 bits', () => {
    expect(ok(machine(), ins('jmp', [rel(0xffff)], { operandSize: 16 }), 4).eip).toBe(0x1003);
  });

  it('[INS.BRANCH.4] call pushes the return address; beyond the limit it faults without pushing', () => {
    const s = ok(machine(), ins('call', [rel(0x100)]), 5);
    expect(s.eip).toBe(0x1105);
    expect(s.regs[ESP]).toBe(0x7ffc);
    expect(peek(s, 0x7ffc, 32)).toBe(0x1005);
    expect(run(withCsLimit(machine(), 0x1fff), ins('call', [rel(0x2000)]), 5)).toMatchObject({ kind: 'fault', vector: 13 });
    const viaRegister = ok(machine({ [EAX]: 0x4000 }), ins('call', [reg(32, EAX)]), 2);
    expect([viaRegister.eip, peek(viaRegister, 0x7ffc, 32)]).toEqual([0x4000, 0x1002]);
  });

  it('[INS.BRANCH.5] ret 8 pops EIP and releases 8 more bytes', () => {
    const s = ok(poke(machine({ [ESP]: 0x7ffc }), 0x7ffc, 32, 0x1234), ins('ret', [imm(16, 8)]), 3);
    expect(s.eip).toBe(0x1234);
    expect(s.regs[ESP]).toBe(0x8008);
    expect(run(withCsLimit(poke(machine({ [ESP]: 0x7ffc }), 0x7ffc, 32, 0x12345), 0xffff), ins('ret'), 1)).toMatchObject({ kind: 'fault', vector: 13 });
  });

  it('[INS.BRANCH.3] loop, loopne and jecxz', () => {
    const once = ok(machine({ [ECX]: 1 }), ins('loop', [rel(-4)]));
    expect([once.regs[ECX], once.eip]).toEqual([0, 0x1002]);
    const twice = ok(machine({ [ECX]: 2 }), ins('loop', [rel(-4)]));
    expect([twice.regs[ECX], twice.eip]).toEqual([1, 0x0ffe]);
    const stop = ok(machine({ [ECX]: 5 }, ZF), ins('loopne', [rel(-4)]));
    expect([stop.regs[ECX], stop.eip]).toEqual([4, 0x1002]);
    const wrap = ok(machine({ [ECX]: 0 }), ins('loop', [rel(-4)]));
    expect([wrap.regs[ECX], wrap.eip]).toEqual([0xffffffff, 0x0ffe]);
    expect(ok(machine({ [ECX]: 0 }), ins('jecxz', [rel(8)])).eip).toBe(0x100a);
    expect(ok(machine({ [ECX]: 1 }), ins('jecxz', [rel(8)])).eip).toBe(0x1002);
  });
});

describe('conditional set and move, bits, bound', () => {
  it('[INS.COND.2] setl with SF ≠ OF writes 1', () => {
    expect(ok(machine({ [EAX]: 0xff }, SF), ins('setcc', [reg(8, EAX)], { condition: JL }), 3).regs[EAX]).toBe(1);
    expect(ok(machine({ [EAX]: 0xff }, SF | OF), ins('setcc', [reg(8, EAX)], { condition: JL }), 3).regs[EAX]).toBe(0);
  });

  it('[INS.COND.3] cmov with a false condition still reads its memory source (and faults on it)', () => {
    const limited = withSegment(machine({ [EAX]: 7 }), 'ds', { limit: 0xfff });
    expect(run(limited, ins('cmovcc', [reg(32, EAX), mem(32, null, 0x5000)], { condition: JE }), 7)).toMatchObject({ kind: 'fault', vector: 13 });
    const s = ok(poke(machine({ [EAX]: 7 }), 0x2000, 32, 9), ins('cmovcc', [reg(32, EAX), mem(32, null, 0x2000)], { condition: JE }), 7);
    expect(s.regs[EAX]).toBe(7);
    const t = ok(poke(machine({ [EAX]: 7 }, ZF), 0x2000, 32, 9), ins('cmovcc', [reg(32, EAX), mem(32, null, 0x2000)], { condition: JE }), 7);
    expect(t.regs[EAX]).toBe(9);
  });

  it('[INS.BIT.2] bt with a memory base and a register offset reaches outside the operand', () => {
    // Offset −1 from 0x2004: dword at 0x2004 + 4·floor(−1/32) = 0x2000, bit 31.
    const s = ok(poke(machine({ [ECX]: 0xffffffff }), 0x2000, 32, 0x80000000), ins('bt', [mem(32, null, 0x2004), reg(32, ECX)]), 7);
    expect(s.eflags & CF).toBe(CF);
    // Offset 35 from 0x2000: dword at 0x2004, bit 3.
    const t = ok(machine({ [ECX]: 35 }), ins('bts', [mem(32, null, 0x2000), reg(32, ECX)]), 7);
    expect([peek(t, 0x2000, 32), peek(t, 0x2004, 32)]).toEqual([0, 8]);
    // An immediate offset is taken modulo 32 even with a memory base.
    const u = ok(machine(), ins('bts', [mem(32, null, 0x2000), imm(8, 35)]), 8);
    expect([peek(u, 0x2000, 32), peek(u, 0x2004, 32)]).toEqual([8, 0]);
  });

  it('[INS.BOUND.1] bound raises #BR below the lower or above the upper bound', () => {
    const bounds = poke(poke(machine(), 0x2000, 32, 0), 0x2004, 32, 4);
    const check = (index: number) => run({ ...bounds, regs: bounds.regs.map((v, k) => (k === EAX ? index >>> 0 : v)) }, ins('bound', [reg(32, EAX), mem(64, null, 0x2000)]), 6);
    expect(check(4).kind).toBe('ok');
    expect(check(0).kind).toBe('ok');
    expect(check(5)).toEqual({ kind: 'fault', vector: 5, errorCode: null, rule: 'INS.BOUND.1' });
    expect(check(-1)).toEqual({ kind: 'fault', vector: 5, errorCode: null, rule: 'INS.BOUND.1' });
  });
});

describe('string instructions', () => {
  const bytes = (s: MachineState, at: number, text: string): MachineState =>
    [...text].reduce((m, ch, k) => poke(m, at + k, 8, ch.charCodeAt(0)), s);

  it('[INS.STRING.3] rep movsb with ECX = 0 does nothing, not even touch its (invalid) operands', () => {
    const start = withSegment(machine({ [ECX]: 0, [ESI]: 0xfffff000 }), 'ds', { limit: 0xfff });
    const s = ok(start, ins('movs', [], { elementSize: 8, rep: 'rep' }));
    expect(s.regs).toEqual(start.regs);
    expect(s.eip).toBe(0x1002);
  });

  it('[INS.STRING.1] [INS.STRING.3] rep movsd forward copies ECX dwords', () => {
    let start = machine({ [ECX]: 3, [ESI]: 0x2000, [EDI]: 0x3000 });
    start = poke(poke(poke(start, 0x2000, 32, 0x11), 0x2004, 32, 0x22), 0x2008, 32, 0x33);
    const s = ok(start, ins('movs', [], { elementSize: 32, rep: 'rep' }));
    expect([peek(s, 0x3000, 32), peek(s, 0x3004, 32), peek(s, 0x3008, 32)]).toEqual([0x11, 0x22, 0x33]);
    expect([s.regs[ESI], s.regs[EDI], s.regs[ECX]]).toEqual([0x200c, 0x300c, 0]);
  });

  it('[INS.STRING.1] with DF = 1 movsb walks backwards', () => {
    const start = bytes(machine({ [ECX]: 3, [ESI]: 0x2002, [EDI]: 0x3002 }, DF), 0x2000, 'xyz');
    const s = ok(start, ins('movs', [], { elementSize: 8, rep: 'rep' }));
    expect([0x3000, 0x3001, 0x3002].map((a) => peek(s, a, 8))).toEqual([0x78, 0x79, 0x7a]);
    expect([s.regs[ESI], s.regs[EDI]]).toEqual([0x1fff, 0x2fff]);
  });

  it('[INS.STRING.1] a segment override moves the source only', () => {
    let start = machine({ [ESI]: 0x10, [EDI]: 0x20 });
    start = withSegment(withSegment(start, 'fs', { base: 0x40000 }), 'es', { base: 0x50000 });
    start = poke(poke(start, 0x40010, 8, 0xab), 0x10, 8, 0xcd);
    const s = ok(start, ins('movs', [], { elementSize: 8, segment: 'fs' }));
    expect(peek(s, 0x50020, 8)).toBe(0xab);
  });

  it('[INS.STRING.2] [INS.STRING.3] repe cmpsb stops at the first difference', () => {
    const start = bytes(bytes(machine({ [ECX]: 4, [ESI]: 0x2000, [EDI]: 0x3000 }), 0x2000, 'abcx'), 0x3000, 'abdx');
    const s = ok(start, ins('cmps', [], { elementSize: 8, rep: 'repe' }));
    expect([s.regs[ECX], s.regs[ESI], s.regs[EDI]]).toEqual([1, 0x2003, 0x3003]);
    expect(s.eflags & (ZF | CF)).toBe(CF); // 'c' − 'd' borrows
  });

  it('[INS.STRING.2] [INS.STRING.3] repne scasb finds the terminating zero', () => {
    const start = poke(bytes(machine({ [ECX]: 10, [EDI]: 0x3000, [EAX]: 0 }), 0x3000, 'ab'), 0x3002, 8, 0);
    const s = ok(start, ins('scas', [], { elementSize: 8, rep: 'repne' }));
    expect([s.regs[ECX], s.regs[EDI]]).toEqual([7, 0x3003]);
    expect(s.eflags & ZF).toBe(ZF);
  });

  it('[INS.STRING.4] a fault in the third element: progress kept, EIP at the instruction, then the fault', () => {
    const start = withSegment(machine({ [ECX]: 5, [EDI]: 0x3000, [EAX]: 0xdeadbeef }), 'es', { limit: 0x3007 });
    const stos = ins('stos', [], { elementSize: 32, rep: 'rep' });
    const first = ok(start, stos);
    expect(first.eip).toBe(0x1000);
    expect([first.regs[ECX], first.regs[EDI]]).toEqual([3, 0x3008]);
    expect([peek(first, 0x3000, 32), peek(first, 0x3004, 32)]).toEqual([0xdeadbeef, 0xdeadbeef]);
    expect(run(first, stos)).toEqual({ kind: 'fault', vector: 13, errorCode: 0, rule: 'SEG.LIMIT.1' });
  });

  it('[INS.STRING.1] lodsw loads AX and advances ESI by 2', () => {
    const s = ok(poke(machine({ [ESI]: 0x2000, [EAX]: 0xffffffff }), 0x2000, 16, 0x1234), ins('lods', [], { elementSize: 16, operandSize: 16 }));
    expect([s.regs[EAX], s.regs[ESI]]).toEqual([0xffff1234, 0x2002]);
  });
});
