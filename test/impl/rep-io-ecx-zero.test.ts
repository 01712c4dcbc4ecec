// [IO.STRING.2] REP INS/OUTS check the I/O permission before the REP count.
// Expected values from the host CPU (AMD EPYC): at CPL 3 with IOPL 0 and no
// port allowed, `rep outsb` and `rep insb` with the count register 0 raise
// #GP(0) at the string instruction (properties/diff/evidence/rep-io-ecx-zero.c);
// the SDM's ring-changing fault frame (vol. 3 §6.12.1) puts SS, ESP,
// EFLAGS, CS, EIP and the error code on the ring-0 stack, EIP topmost but one.
import { describe, expect, it } from 'vitest';
import { oracleAvailable } from '../../properties/tools';
import { CODE, STACK0, assemble, bareMachine, readDword } from './harness';

// xor ecx, ecx (2 bytes) + mov dx, 0xe9 (4 bytes): the string instruction is at CODE + 6.
const prologue = 'xor ecx, ecx\nmov dx, 0xe9\n';

describe.runIf(oracleAvailable('nasm'))('impl: REP INS/OUTS with ECX = 0 [IO.STRING.2]', () => {
  for (const instruction of ['rep outsb', 'rep insb', 'rep insd']) {
    it(`${instruction}, ECX = 0, CPL 3, IOPL 0, no bitmap: #GP(0) at the instruction`, () => {
      const m = bareMachine(assemble(`${prologue}${instruction}\njmp $`), { ring: 3 });
      m.step(); m.step();
      expect(m.step()).toEqual({ kind: 'exception', vector: 13, errorCode: 0 });
      expect(readDword(m, STACK0 - 24)).toBe(0);          // error code
      expect(readDword(m, STACK0 - 20)).toBe(CODE + 6);   // EIP of the string instruction
      expect(m.state().regs.ecx).toBe(0);
    });
  }

  it('rep outsb, ECX = 0, CPL 3 with IOPL 3: retires and moves nothing', () => {
    const m = bareMachine(assemble(`${prologue}rep outsb\njmp $`), { ring: 3, eflags: 0x3002 });
    m.step(); m.step();
    expect(m.step()).toEqual({ kind: 'retired' });
    expect(m.state().eip).toBe(CODE + 8);
    expect(m.state().regs.esi).toBe(0);
  });
});
