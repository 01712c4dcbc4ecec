// [IO.STRING.2] REP INS/OUTS check the I/O permission before the REP count.
// Evidence from outside: on the host CPU (AMD EPYC) a Linux process at CPL 3,
// IOPL 0, with no port allowed, gets #GP(0) (trap 13, error code 0) on
// `rep insb` and `rep outsb` with the count register 0, RIP on the string
// instruction (properties/diff/evidence/rep-io-ecx-zero.c). With the port
// allowed, the manual's REP pseudo-code (count tested before each element)
// gives: nothing moves, ECX/ESI/EDI unchanged, EIP at the next instruction.
import { describe, expect, it } from 'vitest';
import { systemState } from '../../properties/builders';
import { writeRegister } from '../../model/cpu/context';
import { execute } from '../../model/cpu/execute';
import type { MachineState } from '../../model/cpu/state';
import { IOPL } from '../../model/cpu/eflags';
import { consoleBytes } from '../../model/cpu/devices';
import { insn } from './insn';

const repOutsb = insn('outs', [], { rep: 'rep', elementSize: 8 });
const repInsd = insn('ins', [], { rep: 'rep', elementSize: 32 });
// Ports 0xE8..0xEF are bits of bitmap byte 0x1D; 0xFD leaves only 0xE9 allowed.
const bitmap = [...new Array(0x1d).fill(0xff), 0xfd, 0xff, 0xff];

/** ECX = 0, DX = 0xE9, ESI = EDI = 0x3000. */
const zeroCount = (s: MachineState): MachineState =>
  [[1, 0], [2, 0xe9], [6, 0x3000], [7, 0x3000]].reduce((t, [r, v]) => writeRegister(t, 32, r!, v!), s);

describe('[IO.STRING.2] REP INS/OUTS with ECX = 0 still check the I/O permission', () => {
  it('REP OUTSB, ECX = 0, CPL 3, IOPL 0, no bitmap: #GP(0)', () => {
    expect(execute(zeroCount(systemState({ cpl: 3 })), repOutsb, 0x10002)).toEqual({ kind: 'fault', vector: 13, errorCode: 0, rule: 'IO.PERM.1' });
  });

  it('REP INSD, ECX = 0, CPL 3, the bitmap allows only one byte of the four: #GP(0)', () => {
    expect(execute(zeroCount(systemState({ cpl: 3, ioBitmap: bitmap })), repInsd, 0x10002)).toMatchObject({ vector: 13, errorCode: 0 });
  });

  it('REP OUTSB, ECX = 0, port allowed by the bitmap: retires, nothing written, registers unchanged', () => {
    const before = zeroCount(systemState({ cpl: 3, ioBitmap: bitmap }));
    const r = execute(before, repOutsb, 0x10002);
    if (r.kind !== 'ok') throw new Error(`expected ok, got ${r.kind}`);
    expect(r.state.eip).toBe(0x10002);
    expect(r.state.regs).toEqual(before.regs);
    expect(Array.from(consoleBytes(r.state.devices.console))).toEqual([]);
  });

  it('REP OUTSB, ECX = 0, CPL 3 with IOPL 3: retires without consulting the bitmap', () => {
    const r = execute(zeroCount(systemState({ cpl: 3, eflags: 0x2 | IOPL })), repOutsb, 0x10002);
    expect(r.kind).toBe('ok');
  });
});
