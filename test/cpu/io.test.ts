// I/O privilege, the TSS I/O permission bitmap (Intel SDM vol. 1 §19.5),
// IF rules for CLI/STI/POPF (vol. 2 pseudo-code), and the devices: the PIC
// programmed as the 8259A datasheet says (ICW1..4, OCW1 masks, OCW2 EOI), a
// PIT channel 0 in mode 2, and QEMU's isa-debug-exit convention.
import { describe, expect, it } from 'vitest';
import { systemState, gateDescriptor, SEL, LAYOUT, writeCode, writeDword, readDword } from '../../properties/builders';
import { step } from '../../model/cpu/step';
import { writeRegister } from '../../model/cpu/context';
import { execute } from '../../model/cpu/execute';
import type { MachineState } from '../../model/cpu/state';
import { IF, IOPL } from '../../model/cpu/eflags';
import { acknowledgeInterrupt, advanceTime, consoleBytes, initialDevices, interruptPending, portRead, portWrite } from '../../model/cpu/devices';
import { insn, reg8, reg16, imm } from './insn';

const HANDLER = 0x20000;
const outDxAl = insn('out', [reg16(2), reg8(0)]);
const outDxAx = insn('out', [reg16(2), reg16(0)], { operandSize: 16 });

function withPort(s: MachineState, port: number): MachineState {
  return writeRegister(writeRegister(s, 32, 2, port), 32, 0, 0x41);
}

describe('I/O permission [IO.PERM.1]', () => {
  it('at CPL 0 (<= IOPL 0) any port is allowed', () => {
    const r = execute(withPort(systemState(), 0xe9), outDxAl, 0x10001);
    expect(r.kind).toBe('ok');
  });
  it('at CPL 3 with IOPL 0 and no bitmap in the TSS: #GP(0)', () => {
    expect(execute(withPort(systemState({ cpl: 3 }), 0xe9), outDxAl, 0x10001)).toEqual({ kind: 'fault', vector: 13, errorCode: 0, rule: 'IO.PERM.1' });
  });
  it('at CPL 3 with IOPL 3: allowed', () => {
    expect(execute(withPort(systemState({ cpl: 3, eflags: 0x2 | IOPL }), 0xe9), outDxAl, 0x10001).kind).toBe('ok');
  });
  // Bitmap: ports 0xE8..0xEF are bits of byte 0x1D. 0xFD = all set but 0xE9 (bit 1).
  const bitmap = [...new Array(0x1d).fill(0xff), 0xfd, 0xff, 0xff];
  it('the bitmap opens port 0xE9 for a byte access', () => {
    const r = execute(withPort(systemState({ cpl: 3, ioBitmap: bitmap }), 0xe9), outDxAl, 0x10001);
    expect(r.kind).toBe('ok');
    if (r.kind === 'ok') expect(Array.from(consoleBytes(r.state.devices.console))).toEqual([0x41]);
  });
  it('a word access at 0xE9 also needs 0xEA, whose bit is set: #GP(0)', () => {
    expect(execute(withPort(systemState({ cpl: 3, ioBitmap: bitmap }), 0xe9), outDxAx, 0x10002)).toMatchObject({ vector: 13, errorCode: 0 });
  });
  it('a port whose bitmap byte is beyond the TSS limit: #GP(0)', () => {
    expect(execute(withPort(systemState({ cpl: 3, ioBitmap: bitmap }), 0x400), outDxAl, 0x10001)).toMatchObject({ vector: 13, errorCode: 0 });
  });
});

describe('CLI, STI, POPF and IOPL [IO.IF.1] [PRIV.POPF.1] [PRIV.PUSHF.1]', () => {
  it('CLI at CPL 3 with IOPL 0 faults #GP(0); with IOPL 3 it clears IF', () => {
    expect(execute(systemState({ cpl: 3, eflags: 0x2 | IF }), insn('cli'), 0x10001)).toMatchObject({ vector: 13, errorCode: 0 });
    const r = execute(systemState({ cpl: 3, eflags: 0x2 | IF | IOPL }), insn('cli'), 0x10001);
    expect(r.kind === 'ok' && r.state.eflags & IF).toBe(0);
  });
  it('POPF at CPL 3 with IOPL 0 silently keeps IF and IOPL but changes CF', () => {
    let s = systemState({ cpl: 3, eflags: 0x2 });
    s = writeRegister(writeDword(s, LAYOUT.stack3 - 4, 0x2 | IF | IOPL | 1), 32, 4, LAYOUT.stack3 - 4);
    const r = execute(s, insn('popf'), 0x10001);
    if (r.kind !== 'ok') throw new Error(r.kind);
    expect(r.state.eflags).toBe(0x3);
    expect(r.state.regs[4]).toBe(LAYOUT.stack3);
  });
  it('POPF at CPL 0 changes IF and IOPL', () => {
    let s = systemState({ cpl: 0, eflags: 0x2 });
    s = writeRegister(writeDword(s, LAYOUT.stack0 - 4, 0x2 | IF | IOPL), 32, 4, LAYOUT.stack0 - 4);
    const r = execute(s, insn('popf'), 0x10001);
    expect(r.kind === 'ok' && r.state.eflags).toBe(0x2 | IF | IOPL);
  });
  it('PUSHF at CPL 3 shows the real IF (sensitive, no trap)', () => {
    const r = execute(systemState({ cpl: 3, eflags: 0x2 | IF }), insn('pushf'), 0x10001);
    if (r.kind !== 'ok') throw new Error(r.kind);
    expect(r.state.regs[4]).toBe(LAYOUT.stack3 - 4);
    expect(readDword(r.state, LAYOUT.stack3 - 4)).toBe(0x2 | IF);
  });
  it('HLT at CPL 3 faults #GP(0) [PRIV.INSN.1]', () => {
    expect(execute(systemState({ cpl: 3 }), insn('hlt'), 0x10001)).toMatchObject({ vector: 13, errorCode: 0 });
  });
});

describe('devices', () => {
  it('port 0xF4 ends the run with (value << 1) | 1 [IO.EXIT.1]', () => {
    expect(portWrite(initialDevices, 0xf4, 8, 0, 0).exitCode).toBe(1);
    expect(portWrite(initialDevices, 0xf4, 8, 5, 0).exitCode).toBe(11);
  });
  it('port 0xE9 appends to the console [IO.CONSOLE.1]', () => {
    const d = portWrite(portWrite(initialDevices, 0xe9, 8, 0x68, 0), 0xe9, 8, 0x69, 0);
    expect(new TextDecoder().decode(consoleBytes(d.console))).toBe('hi');
  });
  it('unconnected ports read all ones and ignore writes [IO.PORT.1] [IO.PORT.2]', () => {
    expect(portRead(initialDevices, 0x80, 8, 0).value).toBe(0xff);
    expect(portRead(initialDevices, 0x80, 16, 0).value).toBe(0xffff);
    expect(portWrite(initialDevices, 0x80, 8, 1, 0)).toBe(initialDevices);
  });
  it('after reset every PIC line is masked and the timer is stopped [IO.PIC.1] [IO.PIT.1]', () => {
    expect(portRead(initialDevices, 0x21, 8, 0).value).toBe(0xff);
    expect(interruptPending(advanceTime(initialDevices, 1_000_000))).toBe(false);
  });

  const programmed = (): typeof initialDevices => {
    let d = initialDevices;
    // ICW1 (edge, cascade, ICW4), ICW2 base 0x20, ICW3 slave on line 2, ICW4 8086 mode [IO.PIC.2]
    for (const [port, value] of [[0x20, 0x11], [0x21, 0x20], [0x21, 0x04], [0x21, 0x01], [0xa0, 0x11], [0xa1, 0x28], [0xa1, 0x02], [0xa1, 0x01]] as const) {
      d = portWrite(d, port, 8, value, 0);
    }
    d = portWrite(d, 0x21, 8, 0xfe, 0); // OCW1: only line 0 open [IO.PIC.4]
    // PIT channel 0, lobyte/hibyte, mode 2, reload 100 [IO.PIT.2]
    d = portWrite(portWrite(portWrite(d, 0x43, 8, 0x34, 0), 0x40, 8, 100, 0), 0x40, 8, 0, 0);
    return d;
  };
  it('the timer raises IRQ 0 after `reload` instructions; acknowledge gives vector base + 0 [IO.PIT.3] [IO.PIC.6]', () => {
    const d = programmed();
    expect(interruptPending(advanceTime(d, 99))).toBe(false);
    const fired = advanceTime(d, 100);
    expect(interruptPending(fired)).toBe(true);
    const ack = acknowledgeInterrupt(fired)!;
    expect(ack.vector).toBe(0x20);
    // In service: the next tick's request waits for the EOI.
    const again = advanceTime(ack.devices, 100);
    expect(interruptPending(again)).toBe(false);
    const eoi = portWrite(again, 0x20, 8, 0x20, 0); // OCW2 non-specific EOI [IO.PIC.3]
    expect(interruptPending(eoi)).toBe(true);
  });
  it('a masked line does not interrupt', () => {
    const d = portWrite(programmed(), 0x21, 8, 0xff, 0);
    expect(interruptPending(advanceTime(d, 1000))).toBe(false);
  });
  it('a slave request reaches the CPU through master line 2 with the slave vector [IO.PIC.5]', () => {
    let d = portWrite(programmed(), 0x21, 8, 0xfb, 0); // open line 2
    d = portWrite(d, 0xa1, 8, 0x00, 0);
    d = { ...d, slave: { ...d.slave, irr: 1 << 3 } }; // line 11
    expect(acknowledgeInterrupt(d)?.vector).toBe(0x2b);
  });
});

describe('HLT waits for the timer [EXC.HALT.1] [EXC.HALT.2] [EXC.INTR.1] [IO.IF.2]', () => {
  const boot = (eflags: number): MachineState => {
    let s = systemState({ eflags, gates: { 0x20: gateDescriptor({ selector: SEL.code0, offset: HANDLER, type: 0xe }) } });
    const program = [
      0xb0, 0x11, 0xe6, 0x20, 0xb0, 0x20, 0xe6, 0x21, 0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01, 0xe6, 0x21, // PIC
      0xb0, 0xfe, 0xe6, 0x21, // mask all but IRQ 0
      0xb0, 0x34, 0xe6, 0x43, 0xb0, 0x32, 0xe6, 0x40, 0xb0, 0x00, 0xe6, 0x40, // PIT: reload 50
      0xfb, 0xf4, // STI; HLT
    ];
    s = writeCode(s, LAYOUT.code, program);
    return s;
  };
  it('STI; HLT: the processor halts, then the timer interrupt arrives with EIP after the HLT', () => {
    let s = boot(0x2);
    const events: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = step(s);
      s = r.state;
      events.push(r.event.kind);
      if (r.event.kind === 'interrupt') break;
    }
    expect(events.slice(-3)).toEqual(['retired', 'halted', 'interrupt']);
    expect(s.eip).toBe(HANDLER);
    expect(s.regs[4]).toBe(LAYOUT.stack0 - 12);
    expect(readDword(s, LAYOUT.stack0 - 12)).toBe(LAYOUT.code + 34); // EIP after the HLT
  });
  it('HLT with IF = 0 stays halted for good', () => {
    let s = writeCode(boot(0x2), LAYOUT.code + 32, [0x90, 0xf4]); // NOP instead of STI
    let last = '';
    for (let i = 0; i < 25; i++) { const r = step(s); s = r.state; last = r.event.kind; }
    expect(last).toBe('halted');
    expect(s.halted).toBe(true);
  });
  it('IN from the PIC data port reads the mask', () => {
    const r = execute(systemState(), insn('in', [reg8(0), imm(0x21, 8)]), 0x10002);
    expect(r.kind === 'ok' && r.state.regs[0]! & 0xff).toBe(0xff);
  });
});
