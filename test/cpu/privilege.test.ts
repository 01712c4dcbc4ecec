// Privilege transfers, with expected stacks and registers worked out from the
// Intel SDM vol. 3A §5.8 (call gates, stack switching, figure 5-13), §5.8.6
// (returning from a called procedure), §6.12 (interrupt procedures) and
// vol. 2 IRET/RET/CALL/JMP pseudo-code. Code bytes are encoded by hand from
// the vol. 2 opcode tables.
import { describe, expect, it } from 'vitest';
import { systemState, gateDescriptor, segmentDescriptor, flatCode, SEL, LAYOUT, readDword, writeCode, writeDword } from '../../properties/builders';
import { execute } from '../../model/cpu/execute';
import { insn } from './insn';
import { step } from '../../model/cpu/step';
import { cpl, writeRegister } from '../../model/cpu/context';
import type { MachineState } from '../../model/cpu/state';
import { IF, IOPL } from '../../model/cpu/eflags';

const HANDLER = 0x20000;
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const le16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
const farCall = (selector: number, offset: number): number[] => [0x9a, ...le32(offset), ...le16(selector)];
const farJmp = (selector: number, offset: number): number[] => [0xea, ...le32(offset), ...le16(selector)];

function run(s: MachineState, n = 1): MachineState {
  let state = s;
  for (let i = 0; i < n; i++) {
    const r = step(state);
    if (r.event.kind !== 'retired' && r.event.kind !== 'exception') throw new Error(JSON.stringify(r.event));
    state = r.state;
  }
  return state;
}
const setEsp = (s: MachineState, esp: number): MachineState => writeRegister(s, 32, 4, esp);

describe('call gates [PRIV.GATE.1] [PRIV.GATE.2] [PRIV.GATE.4] [PRIV.TSS.1] [PRIV.CPL.1]', () => {
  const GATE = 0x40 | 3; // GDT index 8, RPL 3
  const setup = (gateDpl: number): MachineState => {
    let s = systemState({ cpl: 3, extraDescriptors: [gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xc, dpl: gateDpl, parameterCount: 2 })] });
    s = writeCode(s, LAYOUT.code, farCall(GATE, 0));
    // Two parameters on the ring-3 stack: 0x1111 at ESP (pushed last), 0x2222 above.
    s = writeDword(writeDword(s, LAYOUT.stack3 - 8, 0x1111), LAYOUT.stack3 - 4, 0x2222);
    return setEsp(s, LAYOUT.stack3 - 8);
  };
  it('CALL through a DPL 3 gate to ring 0 switches to the TSS ring-0 stack and copies the parameters', () => {
    const s = run(setup(3));
    expect(cpl(s)).toBe(0);
    expect(s.segments.cs.selector).toBe(SEL.code0);
    expect(s.eip).toBe(HANDLER);
    expect(s.segments.ss.selector).toBe(SEL.data0);
    const esp = LAYOUT.stack0 - 24; // SS, ESP, 2 params, CS, EIP
    expect(s.regs[4]).toBe(esp);
    expect([0, 4, 8, 12, 16, 20].map((o) => readDword(s, esp + o))).toEqual([
      LAYOUT.code + 7, SEL.code3, 0x1111, 0x2222, LAYOUT.stack3 - 8, SEL.data3,
    ]);
  });
  it('a gate with DPL < CPL faults #GP(gate selector)', () => {
    // With an empty IDT: #GP, then #NP for the absent vector-13 gate, then
    // #DF whose gate is absent too: a triple fault [EXC.DF.3].
    expect(step(setup(0)).event.kind).toBe('shutdown');
    let s = setup(0);
    s = writeDword(s, LAYOUT.idt + 13 * 8, gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xe })[0]);
    s = writeDword(s, LAYOUT.idt + 13 * 8 + 4, gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xe })[1]);
    const g = step(s);
    expect(g.event).toEqual({ kind: 'exception', vector: 13, errorCode: 0x40, rule: 'PRIV.GATE.1' });
    expect(readDword(g.state, g.state.regs[4]!)).toBe(0x40); // error code on the ring-0 stack
  });
  it('RETF 8 back to ring 3 restores SS:ESP past the parameters and nulls DS loaded with a ring-0 segment [PRIV.RET.1] [PRIV.RET.2] [PRIV.RET.3] [PRIV.RET.4]', () => {
    let s = run(setup(3));
    s = { ...s, segments: { ...s.segments, ds: s.segments.ss } }; // ring-0 data in DS
    s = writeCode(s, HANDLER, [0xca, ...le16(8)]);
    s = run(s);
    expect(cpl(s)).toBe(3);
    expect(s.eip).toBe(LAYOUT.code + 7);
    expect(s.segments.ss.selector).toBe(SEL.data3);
    expect(s.regs[4]).toBe(LAYOUT.stack3);
    expect(s.segments.ds.valid).toBe(false);
    expect(s.segments.es.valid).toBe(true); // ES still holds the ring-3 data segment
  });
  it('a ring-0 stack too small for the call frame faults #SS(new SS selector) [PRIV.GATE.6]', () => {
    let s = systemState({ cpl: 3, extraDescriptors: [
      gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xc, dpl: 3, parameterCount: 2 }),
      segmentDescriptor({ type: 0x2, limit: 0xfff, g: false, dpl: 0 }), // selector 0x48
    ] });
    s = writeCode(s, LAYOUT.code, farCall(GATE, 0));
    s = writeDword(writeDword(s, LAYOUT.tss + 8, 0x48), LAYOUT.tss + 4, 0x10); // room for 4 of the 6 dwords
    s = setEsp(s, LAYOUT.stack3 - 8);
    const r = execute(s, insn('callf', [{ kind: 'far', selector: GATE, offset: 0 }]), LAYOUT.code + 7);
    expect(r).toEqual({ kind: 'fault', vector: 12, errorCode: 0x48, rule: 'PRIV.GATE.6' });
  });
  it('JMP through a call gate to an inner ring faults #GP(code selector) [PRIV.GATE.3]', () => {
    let s = setup(3);
    s = writeCode(s, LAYOUT.code, farJmp(GATE, 0));
    s = writeDword(s, LAYOUT.idt + 13 * 8, gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xe })[0]);
    s = writeDword(s, LAYOUT.idt + 13 * 8 + 4, gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xe })[1]);
    expect(step(s).event).toEqual({ kind: 'exception', vector: 13, errorCode: SEL.code0, rule: 'PRIV.GATE.3' });
  });
});

describe('direct far transfers and conforming code [PRIV.DIRECT.1] [PRIV.FAR.1] [PRIV.EIP.1]', () => {
  const withGp = (s: MachineState): MachineState => {
    const g = gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xe });
    return writeDword(writeDword(s, LAYOUT.idt + 13 * 8, g[0]), LAYOUT.idt + 13 * 8 + 4, g[1]);
  };
  it('JMP from ring 3 to conforming DPL 0 code keeps CPL 3 (CS.RPL = 3)', () => {
    let s = systemState({ cpl: 3, extraDescriptors: [flatCode(0, true)] });
    s = writeCode(s, LAYOUT.code, farJmp(0x40, 0x30000));
    s = run(s);
    expect(s.segments.cs.selector).toBe(0x43);
    expect(cpl(s)).toBe(3);
    expect(s.eip).toBe(0x30000);
  });
  it('JMP from ring 3 to non-conforming DPL 0 code faults #GP(selector)', () => {
    let s = withGp(systemState({ cpl: 3 }));
    s = writeCode(s, LAYOUT.code, farJmp(SEL.code0, 0x30000));
    expect(step(s).event).toEqual({ kind: 'exception', vector: 13, errorCode: SEL.code0, rule: 'PRIV.DIRECT.1' });
  });
  it('a null selector faults #GP(0)', () => {
    let s = withGp(systemState());
    s = writeCode(s, LAYOUT.code, farJmp(0, 0x30000));
    expect(step(s).event).toEqual({ kind: 'exception', vector: 13, errorCode: 0, rule: 'PRIV.FAR.1' });
  });
  it('[PRIV.FAR.2] a far JMP to a data segment or a CALL to an LDT descriptor faults #GP(selector)', () => {
    // SDM vol. 2, JMP/CALL: a selector naming neither a code segment, a call
    // gate, a task gate nor a TSS is #GP(segment selector); a data segment
    // (0x10) and the LDT-typed descriptor below are both.
    let s = withGp(systemState({ extraDescriptors: [segmentDescriptor({ type: 0x2, system: true, limit: 0xff, g: false })] }));
    expect(step(writeCode(s, LAYOUT.code, farJmp(SEL.data0, 0))).event).toEqual({ kind: 'exception', vector: 13, errorCode: SEL.data0, rule: 'PRIV.FAR.2' });
    s = writeCode(s, LAYOUT.code, farCall(0x40, 0));
    expect(step(s).event).toEqual({ kind: 'exception', vector: 13, errorCode: 0x40, rule: 'PRIV.FAR.2' });
  });
  it('CALL to the same ring pushes CS then EIP', () => {
    let s = systemState();
    s = writeCode(s, LAYOUT.code, farCall(SEL.code0, 0x30000));
    s = run(s);
    expect(s.regs[4]).toBe(LAYOUT.stack0 - 8);
    expect(readDword(s, LAYOUT.stack0 - 8)).toBe(LAYOUT.code + 7);
    expect(readDword(s, LAYOUT.stack0 - 4)).toBe(SEL.code0);
  });
});

describe('IRET [PRIV.IRET.3] [PRIV.FLAGS.1]', () => {
  const frame = (s: MachineState, values: number[]): MachineState => {
    let st = s;
    const esp = LAYOUT.stack0 - 4 * values.length;
    values.forEach((v, i) => { st = writeDword(st, esp + 4 * i, v); });
    return writeCode(setEsp(st, esp), LAYOUT.code, [0xcf]);
  };
  it('from ring 0 to ring 3: loads SS:ESP from the frame, sets IF and IOPL, nulls ring-0 data segments', () => {
    const s = run(frame(systemState(), [0x40000, SEL.code3, 0x2 | IF | IOPL, 0x6000, SEL.data3]));
    expect(cpl(s)).toBe(3);
    expect(s.eip).toBe(0x40000);
    expect(s.regs[4]).toBe(0x6000);
    expect(s.segments.ss.selector).toBe(SEL.data3);
    expect(s.eflags & (IF | IOPL)).toBe(IF | IOPL);
    for (const n of ['ds', 'es', 'fs', 'gs'] as const) expect(s.segments[n].valid).toBe(false);
  });
  it('at CPL 3 with IOPL 0, IRET cannot change IF or IOPL', () => {
    let s = systemState({ cpl: 3 });
    const esp = LAYOUT.stack3 - 12;
    s = writeDword(writeDword(writeDword(s, esp, 0x40000), esp + 4, SEL.code3), esp + 8, 0x2 | IF | IOPL | 0x1);
    s = writeCode(setEsp(s, esp), LAYOUT.code, [0xcf]);
    s = run(s);
    expect(s.eflags & (IF | IOPL)).toBe(0);
    expect(s.eflags & 1).toBe(1); // CF does change
  });
  it('returning to a more privileged ring faults #GP(selector) [PRIV.RET.1]', () => {
    let s = systemState({ cpl: 3 });
    const g = gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xe });
    s = writeDword(writeDword(s, LAYOUT.idt + 13 * 8, g[0]), LAYOUT.idt + 13 * 8 + 4, g[1]);
    const esp = LAYOUT.stack3 - 12;
    s = writeDword(writeDword(writeDword(s, esp, 0x40000), esp + 4, SEL.code0), esp + 8, 0x2);
    s = writeCode(setEsp(s, esp), LAYOUT.code, [0xcf]);
    expect(step(s).event).toEqual({ kind: 'exception', vector: 13, errorCode: SEL.code0, rule: 'PRIV.RET.1' });
  });
});
