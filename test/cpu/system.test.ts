// System instructions and the remaining rules of the state, paging-walk,
// gate and string-I/O chapters. Expected values from the Intel SDM vol. 2
// instruction pages (LGDT/SGDT, SLDT/STR/SMSW, LLDT, LTR, LMSW, CLTS, MOV CRn,
// CPUID, UD2, WBINVD, IRET, INS/OUTS) and vol. 3A §4.3, §5.8, §6.11.
import { describe, expect, it } from 'vitest';
import { systemState, segmentDescriptor, gateDescriptor, SEL, LAYOUT, readDword, writeCode, writeDword, writeDescriptor, mapPage, PTE } from '../../properties/builders';
import { execute } from '../../model/cpu/execute';
import { step } from '../../model/cpu/step';
import { cpl, effectiveAddress, readMemory, writeRegister, push, pop } from '../../model/cpu/context';
import { initialState, toCommon, fromCommon, NULL_SEGMENT, type MachineState } from '../../model/cpu/state';
import { readPhysical, writePhysical, emptyMemory, samePage } from '../../model/cpu/memory';
import { parseGate } from '../../model/cpu/descriptors';
import type { Outcome } from '../../model/cpu/outcome';
import { insn, reg32, reg16, mem, creg } from './insn';

function okState(o: Outcome): MachineState {
  if (o.kind !== 'ok') throw new Error(JSON.stringify(o));
  return o.state;
}
const withRegs = (s: MachineState, values: Record<number, number>): MachineState =>
  Object.entries(values).reduce((st, [r, v]) => writeRegister(st, 32, Number(r), v), s);

describe('descriptor-table registers [SYS.TABLE.1] [SYS.TABLE.2]', () => {
  it('LGDT reads limit then base; SGDT stores them back', () => {
    let s = systemState();
    s = writeDword(writeDword(s, 0x5000, 0x3456_0fff), 0x5004, 0x0000_0012); // limit 0x0fff, base 0x00123456
    s = okState(execute(s, insn('lgdt', [mem(0x5000, 48)]), 0x10007));
    expect(s.gdtr).toEqual({ base: 0x00123456, limit: 0x0fff });
    s = okState(execute(s, insn('sgdt', [mem(0x6000, 48)]), 0x1000e));
    expect(readDword(s, 0x6000)).toBe(0x3456_0fff);
    expect(readDword(s, 0x6004) & 0xffff).toBe(0x0012);
  });
  it('LIDT with a 16-bit operand size keeps 24 bits of the base', () => {
    let s = writeDword(writeDword(systemState(), 0x5000, 0x3456_07ff), 0x5004, 0x0000_7812);
    s = okState(execute(s, insn('lidt', [mem(0x5000, 48)], { operandSize: 16 }), 0x10008));
    expect(s.idtr).toEqual({ base: 0x00123456, limit: 0x07ff });
  });
  it('LGDT at CPL 3 faults #GP(0); SGDT at CPL 3 does not [PRIV.INSN.1]', () => {
    const s = systemState({ cpl: 3 });
    expect(execute(s, insn('lgdt', [mem(0x5000, 48)]), 0)).toMatchObject({ vector: 13, errorCode: 0 });
    expect(execute(s, insn('sgdt', [mem(0x5000, 48)]), 0).kind).toBe('ok');
  });
});

describe('SLDT, STR, SMSW, LMSW, CLTS [SYS.STORE.1] [SYS.LMSW.1] [SYS.CLTS.1]', () => {
  it('STR to a 32-bit register zero-extends the selector; SMSW r32 stores CR0', () => {
    let s = withRegs(systemState(), { 0: 0xffffffff, 1: 0xffffffff });
    s = { ...s, cr0: 0x8000_0011 };
    s = okState(execute(s, insn('str', [reg32(0)]), 0x10003));
    expect(s.regs[0]).toBe(SEL.tss);
    s = okState(execute(s, insn('smsw', [reg32(1)]), 0x10006));
    expect(s.regs[1]).toBe(0x8000_0011);
  });
  it('SLDT to memory writes 16 bits', () => {
    let s = writeDword(systemState(), 0x5000, 0xaaaaaaaa);
    s = okState(execute(s, insn('sldt', [mem(0x5000, 16)], { operandSize: 16 }), 0x10007));
    expect(readDword(s, 0x5000)).toBe(0xaaaa0000);
  });
  it('LMSW sets MP/EM/TS and PE but cannot clear PE', () => {
    let s = withRegs(systemState(), { 0: 0x000e });
    s = okState(execute(s, insn('lmsw', [reg16(0)], { operandSize: 16 }), 0x10003));
    expect(s.cr0 & 0xf).toBe(0xf); // PE was 1 and stays 1
  });
  it('CLTS clears TS (bit 3)', () => {
    const s = okState(execute({ ...systemState(), cr0: 0x19 }, insn('clts'), 0x10002));
    expect(s.cr0).toBe(0x11);
  });
});

describe('LLDT and LTR [SYS.LLDT.1] [SYS.LTR.1]', () => {
  const ldt = segmentDescriptor({ base: 0x7000, limit: 0x17, type: 0x2, system: true, g: false, big: false });
  const tss = segmentDescriptor({ base: 0x3100, limit: 103, type: 0x9, system: true, g: false, big: false });
  it('LLDT loads an LDT descriptor; a selector with TI = 1 faults #GP(selector)', () => {
    const s = withRegs(systemState({ extraDescriptors: [ldt] }), { 0: 0x40, 1: 0x44 });
    const t = okState(execute(s, insn('lldt', [reg16(0)], { operandSize: 16 }), 0x10003));
    expect(t.ldtr).toMatchObject({ selector: 0x40, base: 0x7000, limit: 0x17, valid: true });
    expect(execute(s, insn('lldt', [reg16(1)], { operandSize: 16 }), 0)).toMatchObject({ vector: 13, errorCode: 0x44 & ~3 });
  });
  it('LLDT 0 leaves LDTR unusable', () => {
    const t = okState(execute(withRegs(systemState(), { 0: 0 }), insn('lldt', [reg16(0)], { operandSize: 16 }), 0x10003));
    expect(t.ldtr.valid).toBe(false);
  });
  it('LLDT of a data segment faults #GP(selector)', () => {
    const s = withRegs(systemState(), { 0: SEL.data0 });
    expect(execute(s, insn('lldt', [reg16(0)], { operandSize: 16 }), 0)).toMatchObject({ vector: 13, errorCode: SEL.data0 });
  });
  it('LTR loads an available TSS and marks it busy in the GDT; a busy TSS faults', () => {
    const s = withRegs(systemState({ extraDescriptors: [tss] }), { 0: 0x40 });
    const t = okState(execute(s, insn('ltr', [reg16(0)], { operandSize: 16 }), 0x10003));
    expect(t.tr).toMatchObject({ selector: 0x40, base: 0x3100, limit: 103 });
    expect((readDword(t, LAYOUT.gdt + 0x40 + 4) >>> 8) & 0xf).toBe(0xb);
    expect(execute(t, insn('ltr', [reg16(0)], { operandSize: 16 }), 0)).toMatchObject({ vector: 13, errorCode: 0x40 });
  });
  it('LTR with a null selector faults #GP(0)', () => {
    expect(execute(withRegs(systemState(), { 0: 0 }), insn('ltr', [reg16(0)], { operandSize: 16 }), 0)).toMatchObject({ vector: 13, errorCode: 0 });
  });
});

describe('control registers [SYS.CR.1] [SYS.CR.3] [PAGE.WALK.1] [PAGE.WALK.2]', () => {
  it('MOV CR0 with PG set and PE clear faults #GP(0)', () => {
    const s = withRegs(systemState(), { 0: 0x8000_0000 });
    expect(execute(s, insn('mov', [creg(0), reg32(0)]), 0)).toMatchObject({ vector: 13, errorCode: 0 });
  });
  it('turning paging on makes accesses go through CR3\'s tables', () => {
    const CR3 = 0x400000;
    let s = systemState();
    // Map linear 0x10000 (the code) to itself and linear 0x00c00000 to frame 0x00205000.
    s = mapPage(s, CR3, 0x10000, 0x10000, PTE.P | PTE.W);
    s = mapPage(s, CR3, 0x00c00000, 0x00205000, PTE.P | PTE.W);
    s = writeDword(s, 0x00205008, 0x13572468);
    s = withRegs(s, { 0: CR3, 1: 0x8000_0011 });
    s = okState(execute(s, insn('mov', [creg(3), reg32(0)]), 0x10003));
    s = okState(execute(s, insn('mov', [creg(0), reg32(1)]), 0x10006));
    const r = readMemory(s, 'ds', 0x00c00008, 32);
    expect(r.kind === 'ok' && r.value.value).toBe(0x13572468);
  });
  it('MOV CR4 with PAE (bit 5) is a model error; PSE is accepted', () => {
    const s = withRegs(systemState(), { 0: 0x20, 1: 0x10 });
    expect(execute(s, insn('mov', [creg(4), reg32(0)]), 0).kind).toBe('model-error');
    expect(okState(execute(s, insn('mov', [creg(4), reg32(1)]), 0x10003)).cr4).toBe(0x10);
  });
  it('MOV from CR2 at CPL 1 faults #GP(0)', () => {
    expect(execute(systemState({ cpl: 1 }), insn('mov', [reg32(0), creg(2)]), 0)).toMatchObject({ vector: 13, errorCode: 0 });
  });
});

describe('CPUID, UD2, WBINVD [SYS.CPUID.1] [SYS.UD2.1] [SYS.WBINVD.1]', () => {
  const word = (text: string) => [...text].reduce((v, c, i) => v + c.charCodeAt(0) * 2 ** (8 * i), 0);
  it('leaf 0: highest leaf 1 and the vendor "MesovirtIA32" in EBX, EDX, ECX (at CPL 3 too)', () => {
    const s = okState(execute(withRegs(systemState({ cpl: 3 }), { 0: 0 }), insn('cpuid'), 0x10002));
    expect([s.regs[0], s.regs[3], s.regs[2], s.regs[1]]).toEqual([1, word('Meso'), word('virt'), word('IA32')]);
  });
  it('leaf 1: family 6 model 3 stepping 3, PSE TSC MSR CX8 SEP CMOV; leaf 7 and 0x80000000: zeros', () => {
    const s = okState(execute(withRegs(systemState(), { 0: 1 }), insn('cpuid'), 0x10002));
    // EDX bits 3, 4, 5, 8, 11, 15 = 0x8 + 0x10 + 0x20 + 0x100 + 0x800 + 0x8000 = 0x8938.
    expect([s.regs[0], s.regs[3], s.regs[1], s.regs[2]]).toEqual([0x633, 0, 0, 0x8938]);
    const x = okState(execute(withRegs(systemState(), { 0: 0x80000000 }), insn('cpuid'), 0x10002));
    expect(x.regs[0]).toBe(0);
    const z = okState(execute(withRegs(systemState(), { 0: 7, 3: 5 }), insn('cpuid'), 0x10002));
    expect([z.regs[0], z.regs[1], z.regs[2], z.regs[3]]).toEqual([0, 0, 0, 0]);
  });
  it('UD2 is #UD; WBINVD is privileged and otherwise a no-op', () => {
    expect(execute(systemState(), insn('ud2'), 0)).toEqual({ kind: 'fault', vector: 6, errorCode: null, rule: 'SYS.UD2.1' });
    expect(execute(systemState({ cpl: 1 }), insn('wbinvd'), 0)).toMatchObject({ vector: 13 });
    expect(okState(execute(systemState(), insn('wbinvd'), 0x10002)).eip).toBe(0x10002);
  });
});

describe('state [STATE.MEM.1] [STATE.MEM.2] [STATE.RESET.1] [STATE.RESET.2] [STATE.CPL.1]', () => {
  it('memory starts zero; a write leaves the old state unchanged and shares other pages', () => {
    const m0 = writePhysical(emptyMemory(1 << 20), 0x3000, 4, 0x11111111);
    const m1 = writePhysical(m0, 0x1000, 4, 0xdeadbeef);
    expect(readPhysical(m0, 0x1000, 4)).toBe(0);
    expect(readPhysical(m1, 0x1000, 4)).toBe(0xdeadbeef);
    expect(samePage(m0, m1, 0x3000)).toBe(true); // page 3 shared, not copied
    expect(samePage(m0, m1, 0x1000)).toBe(false);
  });
  it('outside RAM reads are all ones and writes vanish', () => {
    const m = writePhysical(emptyMemory(0x1000), 0x2000, 4, 5);
    expect(readPhysical(m, 0x2000, 4)).toBe(0xffffffff);
  });
  it('the initial state is flat ring-0 protected mode with paging off', () => {
    const s = initialState(1 << 20);
    expect(cpl(s)).toBe(0);
    expect(s.cr0 & 0x8000_0001).toBe(1);
    expect(s.eflags).toBe(2);
    expect(s.ldtr).toEqual(NULL_SEGMENT);
    expect(NULL_SEGMENT.valid).toBe(false);
  });
  it('toCommon / fromCommon round-trip the architectural state', () => {
    const s = systemState({ cpl: 3 });
    const back = fromCommon(initialState(16 << 20), toCommon(s));
    expect(toCommon(back)).toEqual(toCommon(s));
    expect(cpl(back)).toBe(3);
  });
});

describe('addressing and the stack [SEG.DEFAULT.1] [SEG.STACK.1]', () => {
  const s = systemState();
  it('base EBP or ESP defaults to SS, others to DS, an override wins', () => {
    const m = (base: number) => ({ kind: 'mem' as const, size: 32 as const, base, index: null, scale: 1 as const, disp: 4 });
    expect(effectiveAddress(s, insn('mov'), m(5)).segment).toBe('ss');
    expect(effectiveAddress(s, insn('mov'), m(4)).segment).toBe('ss');
    expect(effectiveAddress(s, insn('mov'), m(3)).segment).toBe('ds');
    expect(effectiveAddress(s, insn('mov', [], { segment: 'es' }), m(5)).segment).toBe('es');
  });
  it('with SS.B clear, PUSH and POP use SP and keep ESP\'s upper half', () => {
    let t = writeDescriptor(s, LAYOUT.gdt, 8, segmentDescriptor({ type: 0x2, big: false }));
    t = { ...t, segments: { ...t.segments, ss: { ...t.segments.ss, selector: 0x40, attributes: t.segments.ss.attributes & ~0x4000 } } };
    t = writeRegister(t, 32, 4, 0x0001_0002);
    const pushed = push(t, 0xabcd1234, 32);
    if (pushed.kind !== 'ok') throw new Error('push');
    expect(pushed.value.regs[4]).toBe(0x0001_fffe); // SP wrapped from 2 to 0xFFFE
    const popped = pop(pushed.value, 32);
    expect(popped.kind === 'ok' && [popped.value.value, popped.value.state.regs[4]]).toEqual([0xabcd1234, 0x0001_0002]);
  });
});

describe('gates and IRET corners [GATE.DESC.1] [PRIV.GATE.5] [PRIV.IRET.1] [PRIV.IRET.2] [EXC.IDT.6]', () => {
  it('a gate descriptor splits its offset across both dwords', () => {
    const [low, high] = gateDescriptor({ selector: 0x1234, offset: 0xdeadbeef, type: 0xc, dpl: 2, parameterCount: 5 });
    expect(low).toBe(0x1234_beef);
    expect(parseGate(low, high)).toMatchObject({ selector: 0x1234, offset: 0xdeadbeef, type: 0xc, dpl: 2, parameterCount: 5, present: true });
  });
  it('CALL through a gate to the same ring pushes CS and EIP on the current stack', () => {
    let s = systemState({ extraDescriptors: [gateDescriptor({ selector: SEL.code0, offset: 0x30000, type: 0xc, dpl: 0 })] });
    s = writeCode(s, LAYOUT.code, [0x9a, 0, 0, 0, 0, 0x40, 0x00]);
    const t = step(s).state;
    expect(t.eip).toBe(0x30000);
    expect(t.regs[4]).toBe(LAYOUT.stack0 - 8);
    expect([readDword(t, LAYOUT.stack0 - 8), readDword(t, LAYOUT.stack0 - 4)]).toEqual([LAYOUT.code + 7, SEL.code0]);
  });
  it('IRET with NT set is a model error (task return)', () => {
    const s = writeCode(systemState({ eflags: 0x4002 }), LAYOUT.code, [0xcf]);
    expect(step(s).event.kind).toBe('model-error');
  });
  it('IRET at CPL 0 to an image with VM set is a model error', () => {
    let s = systemState();
    s = writeDword(writeDword(writeDword(s, LAYOUT.stack0 - 12, 0x1000), LAYOUT.stack0 - 8, SEL.code0), LAYOUT.stack0 - 4, 0x20002);
    s = writeCode(writeRegister(s, 32, 4, LAYOUT.stack0 - 12), LAYOUT.code, [0xcf]);
    expect(step(s).event.kind).toBe('model-error');
  });
  it('an interrupt through a task gate is a model error', () => {
    let s = systemState({ gates: { 0x30: gateDescriptor({ selector: SEL.tss, offset: 0, type: 0x5 }) } });
    s = writeCode(s, LAYOUT.code, [0xcd, 0x30]);
    expect(step(s).event.kind).toBe('model-error');
  });
});

describe('string I/O [IO.STRING.1]', () => {
  it('REP OUTSB writes ECX bytes from DS:ESI to port DX and advances ESI', () => {
    let s = systemState();
    s = writeCode(s, 0x5000, [0x61, 0x62, 0x63]);
    s = withRegs(s, { 1: 3, 2: 0xe9, 6: 0x5000 });
    s = okState(execute(s, insn('outs', [], { rep: 'rep', elementSize: 8 }), 0x10002));
    expect([s.regs[1], s.regs[6]]).toEqual([0, 0x5003]);
    expect(s.devices.console?.byte).toBe(0x63);
  });
  it('INSB with DF = 1 stores at ES:EDI and moves EDI down', () => {
    let s = withRegs(systemState({ eflags: 0x402 }), { 2: 0x21, 7: 0x5000 });
    s = okState(execute(s, insn('ins', [], { elementSize: 8 }), 0x10001));
    expect(s.regs[7]).toBe(0x4fff);
    expect(readDword(s, 0x5000) & 0xff).toBe(0xff); // the PIC mask after reset
  });
});

describe('REP INS stopping at a fault [IO.STRING.1]', () => {
  it('keeps the completed elements, leaves EIP on the instruction, then faults on the next step', () => {
    // ES limit 0x5001: elements at 0x5000 and 0x5001 fit, 0x5002 does not.
    let s = systemState({ extraDescriptors: [segmentDescriptor({ type: 0x2, limit: 0x5001, g: false })] });
    s = { ...s, segments: { ...s.segments, es: { ...s.segments.es, selector: 0x40, limit: 0x5001 } } };
    s = withRegs(s, { 1: 5, 2: 0x21, 7: 0x5000 });
    const first = okState(execute(s, insn('ins', [], { rep: 'rep', elementSize: 8 }), 0x10002));
    expect([first.regs[1], first.regs[7], first.eip]).toEqual([3, 0x5002, s.eip]);
    expect(execute(first, insn('ins', [], { rep: 'rep', elementSize: 8 }), 0x10002)).toMatchObject({ kind: 'fault', vector: 13, errorCode: 0 });
  });
});

describe('32-bit code only [PRIV.CODE32.1]', () => {
  it('a far JMP to a 16-bit code segment is a model error', () => {
    let s = systemState({ extraDescriptors: [segmentDescriptor({ type: 0xa, big: false })] });
    s = writeCode(s, LAYOUT.code, [0xea, 0, 0, 0, 0, 0x40, 0x00]);
    expect(step(s).event.kind).toBe('model-error');
  });
  it('an interrupt whose handler is 16-bit code is a model error', () => {
    let s = systemState({ extraDescriptors: [segmentDescriptor({ type: 0xa, big: false })], gates: { 0x30: gateDescriptor({ selector: 0x40, offset: 0, type: 0xe }) } });
    s = writeCode(s, LAYOUT.code, [0xcd, 0x30]);
    expect(step(s).event.kind).toBe('model-error');
  });
});
