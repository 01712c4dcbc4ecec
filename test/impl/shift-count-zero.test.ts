// [PAGE.RMW.2] A shift or rotate of a memory operand whose count masks to 0
// is still a read-modify-write access. Expected values are worked by hand
// from the SDM (vol. 3 §4.7 page-fault error code: P = bit 0, W/R = bit 1,
// U/S = bit 2; §4.6 with CR0.WP = 1 a supervisor write to a read-only page
// faults; §4.8 a write sets the dirty bit) and from the host CPU, which
// faults on `shl dword [ro], cl` with CL = 0
// (properties/diff/evidence/shift-count-zero-write.c).
import { describe, expect, it } from 'vitest';
import { oracleAvailable } from '../../properties/tools';
import { PAGE_TABLE, SEL, assemble, bareMachine, dword, handlerFor, readDword, runToHalt } from './harness';

const DATA = 0x5000;
const WP = 1 << 16;
const ACCESSED = 0x20, DIRTY = 0x40;

/** A machine with paging, CR0.WP set and the page at DATA present but read-only. */
function readOnlyPage(source: string) {
  const m = bareMachine(assemble(source), { paging: true });
  dword(m, PAGE_TABLE + 4 * (DATA >>> 12), DATA | 0x5); // present, user, read-only
  m.setState({ ...m.state(), cr0: (m.state().cr0 | WP) >>> 0 });
  return m;
}

describe.runIf(oracleAvailable('nasm'))('impl: a shift by zero is still a write [PAGE.RMW.2]', () => {
  for (const [name, source] of [
    ['shr byte [ro], 0', `shr byte [${DATA}], 0\nhlt`],
    ['shl dword [ro], cl (cl = 0)', `xor ecx, ecx\nshl dword [${DATA}], cl\nhlt`],
    ['rcr word [ro], cl (cl = 32, masks to 0)', `mov ecx, 32\nrcr word [${DATA}], cl\nhlt`],
    ['shrd [ro], eax, cl (cl = 0)', `xor ecx, ecx\nshrd [${DATA}], eax, cl\nhlt`],
    ['shld [ro], eax, 0', `shld [${DATA}], eax, 0\nhlt`],
  ] as const) {
    it(`${name} at CPL 0 with CR0.WP: #PF, error code 3 (present, write, supervisor)`, () => {
      const m = readOnlyPage(source);
      const events = runToHalt(m);
      expect(events).toContainEqual({ kind: 'exception', vector: 14, errorCode: 3 });
      expect(m.state().cr2).toBe(DATA);
      expect(m.state().eip).toBe(handlerFor(14) + 1);
    });
  }

  it('shl dword [rw], cl with CL = 0 sets the dirty bit, keeps the value and every flag', () => {
    const m = bareMachine(assemble(`
      mov dword [${DATA}], 0x80000001
      mov eax, cr3
      mov cr3, eax                  ; flush the TLB after clearing A/D below
      xor ecx, ecx                  ; ZF=1 PF=1, CF=0
      stc                           ; CF=1
      shl dword [${DATA}], cl
      pushfd
      pop ebx
      hlt`), { paging: true });
    // The MOV above ran before the flush; clear A and D from the step after it.
    m.step();
    dword(m, PAGE_TABLE + 4 * (DATA >>> 12), DATA | 0x7);
    const events = runToHalt(m);
    expect(events.map((e) => e.kind)).not.toContain('exception');
    expect(readDword(m, DATA)).toBe(0x80000001);
    expect(readDword(m, PAGE_TABLE + 4 * (DATA >>> 12)) & (ACCESSED | DIRTY)).toBe(ACCESSED | DIRTY);
    // after XOR: ZF, PF set, SF OF clear; STC: CF set; the shift keeps them all
    expect(m.state().regs.ebx & 0x8c5).toBe(0x45);
  });

  it('shl dword [ds:0], 0 through a read-only data segment: #GP(0)', () => {
    const m = bareMachine(assemble(`
      mov ax, ${SEL.spare}
      mov ds, ax
      shl dword [0], 0
      hlt`), { spare: [DATA, 0xfff, 0x0090 | 0x4000] }); // present, DPL 0, data, read-only, 32-bit
    const events = runToHalt(m);
    expect(events).toContainEqual({ kind: 'exception', vector: 13, errorCode: 0 });
    expect(m.state().eip).toBe(handlerFor(13) + 1);
  });
});
