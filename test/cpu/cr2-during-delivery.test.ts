// [EXC.CR2.1] CR2 holds the linear address of the most recent page fault
// the processor detected (SDM vol. 3 §6.15, interrupt 14: CR2 is loaded when
// the fault is detected, before delivery). When delivering a #PF itself
// page-faults, that second fault loads CR2, even though it turns into #DF or
// a shutdown. Found by the differential campaign (impl did this; the model
// kept the first address).
import { describe, expect, it } from 'vitest';
import { systemState, gateDescriptor, SEL, LAYOUT, writeCode, withIdentityPaging } from '../../properties/builders';
import { step } from '../../model/cpu/step';

const gate = gateDescriptor({ selector: SEL.code0, offset: 0x20000, type: 0xe, dpl: 0 });

describe('[EXC.CR2.1] a page fault during delivery loads CR2', () => {
  it('#PF whose frame cannot be pushed: CR2 = the stack address, not the first fault\'s', () => {
    // CPL 0, ESP in an unmapped page: MOV EAX, [0x00500000] faults (CR2 =
    // 0x500000); pushing its frame at 0x6FFFFC faults again (CR2 = 0x6FFFFC),
    // a #PF during #PF delivery is #DF, whose push faults too: shutdown.
    let s = systemState({ gates: { 14: gate, 8: gate } });
    s = withIdentityPaging(s, 0x400000, 0, 0x30000);
    s = writeCode(s, LAYOUT.code, [0xa1, 0x00, 0x00, 0x50, 0x00]);
    const regs = s.regs.slice();
    regs[4] = 0x00700000;
    const r = step({ ...s, regs });
    expect(r.event.kind).toBe('shutdown');
    expect(r.state.cr2).toBe(0x006ffffc);
  });
});
