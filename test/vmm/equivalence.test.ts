// Small guests under the monitor, with the outcome the manual predicts for
// the same code on a bare ring-0 machine ([VMM.EQ] for these scenarios).
import { describe, expect, it } from 'vitest';
import type { Instruction, Operand } from '../../model/isa/ast';
import { bootGuest } from '../../model/vmm/boot';
import { runWorld } from '../../model/vmm/run';
import { cpl } from '../../model/cpu/context';
import { readPhysical } from '../../model/cpu/memory';
import { DEFAULT_CONFIG, Frame, frameMachine, stubLinear } from '../../model/vmm/config';
import { hostileImage, GDT, IDT_PTR } from '../../properties/vmm/hostile';

const reg = (size: 8 | 16 | 32, r: number): Operand => ({ kind: 'reg', size, reg: r });
const imm = (size: 8 | 16 | 32, value: number): Operand => ({ kind: 'imm', size, value });
const insn = (mnemonic: string, ...operands: Operand[]): Instruction => ({ mnemonic, operands, operandSize: 32, segment: null, rep: null, lock: false });
const putc = (c: string): Instruction[] => [insn('mov', reg(32, 0), imm(32, c.charCodeAt(0))), insn('out', imm(8, 0xe9), reg(8, 0))];

function run(program: Instruction[], steps = 400) {
  const boot = bootGuest(hostileImage({ program, gdt: Array(31).fill({ low: 0, high: 0 }) }));
  if (boot.kind !== 'ok') throw new Error(boot.message);
  return { boot: boot.world, ...runWorld(boot.world, steps) };
}

describe('[VMM.BOOT.1] [VMM.BOOT.2] [VMM.RUN.1] booting a guest', () => {
  it('enters at ring 1 with the Multiboot registers, real paging on, virtual paging off', () => {
    const { boot } = run([]);
    expect(cpl(boot.machine)).toBe(1);
    expect(boot.machine.regs[0]).toBe(0x2badb002);
    expect((boot.machine.cr0 & 0x80010001) >>> 0).toBe(0x80010001);
    expect(boot.vmm.vcpu.cr0 & 0x80000000).toBe(0);
    expect(boot.machine.eflags & 0x3200).toBe(0); // IF and IOPL clear
    // Every stub is an IRET (0xCF); vector 13's gate leads to its stub.
    expect(readPhysical(boot.machine.memory, frameMachine(DEFAULT_CONFIG, Frame.code) + 16 * 13, 1)).toBe(0xcf);
    const gate = readPhysical(boot.machine.memory, frameMachine(DEFAULT_CONFIG, Frame.idt) + 8 * 13 + 4, 4);
    expect(gate >>> 16).toBe(stubLinear(DEFAULT_CONFIG, 13) >>> 16);
  });
});

describe('[VMM.EXIT.0] [VMM.EXIT.5] [VMM.EQ] console output through trapped OUT', () => {
  it('prints what a native kernel would print', () => {
    const r = run([...putc('h'), ...putc('i')]);
    expect(r.console).toBe('hi');
    expect(r.world.vmm.exits['emulate out']).toBe(2);
  });
  it('a port the guest does not own is refused: IN reads all ones (an empty bus)', () => {
    const r = run([insn('in', reg(8, 0), imm(8, 0x60)), insn('out', imm(8, 0xe9), reg(8, 0))]);
    expect(r.console).toBe('\xff');
    expect(r.world.vmm.refusals.some((x) => x.includes('0x60'))).toBe(true);
  });
});

describe('[VMM.EXIT.1] [VMM.EXIT.6] virtual IF', () => {
  it('STI sets the IF the guest runs with; IOPL stays 0', () => {
    const r = run([insn('sti'), ...putc('x')]);
    expect(r.world.machine.eflags & 0x200).toBe(0x200);
    expect(r.world.machine.eflags & 0x3000).toBe(0);
    expect(r.world.vmm.exits['emulate sti']).toBe(1);
  });
  it('CLI clears it again', () => {
    const r = run([insn('sti'), insn('cli'), ...putc('x')]);
    expect(r.world.machine.eflags & 0x200).toBe(0);
  });
});

describe('[VMM.EXIT.2] [VMM.EXIT.3] [VMM.IRQ.1] virtual registers', () => {
  it('CR3 is virtual: the guest reads back what it wrote, the real CR3 is the shadow', () => {
    const r = run([insn('mov', reg(32, 1), imm(32, 0x5000)), insn('mov', { kind: 'creg', reg: 3 }, reg(32, 1)), insn('mov', reg(32, 2), { kind: 'creg', reg: 3 })]);
    expect(r.world.machine.regs[2]).toBe(0x5000);
    expect(r.world.vmm.vcpu.cr3).toBe(0x5000);
    expect(r.world.machine.cr3).toBe(frameMachine(DEFAULT_CONFIG, Frame.shadowDirectory));
  });
  it('LGDT loads the virtual GDTR; LIDT at entry loaded the virtual IDTR; vectors below 32 stay the monitor\'s', () => {
    const r = run([{ ...insn('lgdt', { kind: 'mem', size: 48, base: null, index: null, scale: 1, disp: GDT + 0x800 }) }]);
    expect(r.world.vmm.vcpu.gdtr).toEqual({ base: GDT, limit: 255 });
    expect(r.world.vmm.vcpu.idtr.limit).toBe(0x21 * 8 - 1);
    expect(IDT_PTR).toBeGreaterThan(0);
    const high = readPhysical(r.world.machine.memory, frameMachine(DEFAULT_CONFIG, Frame.idt) + 8 * 14 + 4, 4);
    expect((high >>> 13) & 3).toBe(0);
  });
});

describe('[VMM.EXIT.4] [VMM.REFLECT.1] [VMM.REFLECT.2] halting and reflection', () => {
  it('HLT with interrupts off sleeps for good, as natively', () => {
    expect(run([insn('hlt')]).end).toBe('halted for good');
  });
  it('INT 3 reaches the guest\'s own handler (gate DPL 1 >= CPL 1), which resumes the program', () => {
    const r = run([insn('int3'), ...putc('k')]);
    expect(r.console).toBe('k');
    expect(r.world.vmm.exits['INT 3']).toBe(1);
  });
  it('INT n beyond the guest\'s IDT faults #GP in the guest, whose handler resumes the program (SDM vol. 3, 6.12.1.1)', () => {
    const r = run([insn('int', imm(8, 0x40)), ...putc('n')]);
    expect(r.console).toBe('n');
    expect(r.world.vmm.stopped).toBeNull();
  });
});
