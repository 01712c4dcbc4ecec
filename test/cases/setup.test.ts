// The case machine's tables against well-known descriptor values: a flat
// 4 GiB ring-3 code segment is 0x00cffa00_0000ffff and ring-3 data
// 0x00cff200_0000ffff (as in every flat-model OS's GDT); a 32-bit interrupt
// gate's type byte is 0x8e at DPL 0 and 0xee at DPL 3.
import { describe, expect, it } from 'vitest';
import { buildCaseMachine, SYSTEM_BASE } from '../../properties/cases/setup';
import type { CpuCase } from '../../properties/cases/codec';

const regs = { eax: 0, ecx: 0, edx: 0, ebx: 0, esp: 0x2000f000, ebp: 0, esi: 0, edi: 0, eip: 0x10000000, eflags: 0x202 };
const c: CpuCase = {
  name: 't', code: '90', codeAddr: 0x10000000, init: { regs, mem: [{ addr: 0x20000000, hex: '11' }] },
  final: { regs, mem: [{ addr: 0x20000000, hex: '11' }] }, fault: null, undefinedFlags: 0,
};

describe('case machine layout', () => {
  const image = buildCaseMachine(c);
  const system = new DataView(image.writes[0]!.bytes.buffer);
  const dword = (physical: number): number => system.getUint32(physical, true);

  it('has flat ring-3 code and data descriptors with the usual bytes', () => {
    const gdt = image.state.gdtr.base - SYSTEM_BASE;
    // The accessed bit (type bit 0, 0x100 in the high dword) is preset, so a
    // segment load never writes the GDT: hence fb/f3 rather than fa/f2.
    expect([dword(gdt + 0x18), dword(gdt + 0x1c)]).toEqual([0x0000ffff, 0x00cffa00 | 0x100]);
    expect([dword(gdt + 0x20), dword(gdt + 0x24)]).toEqual([0x0000ffff, 0x00cff200 | 0x100]);
    expect(image.state.segments.cs.selector).toBe(0x1b);
    expect(image.state.segments.cs.attributes).toBe(0xc0fb);
  });

  it('lets INT3 and INTO through from CPL 3 and no other vector', () => {
    const idt = image.state.idtr.base - SYSTEM_BASE;
    const typeByte = (v: number): number => (dword(idt + 8 * v + 4) >>> 8) & 0xff;
    expect([0, 3, 4, 13, 14].map(typeByte)).toEqual([0x8e, 0xee, 0xee, 0x8e, 0x8e]);
  });

  it('maps the code page user read-only and the data page user writable', () => {
    const pd = image.state.cr3;
    const pde = dword(pd + 4 * (0x10000000 >>> 22));
    const table = (pde & ~0xfff) >>> 0;
    expect(pde & 0x7).toBe(0x7);
    expect(dword(table + 4 * ((0x10000000 >>> 12) & 0x3ff)) & 0x7).toBe(0x5);
    const dataTable = (dword(pd + 4 * (0x20000000 >>> 22)) & ~0xfff) >>> 0;
    expect(dword(dataTable + 4 * ((0x20000000 >>> 12) & 0x3ff)) & 0x7).toBe(0x7);
    expect(dword(pd + 4 * (0x30000000 >>> 22))).toBe(0);
  });
});
