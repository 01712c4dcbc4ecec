// MOV to and from the debug registers on both machines, expected values from
// the Intel SDM (vol. 3B §17.2: DR6 and DR7 layouts and reserved bits; vol.
// 2B MOV—Move to/from Debug Registers: CPL 0 only, DR4/DR5 alias DR6/DR7
// while CR4.DE = 0). Encodings from nasm (`mov dr6, eax` = 0F 23 F0, ...).
import { describe, expect, it } from 'vitest';
import { createMachine, flatEntryState, MACHINE_KINDS } from '../../properties/machines';
import { decode } from '../../model/isa/decoder';
import { disassemble } from '../../model/isa/disassembler';
import { assembleText } from '../../model/isa/asm/assemble';
import { execute } from '../../model/cpu/execute';
import { systemState } from '../../properties/builders';
import { insn, reg32 } from './insn';

const CODE = 0x1000;
const MOVS = [
  0xb8, 0xff, 0xff, 0xff, 0xff, // mov eax, 0xffffffff
  0x0f, 0x23, 0xf0, // mov dr6, eax
  0x0f, 0x21, 0xf3, // mov ebx, dr6
  0x0f, 0x21, 0xe1, // mov ecx, dr4  (DR6 again)
  0x31, 0xc0, // xor eax, eax
  0x0f, 0x23, 0xf8, // mov dr7, eax
  0x0f, 0x21, 0xfa, // mov edx, dr7
  0xb8, 0x78, 0x56, 0x34, 0x12, // mov eax, 0x12345678
  0x0f, 0x23, 0xc0, // mov dr0, eax
  0x0f, 0x21, 0xc6, // mov esi, dr0
  0x0f, 0x21, 0xef, // mov edi, dr5  (DR7 again)
];

describe.each(MACHINE_KINDS)('debug registers on %s [SYS.DR.1]', (kind) => {
  it('DR6 and DR7 show their fixed bits; DR4 and DR5 are DR6 and DR7; DR0 holds any value', () => {
    const m = createMachine(kind, 1 << 20);
    m.writePhysical(CODE, Uint8Array.from(MOVS));
    m.setState(flatEntryState(CODE, 0x8000));
    for (let i = 0; i < 11; i++) expect(m.step().kind).toBe('retired');
    const r = m.state().regs;
    // DR6 written all ones: bits 0..3, 13..15 kept, 4..11 and 16..31 one, 12 zero.
    expect(r.ebx).toBe(0xffffefff);
    expect(r.ecx).toBe(0xffffefff);
    expect(r.edx).toBe(0x400); // DR7 written 0: bit 10 reads 1
    expect(r.edi).toBe(0x400);
    expect(r.esi).toBe(0x12345678);
  });
  it('enabling a breakpoint in DR7 is a model error (breakpoints are not implemented)', () => {
    const m = createMachine(kind, 1 << 20);
    m.writePhysical(CODE, Uint8Array.from([0xb8, 0x01, 0, 0, 0, 0x0f, 0x23, 0xf8]));
    m.setState(flatEntryState(CODE, 0x8000));
    expect(m.step().kind).toBe('retired');
    const e = m.step();
    expect(e.kind).toBe('model-error');
    if (e.kind === 'model-error') expect(e.message).toMatch(/DR7.*breakpoints/);
  });
});

describe('MOV DRn in the model [SYS.DR.1]', () => {
  it('faults #GP(0) at CPL 3', () => {
    expect(execute(systemState({ cpl: 3 }), insn('mov', [{ kind: 'dreg', reg: 7 }, reg32(0)]), 0x10003)).toMatchObject({ vector: 13, errorCode: 0 });
  });
  it('decodes, disassembles and assembles as nasm writes it', () => {
    const d = decode(Uint8Array.from([0x0f, 0x21, 0xf3]));
    expect(d.kind === 'ok' && disassemble(d.instruction, 0)).toBe('mov ebx, dr6');
    const a = assembleText({ 'dr.asm': 'bits 32\nmov dr7, eax\nmov esi, dr0\n' }, 'dr.asm', { format: 'bin' });
    expect(a.kind === 'ok' && Array.from(a.bytes)).toEqual([0x0f, 0x23, 0xf8, 0x0f, 0x21, 0xc6]);
  });
});
