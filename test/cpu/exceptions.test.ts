// Exception and interrupt delivery. Expected frames, error codes and the
// double-fault table come from the Intel SDM vol. 3A §6.12 (stack frames),
// §6.13 (error code: EXT, IDT, TI bits), §6.15 (interrupt 8: the
// contributory / page-fault table, shutdown on a fault during #DF) and
// §6.15 interrupt 14 (CR2).
import { describe, expect, it } from 'vitest';
import { systemState, gateDescriptor, segmentDescriptor, cacheFor, SEL, LAYOUT, readDword, writeDword, writeCode, withIdentityPaging, mapPage, PTE } from '../../properties/builders';
import { deliverInterrupt } from '../../model/cpu/interrupts';
import { step } from '../../model/cpu/step';
import { cpl, writeRegister } from '../../model/cpu/context';
import { IF } from '../../model/cpu/eflags';

const HANDLER = 0x20000;
const interruptGate = (dpl = 0, selector: number = SEL.code0) => gateDescriptor({ selector, offset: HANDLER, type: 0xe, dpl });
const trapGate = (dpl = 0) => gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xf, dpl });

describe('INT n [EXC.SOFT.1] [EXC.ENTRY.1] [EXC.ENTRY.2] [EXC.ENTRY.3] [EXC.ENTRY.4]', () => {
  it('from ring 3 through a DPL 3 interrupt gate: ring-0 stack frame SS, ESP, EFLAGS, CS, EIP; IF cleared', () => {
    let s = systemState({ cpl: 3, eflags: 0x2 | IF | 0x1, gates: { 0x80: interruptGate(3) } });
    s = writeCode(s, LAYOUT.code, [0xcd, 0x80]);
    const r = step(s);
    // The INT instruction retires (it is counted) and the step reports the delivery.
    expect(r.event).toEqual({ kind: 'exception', vector: 0x80, errorCode: null, rule: 'EXC.SOFT.1' });
    expect(r.state.instructionCount).toBe(s.instructionCount + 1);
    const t = r.state;
    expect(cpl(t)).toBe(0);
    expect(t.eip).toBe(HANDLER);
    expect(t.regs[4]).toBe(LAYOUT.stack0 - 20);
    expect([0, 4, 8, 12, 16].map((o) => readDword(t, LAYOUT.stack0 - 20 + o))).toEqual([
      LAYOUT.code + 2, SEL.code3, 0x2 | IF | 0x1, LAYOUT.stack3, SEL.data3,
    ]);
    expect(t.eflags & IF).toBe(0);
  });
  it('a trap gate leaves IF set; same ring: no SS/ESP in the frame', () => {
    let s = systemState({ cpl: 0, eflags: 0x2 | IF, gates: { 0x30: trapGate() } });
    s = writeCode(s, LAYOUT.code, [0xcd, 0x30]);
    const t = step(s).state;
    expect(t.eflags & IF).toBe(IF);
    expect(t.regs[4]).toBe(LAYOUT.stack0 - 12);
    expect(readDword(t, LAYOUT.stack0 - 4) & 0x10000).toBe(0); // a trap pushes RF = 0 [EXC.RF.1]
    expect(readDword(t, LAYOUT.stack0 - 12)).toBe(LAYOUT.code + 2);
  });
  it('INT n at CPL 3 through a DPL 0 gate faults #GP(n * 8 + 2) [EXC.IDT.4] [EXC.IDT.1]', () => {
    let s = systemState({ cpl: 3, gates: { 0x80: interruptGate(0), 13: interruptGate(0) } });
    s = writeCode(s, LAYOUT.code, [0xcd, 0x80]);
    const r = step(s);
    expect(r.event).toEqual({ kind: 'exception', vector: 13, errorCode: 0x80 * 8 + 2, rule: 'EXC.IDT.4' });
    expect(readDword(r.state, r.state.regs[4]! + 4)).toBe(LAYOUT.code); // fault: EIP of the INT itself
  });
  it('INTO does nothing when OF = 0 and raises #OF (a trap) when OF = 1 [EXC.SOFT.2]', () => {
    let s = systemState({ gates: { 4: interruptGate() } });
    s = writeCode(s, LAYOUT.code, [0xce]);
    expect(step(s).state.eip).toBe(LAYOUT.code + 1);
    expect(step(s).event).toEqual({ kind: 'retired' });
    const r = step({ ...s, eflags: 0x2 | 0x800 });
    expect(r.event).toEqual({ kind: 'exception', vector: 4, errorCode: null, rule: 'EXC.SOFT.1' });
    expect(r.state.eip).toBe(HANDLER);
    expect(readDword(r.state, r.state.regs[4]!)).toBe(LAYOUT.code + 1);
  });
});

describe('IDT entry checks [EXC.IDT.2] [EXC.IDT.3] [EXC.IDT.5] [EXC.TARGET.1] [EXC.EXT.1]', () => {
  it('INT n beyond the IDT limit raises #GP(n * 8 + 2), EXT clear for a software interrupt', () => {
    let s = systemState({ gates: { 13: interruptGate(), 0x30: interruptGate() } });
    s = { ...s, idtr: { base: LAYOUT.idt, limit: 0x30 * 8 - 1 } };
    s = writeCode(s, LAYOUT.code, [0xcd, 0x30]);
    expect(step(s).event).toEqual({ kind: 'exception', vector: 13, errorCode: 0x30 * 8 + 2, rule: 'EXC.IDT.2' });
  });
  it('an all-zero IDT entry is not a gate type: #GP(v * 8 + 2 + 1), checked before presence', () => {
    let s = systemState({ gates: { 13: interruptGate() } });
    s = writeCode(s, LAYOUT.code, [0x0f, 0x0b]);
    expect(step(s).event).toEqual({ kind: 'exception', vector: 13, errorCode: 6 * 8 + 3, rule: 'EXC.IDT.3' });
  });
  it('a gate whose code selector names a data segment raises #GP(selector + EXT)', () => {
    let s = systemState({ gates: { 6: interruptGate(0, SEL.data0), 13: interruptGate() } });
    s = writeCode(s, LAYOUT.code, [0x0f, 0x0b]);
    expect(step(s).event).toEqual({ kind: 'exception', vector: 13, errorCode: SEL.data0 | 1, rule: 'EXC.TARGET.1' });
  });
});

describe('double fault and shutdown [EXC.CLASS.1] [EXC.DF.1] [EXC.DF.2] [EXC.DF.3] [EXC.FAULT.1]', () => {
  const movSsAx = [0x8e, 0xd0]; // MOV SS, AX with AX = 0: #GP(0)
  it('#GP whose IDT entry is empty (a second #GP) becomes #DF with error code 0 and the faulting EIP', () => {
    let s = systemState({ gates: { 8: interruptGate() } });
    s = writeCode(writeRegister(s, 32, 0, 0), LAYOUT.code, movSsAx);
    const r = step(s);
    expect(r.event).toEqual({ kind: 'exception', vector: 8, errorCode: 0, rule: 'EXC.DF.1' });
    const esp = r.state.regs[4]!;
    expect([0, 4].map((o) => readDword(r.state, esp + o))).toEqual([0, LAYOUT.code]);
  });
  it('a fault while delivering #DF shuts the processor down', () => {
    let s = systemState({ gates: {} });
    s = writeCode(writeRegister(s, 32, 0, 0), LAYOUT.code, movSsAx);
    const r = step(s);
    expect(r.event.kind).toBe('shutdown');
    // Even with interrupts on and a timer running, nothing wakes it.
    expect(step({ ...r.state, eflags: r.state.eflags | IF }).event.kind).toBe('shutdown');
  });
  it('#PF then #GP while delivering it is #DF; CR2 keeps the #PF address [EXC.CR2.1]', () => {
    let s = systemState({ gates: { 14: interruptGate(0, SEL.data0), 8: interruptGate() } });
    s = withIdentityPaging(s, 0x400000, 0, 0x30000);
    // MOV EAX, [0x00500000]: A1 + moffs32, the page is not mapped.
    s = writeCode(s, LAYOUT.code, [0xa1, 0x00, 0x00, 0x50, 0x00]);
    const r = step(s);
    expect(r.event).toEqual({ kind: 'exception', vector: 8, errorCode: 0, rule: 'EXC.DF.1' });
    expect(r.state.cr2).toBe(0x00500000);
  });
  it('#PF delivered: CR2 = address, error code pushed, EIP = faulting instruction [PAGE.FAULT.1]', () => {
    let s = systemState({ cpl: 3, gates: { 14: interruptGate() } });
    s = withIdentityPaging(s, 0x400000, 0, 0x30000);
    s = mapPage(s, 0x400000, 0x00500000, 0x00500000, PTE.P); // supervisor-only page
    s = writeCode(s, LAYOUT.code, [0xa1, 0x10, 0x00, 0x50, 0x00]);
    const r = step(s);
    expect(r.event).toEqual({ kind: 'exception', vector: 14, errorCode: 5, rule: 'PAGE.FAULT.1' });
    expect(r.state.cr2).toBe(0x00500010);
    expect(readDword(r.state, r.state.regs[4]! + 4)).toBe(LAYOUT.code);
    expect(r.state.regs[0]).toBe(0); // EAX untouched by the faulting MOV
    // [EXC.RF.1] the pushed EFLAGS (error code, EIP, CS, EFLAGS, ...) has RF set; EFLAGS itself does not.
    expect(readDword(r.state, r.state.regs[4]! + 12) & 0x10000).toBe(0x10000);
    expect(r.state.eflags & 0x10000).toBe(0);
  });
  it('#UD then #NP is handled serially (benign first)', () => {
    const absent = gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xe, present: false });
    let s = systemState({ gates: { 6: absent, 11: interruptGate() } });
    s = writeCode(s, LAYOUT.code, [0x0f, 0x0b]);
    expect(step(s).event).toEqual({ kind: 'exception', vector: 11, errorCode: 6 * 8 + 3, rule: 'EXC.IDT.5' });
  });
  it('a fetch from an unmapped page is a #PF with CR2 = EIP [EXC.FETCH.1]', () => {
    let s = systemState({ gates: { 14: interruptGate() } });
    s = withIdentityPaging(s, 0x400000, 0, 0x30000);
    s = { ...s, eip: 0x00600000 };
    const r = step(s);
    expect(r.event).toEqual({ kind: 'exception', vector: 14, errorCode: 0, rule: 'PAGE.FAULT.1' });
    expect(r.state.cr2).toBe(0x00600000);
  });
  it('an instruction crossing the CS limit faults #GP(0)', () => {
    let s = systemState({ gates: { 13: interruptGate() } });
    // Only the CS cache is limited to 0xFFFF; the handler's CS is the flat descriptor.
    s = { ...s, segments: { ...s.segments, cs: { ...s.segments.cs, limit: 0xffff } }, eip: 0xfffe };
    s = writeCode(s, 0xfffe, [0xb8, 0x01]); // MOV EAX, imm32 needs 5 bytes
    expect(step(s).event).toEqual({ kind: 'exception', vector: 13, errorCode: 0, rule: 'EXC.FETCH.1' });
  });
});

describe('[EXC.FETCH.1] an undefined opcode is #UD, named by the rule that makes it undefined', () => {
  // Each byte string and the spec rule that lists it (spec/encoding.md).
  const cases: ReadonlyArray<[string, number[], string]> = [
    ['FF /7, an unassigned group slot', [0xff, 0x38], 'ENC.UD.1'],
    ['LEA EAX, ECX (8D C1), a register where memory is needed', [0x8d, 0xc1], 'ENC.UD.2'],
    ['MOV CS, AX (8E C8)', [0x8e, 0xc8], 'ENC.UD.3'],
    ['0F 10, SSE, which CPUID does not report', [0x0f, 0x10, 0xc0], 'ENC.UD.4'],
    ['LOCK NOP (F0 90)', [0xf0, 0x90], 'ENC.PREFIX.5'],
  ];
  for (const [what, code, rule] of cases) {
    it(`${what}: ${rule}`, () => {
      let s = systemState({ gates: { 6: interruptGate() } });
      s = writeCode(s, LAYOUT.code, code);
      expect(step(s).event).toEqual({ kind: 'exception', vector: 6, errorCode: null, rule });
    });
  }
});

describe('stack faults while pushing a frame [EXC.STACK.1]', () => {
  // GDT index 8 (selector 0x40): a ring-0 stack segment with limit 0xFFF.
  const small = segmentDescriptor({ type: 0x2, limit: 0xfff, g: false, dpl: 0 });
  it('after a switch to a stack too small for the frame: #SS(new SS selector + EXT)', () => {
    let s = systemState({ cpl: 3, extraDescriptors: [small], gates: { 0x30: interruptGate(3) } });
    s = writeDword(writeDword(s, LAYOUT.tss + 8, 0x40), LAYOUT.tss + 4, 0x10); // SS0:ESP0 = 0x40:0x10, room for 4 dwords
    expect(deliverInterrupt(s, 0x30, null, 'external', LAYOUT.code)).toEqual({ kind: 'fault', vector: 12, errorCode: 0x40 | 1, rule: 'EXC.STACK.1' });
    expect(deliverInterrupt(s, 0x30, null, 'software', LAYOUT.code)).toEqual({ kind: 'fault', vector: 12, errorCode: 0x40, rule: 'EXC.STACK.1' });
  });
  it('on the current stack: #SS(EXT)', () => {
    let s = systemState({ extraDescriptors: [small], gates: { 0x30: interruptGate() } });
    s = { ...s, segments: { ...s.segments, ss: cacheFor(s, 0x40) } };
    s = writeRegister(s, 32, 4, 0x8);
    expect(deliverInterrupt(s, 0x30, null, 'external', LAYOUT.code)).toEqual({ kind: 'fault', vector: 12, errorCode: 1, rule: 'EXC.STACK.1' });
  });
});

describe('fetching across a page boundary [EXC.FETCH.1]', () => {
  const setup = () => {
    let s = systemState({ gates: { 14: interruptGate() } });
    s = withIdentityPaging(s, 0x400000, 0, 0x30000); // 0x30000 and up: not mapped
    return s;
  };
  it('an instruction that runs into an unmapped page faults with CR2 = the first byte of that page', () => {
    let s = writeCode(setup(), 0x2fffd, [0xb8, 0x01, 0x02]); // MOV EAX, imm32: 2 of its 5 bytes missing
    s = { ...s, eip: 0x2fffd };
    const r = step(s);
    expect(r.event).toEqual({ kind: 'exception', vector: 14, errorCode: 0, rule: 'PAGE.FAULT.1' });
    expect(r.state.cr2).toBe(0x30000);
    expect(readDword(r.state, r.state.regs[4]! + 4)).toBe(0x2fffd);
  });
  it('an instruction that ends exactly at the boundary runs without touching the next page', () => {
    let s = writeCode(setup(), 0x2fffb, [0xb8, 0x78, 0x56, 0x34, 0x12]);
    s = { ...s, eip: 0x2fffb };
    const r = step(s);
    expect(r.event).toEqual({ kind: 'retired' });
    expect(r.state.regs[0]).toBe(0x12345678);
  });
});
