// [SEG.PROBE.1] LAR, LSL, VERR and VERW read the descriptor through paging,
// like any access to the GDT (SDM vol. 3 §4.8: the processor sets a page's
// accessed bit on any access to it, and descriptor-table accesses are linear
// accesses); that read happens whether or not the probe then refuses the
// descriptor. Found by the differential property (seed 0x6d65736f, case 470:
// "o16 str si; lar eax, esi" at CPL 3): impl set the PTE's A bit, the model
// dropped it when the probe failed.
import { describe, expect, it } from 'vitest';
import { systemState, withIdentityPaging, writeCode, readDword, pteAddress, PTE, SEL, LAYOUT } from '../../properties/builders';
import { step } from '../../model/cpu/step';

const CR3 = 0x400000;
const ACCESSED = 0x20;

function atCpl3(selector: number) {
  let s = systemState({ cpl: 3 });
  s = withIdentityPaging(s, CR3, 0, 0x30000, PTE.P | PTE.W | PTE.U);
  s = writeCode(s, LAYOUT.code, [0x0f, 0x02, 0xc6]); // lar eax, esi
  const regs = s.regs.slice();
  regs[6] = selector;
  return { ...s, regs };
}

describe('[SEG.PROBE.1] a probe that refuses the descriptor still read it', () => {
  it('lar of a DPL 0 selector at CPL 3: ZF = 0, EAX unchanged, and the GDT page is marked accessed', () => {
    const s = atCpl3(SEL.code0);
    const gdtPte = pteAddress(CR3, s.gdtr.base);
    expect(readDword(s, gdtPte) & ACCESSED).toBe(0);
    const r = step(s);
    expect(r.event).toEqual({ kind: 'retired' });
    expect(r.state.eflags & 0x40).toBe(0);
    expect(r.state.regs[0]).toBe(s.regs[0]);
    expect(readDword(r.state, gdtPte) & ACCESSED).toBe(ACCESSED);
  });
});
