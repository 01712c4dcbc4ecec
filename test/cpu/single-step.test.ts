// The single-step trap (spec/exceptions.md EXC.STEP.*), worked by hand from
// the manual on one program run by the model, by impl's interpreter and by
// impl's runner (which must not run translated blocks while TF is set), and
// random hot loops started with TF set run by blocks and by single steps.
// About 1 s.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assembleText } from '../../model/isa/asm/assemble';
import type { Machine } from '../../model/machine';
import { createModelMachine } from '../../properties/machines/model';
import { ImplMachine } from '../../impl/machine';
import { propertyParams } from '../../properties/seed';
import { bareMachineOn, CODE, dword, IDT, readDword, SEL } from '../impl/harness';
import { compareLoop, trapCaseArb } from '../impl/block-loops';

const TF = 0x100;
const COUNT = 0x6000, LOG = 0x6004, FLAGS = 0x6100, UDS = 0x6200, INT_PUSHED = 0x6204, INT_OWN = 0x6208;

// Main code uses EAX and EBX only; the handlers use EDX and EBP.
const SOURCE = `bits 32
org ${CODE}
start:
  pushfd
  or dword [esp], 0x100
  popfd                 ; sets TF: no trap after it
a1: nop                 ; trap, EIP a2
a2: inc eax             ; trap, EIP a3
a3: jmp short a5        ; trap, EIP a5 (the target)
a4: hlt
a5: ud2                 ; #UD, no single-step trap
a6: int 0x1d            ; no trap for INT n; its handler returns with TF set
a7: nop                 ; trap, EIP a8
a8: pushfd              ; trap, EIP a9
a9: and dword [esp], ~0x100 ; trap, EIP a10
a10: popfd              ; clears TF, but TF was set at its start: trap, EIP a11
a11: nop                ; no trap
  pushfd                ; an IRET frame with TF set
  or dword [esp], 0x100
  push dword ${SEL.code0}
  push dword b1
  iretd                 ; TF clear at its start: no trap
b1: hlt                 ; trap, EIP b2: the trap ends the halt (EXC.STEP.4)
b2: pushfd              ; trap, EIP b3
b3: and dword [esp], ~0x100 ; trap, EIP b4
b4: popfd               ; trap, EIP c1
c1: hlt

times 0x200-($-$$) db 0
debug_handler:
  mov edx, [${COUNT}]
  mov ebp, [esp]
  mov [${LOG} + edx*4], ebp
  mov ebp, [esp+8]
  mov [${FLAGS} + edx*4], ebp
  inc dword [${COUNT}]
  iretd
times 0x280-($-$$) db 0
ud_handler:
  add dword [esp], 2
  inc dword [${UDS}]
  iretd
times 0x300-($-$$) db 0
int_handler:
  mov ebp, [esp+8]
  mov [${INT_PUSHED}], ebp
  pushfd
  pop ebp
  mov [${INT_OWN}], ebp
  iretd
`;

function program(): { bytes: Uint8Array; at: (label: string) => number } {
  const r = assembleText({ 'step.asm': SOURCE }, 'step.asm', { format: 'bin' });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => e.message).join('; '));
  return { bytes: r.bytes, at: (label) => { const v = r.symbols.get(label); if (v === undefined) throw new Error(label); return v; } };
}

function gate(m: Machine, vector: number, handler: number): void {
  dword(m, IDT + 8 * vector, (SEL.code0 << 16) | (handler & 0xffff));
  dword(m, IDT + 8 * vector + 4, ((handler & 0xffff0000) | 0x8e00) >>> 0);
}

function prepared<M extends Machine>(m: M, bytes: Uint8Array): M {
  bareMachineOn(m, bytes);
  gate(m, 1, CODE + 0x200);
  gate(m, 6, CODE + 0x280);
  gate(m, 0x1d, CODE + 0x300);
  return m;
}

function runToHalt(m: Machine, drive: (m: Machine) => ReturnType<Machine['step']>): Array<ReturnType<Machine['step']>> {
  const events = [];
  for (let i = 0; i < 500; i++) {
    const e = drive(m);
    if (e.kind !== 'retired') events.push(e);
    if (e.kind === 'halted' || e.kind === 'shutdown' || e.kind === 'model-error') return events;
  }
  throw new Error('did not halt');
}

describe('[EXC.STEP.1] [EXC.STEP.2] [EXC.STEP.4] the single-step trap on the hand-worked program', () => {
  const { bytes, at } = program();
  const machines: Array<[string, () => Machine, (m: Machine) => ReturnType<Machine['step']>]> = [
    ['model', () => prepared(createModelMachine(4 << 20), bytes), (m) => m.step()],
    ['impl step()', () => prepared(new ImplMachine(4 << 20), bytes), (m) => m.step()],
    ['impl run()', () => {
      const m = prepared(new ImplMachine(4 << 20), bytes);
      m.cpu.blockThresholds = { loop: 1, straight: 1 };
      return m;
    }, (m) => (m as ImplMachine).run(50)],
  ];

  it('the first trapped instruction is where the hand count puts it', () => {
    // pushfd (1 byte), or dword [esp], imm32 (81 0C 24 + 4), popfd (1).
    expect(at('a1')).toBe(CODE + 9);
  });

  for (const [name, make, drive] of machines) {
    it(`${name}: a trap after each instruction that started with TF set, with the next EIP`, () => {
      const m = make();
      const events = runToHalt(m, drive);
      const count = readDword(m, COUNT);
      const log = Array.from({ length: count }, (_, i) => readDword(m, LOG + 4 * i));
      // Not after the POPF that set TF, the #UD, INT n, or the IRET that set
      // TF; after the POPFs that cleared it.
      expect(log).toEqual(['a2', 'a3', 'a5', 'a8', 'a9', 'a10', 'a11', 'b2', 'b3', 'b4', 'c1'].map(at));
      // Each #DB frame holds EFLAGS as the instruction left it: TF set, but
      // clear after the two POPFs that cleared it (so the handler's IRET ends
      // the stepping).
      const pushedTf = Array.from({ length: count }, (_, i) => (readDword(m, FLAGS + 4 * i) & TF) !== 0);
      expect(pushedTf).toEqual([true, true, true, true, true, true, false, true, true, true, false]);
      expect(readDword(m, UDS)).toBe(1);
      // INT n pushed TF set and entered its handler with TF clear.
      expect(readDword(m, INT_PUSHED) & TF).toBe(TF);
      expect(readDword(m, INT_OWN) & TF).toBe(0);
      // DR6.BS is set; the machine halted at c1 with TF clear.
      expect(m.state().debug?.dr6).toBe(0xffff4ff0);
      expect(m.state().eip).toBe((at('c1') + 1) >>> 0);
      expect(m.state().eflags & TF).toBe(0);
      const vectors = events.filter((e) => e.kind === 'exception').map((e) => (e as { vector: number }).vector);
      if (name !== 'impl run()') expect(vectors).toEqual([1, 1, 1, 6, 0x1d, 1, 1, 1, 1, 1, 1, 1, 1]);
    });
  }
});

// EXC.STEP.3: IRQ 0 is pending (the PIT fires every other instruction) when
// an STI with TF set retires: the #DB trap goes first, through a trap gate
// (IF stays 1), and its delivery ends STI's shadow, so the interrupt is taken
// before the #DB handler's first instruction.
const IRQ_EIP = 0x6300, IRQ_UNDER = 0x6304;
const PRIORITY_SOURCE = `bits 32
org ${CODE}
  mov al, 0x11
  out 0x20, al
  mov al, 0x20          ; master PIC: vectors 0x20..0x27
  out 0x21, al
  mov al, 4
  out 0x21, al
  mov al, 1
  out 0x21, al
  mov al, 0xfe          ; IRQ 0 only
  out 0x21, al
  mov al, 0x34          ; PIT channel 0, rate generator, count 2
  out 0x43, al
  mov al, 2
  out 0x40, al
  xor al, al
  out 0x40, al
  nop
  nop
  pushfd
  or dword [esp], 0x100
  popfd                 ; TF set, IF still clear
  nop                   ; trap (IF clear: the interrupt waits)
  sti                   ; trap: #DB first, then IRQ 0
after_sti:
  hlt

times 0x200-($-$$) db 0
debug_handler:
  inc dword [${COUNT}]
  iretd
times 0x300-($-$$) db 0
irq_handler:
  mov ebp, [esp]
  mov [${IRQ_EIP}], ebp
  mov ebp, [esp+12]
  mov [${IRQ_UNDER}], ebp
  hlt
`;

describe('[EXC.STEP.3] the single-step trap before a pending interrupt, after STI', () => {
  const r = assembleText({ 'priority.asm': PRIORITY_SOURCE }, 'priority.asm', { format: 'bin' });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => e.message).join('; '));
  const at = (label: string): number => r.symbols.get(label)!;
  const makers: Array<[string, () => Machine]> = [['model', () => createModelMachine(4 << 20)], ['impl', () => new ImplMachine(4 << 20)]];
  for (const [name, make] of makers) {
    it(`${name}: #DB delivered, then IRQ 0 before the handler's first instruction`, () => {
      const m = bareMachineOn(make(), r.bytes);
      dword(m, IDT + 8, (SEL.code0 << 16) | ((CODE + 0x200) & 0xffff));
      dword(m, IDT + 12, (((CODE + 0x200) & 0xffff0000) | 0x8f00) >>> 0); // trap gate
      gate(m, 0x20, CODE + 0x300);
      m.setState({ ...m.state(), idtr: { base: IDT, limit: 8 * 0x21 - 1 } });
      const events = runToHalt(m, (x) => x.step());
      const summary = events.map((e) => (e.kind === 'exception' || e.kind === 'interrupt' ? `${e.kind} ${e.vector}` : e.kind));
      expect(summary).toEqual(['exception 1', 'exception 1', 'interrupt 32', 'halted']);
      expect(readDword(m, IRQ_EIP)).toBe(CODE + 0x200);
      expect(readDword(m, IRQ_UNDER)).toBe(at('after_sti'));
      // The first #DB (after the NOP) ran its handler; the second did not get to.
      expect(readDword(m, COUNT)).toBe(1);
    });
  }
});

describe('hot loops started with TF set (impl/run.ts takes no block)', () => {
  it('run() agrees with step() and runs no translated block', () => {
    const cases = fc.sample(trapCaseArb, { ...propertyParams(20), numRuns: 20 });
    const results = cases.map((c) => compareLoop(c));
    expect(results.map((r) => r.difference)).toEqual(cases.map(() => null));
    expect(results.some((r) => r.translated)).toBe(false);
  });
});
