// The host-CPU generator against values worked out by hand from the Intel
// manual (not from the generator or the model): if the harness, the 64-bit
// re-encoding or the address mapping were wrong, these would differ.
import { describe, expect, it } from 'vitest';
import { runCaseSources } from '../../properties/oracles/hostcpu/generate';
import { canBuildHarness } from '../../properties/oracles/hostcpu/harness';
import { AF, CF, CODE_ADDR, DATA_ADDR, DF, DST_ADDR, OF, PF, SF, UNMAPPED_ADDR, ZF, type CaseSource } from '../../properties/oracles/hostcpu/template';
import { oracleAvailable } from '../../properties/tools';

const IF_AND_BIT1 = 0x202;
const RF = 0x10000;

function source(lines: string[], regs: CaseSource['regs'], eflags = 0, undefinedFlags = 0): CaseSource {
  return { title: lines.join('; '), lines, regs, eflags, mem: [{ addr: DATA_ADDR, bytes: new Uint8Array(64) }, { addr: DST_ADDR, bytes: new Uint8Array(64) }], undefinedFlags };
}

const available = oracleAvailable('gcc') && oracleAvailable('nasm') && canBuildHarness();

describe.runIf(available)('host CPU generator, hand-worked results', () => {
  const hand = [
    // 0xffffffff + 1 = 0 with carry out of bit 31 and of bit 3; 0 has even parity.
    { src: source(['add eax, ebx'], { eax: 0xffffffff, ebx: 1 }), eax: 0, flags: CF | PF | AF | ZF, eip: CODE_ADDR + 2 },
    // 0 - 1 = 0xffffffff: borrow (CF), borrow from bit 4 (AF), sign, 8 ones in the low byte (PF).
    { src: source(['sub eax, ebx'], { eax: 0, ebx: 1 }), eax: 0xffffffff, flags: CF | PF | AF | SF, eip: CODE_ADDR + 2 },
    // 0x7f + 1 = 0x80 in AL: signed overflow, sign, AF; 0x80 has one bit set (odd: PF clear).
    { src: source(['add al, bl'], { eax: 0x7f, ebx: 1 }), eax: 0x80, flags: OF | SF | AF, eip: CODE_ADDR + 2 },
    // SHL by 1 of 0x80000000: CF = bit out = 1, result 0, OF = MSB(result) xor CF = 1. AF undefined.
    { src: source(['shl eax, 1'], { eax: 0x80000000 }, 0, AF), eax: 0, flags: CF | PF | ZF | OF, eip: CODE_ADDR + 2 },
    // MUL: 0x80000000 * 2 = 0x1_00000000: EDX = 1, EAX = 0, CF = OF = 1 (upper half nonzero).
    { src: source(['mul ecx'], { eax: 0x80000000, ecx: 2 }, 0, SF | ZF | AF | PF), eax: 0, edx: 1, flags: CF | OF, eip: CODE_ADDR + 2 },
    // INC leaves CF alone: CF set before stays set; 0xffffffff + 1 = 0 sets ZF, AF, PF.
    { src: source(['inc eax'], { eax: 0xffffffff }, CF), eax: 0, flags: CF | ZF | AF | PF, eip: CODE_ADDR + 1 },
    // JECXZ with ECX = 0 jumps over the INC.
    { src: source(['jecxz .z', 'inc eax', '.z:', 'nop'], { eax: 5, ecx: 0 }), eax: 5, flags: 0, eip: CODE_ADDR + 4 },
  ];
  it.each(hand.map((h, i) => [i, h] as const))('case %i: %s', (_, h) => {
    const { cases, dropped } = runCaseSources([{ name: h.src.title, source: h.src }]);
    expect(dropped).toEqual([]);
    const c = cases[0]!;
    expect(c.fault).toBeNull();
    expect(c.final.regs.eax).toBe(h.eax);
    if ('edx' in h) expect(c.final.regs.edx).toBe(h.edx);
    expect(c.final.regs.eip).toBe(h.eip);
    expect(c.final.regs.eflags & ~h.src.undefinedFlags).toBe((IF_AND_BIT1 | h.flags) & ~h.src.undefinedFlags);
  });

  it('REP STOSB with DF=1 stores downwards and leaves ECX 0', () => {
    const src = source(['a32 rep stosb'], { eax: 0xab, ecx: 3, edi: DST_ADDR + 24 }, DF);
    const c = runCaseSources([{ name: 'stosb', source: src }]).cases[0]!;
    expect(c.final.regs.ecx).toBe(0);
    expect(c.final.regs.edi).toBe(DST_ADDR + 21);
    expect(c.final.mem[1]!.hex.slice(2 * 22, 2 * 25)).toBe('ababab');
    expect(c.final.mem[1]!.hex.slice(2 * 25, 2 * 26)).toBe('00');
  });

  const faults = [
    // #DE is a fault: EIP stays on the DIV; no error code.
    { src: source(['div ecx'], { ecx: 0 }), fault: { vector: 0, errorCode: null, cr2: null }, eip: CODE_ADDR },
    { src: source(['ud2'], {}), fault: { vector: 6, errorCode: null, cr2: null }, eip: CODE_ADDR },
    // INT3 is a trap: the pushed EIP is the next instruction.
    { src: source(['nop', 'int3'], {}), fault: { vector: 3, errorCode: null, cr2: null }, eip: CODE_ADDR + 2 },
    // Privileged at CPL 3: #GP(0).
    { src: source(['hlt'], {}), fault: { vector: 13, errorCode: 0, cr2: null }, eip: CODE_ADDR },
    { src: source(['out dx, al'], { edx: 0x80 }), fault: { vector: 13, errorCode: 0, cr2: null }, eip: CODE_ADDR },
    // #PF error code: bit 0 P, bit 1 W, bit 2 U/S. A user read of a not-present page is 4.
    { src: source(['mov eax, [0x30000000]'], {}), fault: { vector: 14, errorCode: 4, cr2: UNMAPPED_ADDR }, eip: CODE_ADDR },
    { src: source(['nop', 'mov [0x30000008], eax'], {}), fault: { vector: 14, errorCode: 6, cr2: UNMAPPED_ADDR + 8 }, eip: CODE_ADDR + 1 },
    // A user write to the present, read-only code page: P | W | U = 7.
    { src: source(['mov [0x10000800], eax'], {}), fault: { vector: 14, errorCode: 7, cr2: CODE_ADDR + 0x800 }, eip: CODE_ADDR },
  ];
  it.each(faults.map((f) => [f.src.title, f] as const))('fault: %s', (_, f) => {
    const { cases, dropped } = runCaseSources([{ name: f.src.title, source: f.src }]);
    expect(dropped).toEqual([]);
    const c = cases[0]!;
    expect(c.fault).toEqual(f.fault);
    expect(c.final.regs.eip).toBe(f.eip);
    // Flags are unchanged by the faulting instruction (RF aside, see known.ts).
    expect(c.final.regs.eflags & ~RF).toBe(IF_AND_BIT1);
  });
});
