// [SEG.ACCESSED.1] A CS load by far RET or IRET sets the accessed bit (type
// bit 0, i.e. bit 8 of the descriptor's high dword) in the GDT, as every
// other segment load does: SDM Vol. 3A 3.4.5.1 says the processor sets it
// whenever it loads the selector into a segment register. Found by the
// conformance suite (sensitive kernel, LAR of the ring 1 and ring 3 code
// selectors after IRET entered those rings); Bochs agrees with the manual.
import { describe, expect, it } from 'vitest';
import { oracleAvailable } from '../../properties/tools';
import { CODE, GDT, SEL, assemble, bareMachine, readDword, runToHalt } from './harness';

const ACCESSED = 0x100;
const highOf = (selector: number): number => GDT + (selector & 0xfff8) + 4;

describe.runIf(oracleAvailable('nasm'))('impl: accessed bit on CS loads [SEG.ACCESSED.1]', () => {
  it('far RET to the same ring marks the code descriptor', () => {
    const m = bareMachine(assemble(`
      push dword ${SEL.code0}
      push dword back
      retf
    back:
      hlt`));
    expect(readDword(m, highOf(SEL.code0)) & ACCESSED).toBe(0);
    const events = runToHalt(m);
    expect(events.map((e) => e.kind)).not.toContain('exception');
    expect(m.state().eip).toBe(CODE + 9); // push imm8 (2) + push imm32 (5) + retf (1) + hlt (1)
    expect(readDword(m, highOf(SEL.code0)) & ACCESSED).toBe(ACCESSED);
  });

  it('IRET to ring 3 marks the ring 3 code descriptor (and the stack one)', () => {
    const m = bareMachine(assemble(`
      push dword ${SEL.data3}
      push dword 0x7000
      push dword 2
      push dword ${SEL.code3}
      push dword user
      iretd
    user:
      jmp user`));
    expect(readDword(m, highOf(SEL.code3)) & ACCESSED).toBe(0);
    for (let i = 0; i < 8; i++) m.step();
    expect(m.state().segments.cs.selector).toBe(SEL.code3);
    expect(readDword(m, highOf(SEL.code3)) & ACCESSED).toBe(ACCESSED);
    expect(readDword(m, highOf(SEL.data3)) & ACCESSED).toBe(ACCESSED);
  });
});
