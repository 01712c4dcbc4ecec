// Hand-worked examples for the pure arithmetic, above all the decimal
// adjustments (the host oracle cannot run them: they do not exist in 64-bit
// mode), and the check that the model's flag masks stay inside the opcode
// map's static masks.
import { describe, expect, it } from 'vitest';
import type { OperandSize } from '../../model/isa/ast';
import { instructionInfo } from '../../model/isa/instruction-info';
import { binaryOperations, unaryOperations } from '../../model/cpu/arith/alu';
import { aaa, aad, aam, aas, daa, das } from '../../model/cpu/arith/bcd';
import { bitTest, bsf, bsr } from '../../model/cpu/arith/bits';
import { AF, CF, OF, PF, SF, STATUS_FLAGS, ZF, type ArithResult } from '../../model/cpu/arith/flags';
import { div, idiv, imul, mul } from '../../model/cpu/arith/muldiv';
import { rcl, rcr, shiftOperations, shld, shrd } from '../../model/cpu/arith/shifts';

const defined = (r: ArithResult) => r.flags & STATUS_FLAGS & ~r.undefined;

describe('decimal adjustments, worked by hand', () => {
  it('[INS.BCD.1] 79 + 35 = 114: add gives AL = 0xAE, DAA gives 0x14 with CF', () => {
    // 0xAE: low digit E > 9, so +6 → 0xB4, AF = 1; 0xAE > 0x99, so +0x60 → 0x14, CF = 1.
    const r = daa(0x00ae, 0);
    expect(r.result & 0xff).toBe(0x14);
    expect(defined(r) & (CF | AF | ZF | SF)).toBe(CF | AF);
    expect(r.undefined).toBe(OF);
    // 0x14 = 0001_0100: two ones, PF = 1.
    expect(defined(r) & PF).toBe(PF);
  });

  it('[INS.BCD.1] 19 + 28 = 47: add gives 0x41 with AF, DAA gives 0x47 and clears CF', () => {
    const r = daa(0x0041, AF);
    expect(r.result & 0xff).toBe(0x47);
    expect(defined(r) & (CF | AF)).toBe(AF);
  });

  it('[INS.BCD.2] 35 − 47: sub gives AL = 0xEE with CF and AF, DAS gives 0x88 with CF', () => {
    // 0xEE − 6 = 0xE8 (AF = 1, CF = old CF 1); old AL > 0x99 → − 0x60 = 0x88, CF = 1.
    const r = das(0x00ee, CF | AF);
    expect(r.result & 0xff).toBe(0x88);
    expect(defined(r) & (CF | AF | SF)).toBe(CF | AF | SF);
  });

  it('[INS.BCD.3] AAA after "8" + "5" (0x38 + 0x35 = 0x6D) gives AH = 1, AL = 3', () => {
    const r = aaa(0x006d, 0);
    expect(r.result).toBe(0x0103);
    expect(defined(r) & (CF | AF)).toBe(CF | AF);
    expect(r.undefined).toBe(OF | SF | ZF | PF);
  });

  it('[INS.BCD.3] AAA adds 0x106 to AX, so AL = 0xFA carries into AH twice', () => {
    // AX = 0x00FA: 0xFA + 0x106 = 0x0200 → AL = 0x00 & 0x0F = 0, AH = 2.
    expect(aaa(0x00fa, 0).result).toBe(0x0200);
    // No adjustment: AL = 0x35 with AF = 0 just loses its high digit.
    const r = aaa(0x0135, 0);
    expect(r.result).toBe(0x0105);
    expect(defined(r) & (CF | AF)).toBe(0);
  });

  it('[INS.BCD.3] AAS after "3" − "5" (AL = 0xFE, AF) gives AH = 0xFF, AL = 8', () => {
    // AX − 6 = 0x00F8, AH − 1 = 0xFF, AL & 0x0F = 8.
    const r = aas(0x00fe, AF | CF);
    expect(r.result).toBe(0xff08);
    expect(defined(r) & (CF | AF)).toBe(CF | AF);
  });

  it('[INS.BCD.4] AAM 10 of 63 and AAD 10 of 0x0607; AAM 0 is a divide error', () => {
    const m = aam(0x003f, 10, 0);
    expect(m.kind === 'ok' && m.result).toBe(0x0603);
    expect(m.kind === 'ok' && defined(m) & (PF | ZF | SF)).toBe(PF); // AL = 3: two ones
    expect(aam(0x003f, 0, 0)).toEqual({ kind: 'divide-error' });
    const d = aad(0x0607, 10, 0);
    expect(d.result).toBe(0x0043); // 6·10 + 7 = 67; 0x43 has three ones: PF = 0
    expect(defined(d) & PF).toBe(0);
    expect(aad(0x0207, 16, 0).result).toBe(0x0027); // base 16: 2·16 + 7
  });
});

describe('shift corners, worked by hand', () => {
  it('[INS.SHIFT.4] rcl of a byte by 9 is a full turn through CF: nothing changes', () => {
    const r = rcl(8, 0x81, 9, CF);
    expect(r.result).toBe(0x81);
    expect(r.flags & CF).toBe(CF);
  });

  it('[INS.SHIFT.4] rcr of a word by 1 moves CF into the top bit', () => {
    const r = rcr(16, 0x0001, 1, CF);
    expect(r.result).toBe(0x8000);
    expect(r.flags & (CF | OF)).toBe(CF | OF); // old bit 0 → CF; top two bits 1,0 differ → OF
  });

  it('[INS.SHIFT.6] [INS.SHIFT.7] shld/shrd of a word by 16 yields the source; above 16 the result is flagged undefined', () => {
    expect(shld(16, 0x1234, 0xabcd, 16, 0).result).toBe(0xabcd);
    expect(shrd(16, 0x1234, 0xabcd, 16, 0).result).toBe(0xabcd);
    const r = shld(16, 0x1234, 0xabcd, 20, 0);
    expect(r.resultUndefined).toBe(true);
    expect(r.undefined).toBe(STATUS_FLAGS);
  });
});

describe('the model\'s flag masks stay inside the opcode map', () => {
  const SIZES: readonly OperandSize[] = [8, 16, 32];
  const VALUES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];
  const COUNTS = [0, 1, 2, 7, 8, 9, 16, 17, 31, 32, 33];

  /** A model result whose masks exceed the static ones, described. */
  function escapes(mnemonic: string, r: { written: number; undefined: number }): string | null {
    const info = instructionInfo(mnemonic);
    const extraWritten = r.written & ~info.flagsWritten;
    const extraUndefined = r.undefined & ~info.flagsUndefined;
    return extraWritten || extraUndefined ? `${mnemonic}: written +${extraWritten.toString(16)} undefined +${extraUndefined.toString(16)}` : null;
  }

  it('[INS.ALU.1] [INS.ALU.3] [INS.MUL.2] [INS.DIV.2] [INS.BIT.1] [INS.BIT.3] [INS.BCD.1] every operation, sizes and edge values', () => {
    const problems = new Set<string>();
    const note = (m: string, r: { written: number; undefined: number }) => { const e = escapes(m, r); if (e) problems.add(e); };
    for (const size of SIZES) for (const a of VALUES) for (const b of VALUES) {
      for (const [m, f] of Object.entries(binaryOperations)) note(m, f(size, a, b, 0));
      for (const [m, f] of Object.entries(unaryOperations)) note(m, f(size, a, 0));
      note('mul', mul(size, a, b, 0));
      note('imul', imul(size, a, b, 0));
      for (const [m, f] of [['div', div], ['idiv', idiv]] as const) { const q = f(size, a, 0, b, 0); if (q.kind === 'ok') note(m, q); }
      if (size !== 8) {
        for (const m of ['bt', 'bts', 'btr', 'btc'] as const) note(m, bitTest(m, size, a, b, 0));
        note('bsf', bsf(size, a, b, 0));
        note('bsr', bsr(size, a, b, 0));
      }
    }
    for (const ax of [0, 0x0f, 0x9a, 0xff, 0x1234]) for (const f of [0, AF, CF, AF | CF]) {
      note('daa', daa(ax, f)); note('das', das(ax, f)); note('aaa', aaa(ax, f)); note('aas', aas(ax, f));
      note('aad', aad(ax, 10, f));
      const m = aam(ax, 10, f);
      if (m.kind === 'ok') note('aam', m);
    }
    expect([...problems]).toEqual([]);
  });

  it('[INS.SHIFT.2] [INS.SHIFT.7] shifts: only the known gaps of spec/instructions.md escape', () => {
    // Known gaps (spec/instructions.md, "Known gaps"): the map does not yet
    // mark CF undefined for SHL/SHR by at least the width, nor all flags for
    // 16-bit SHLD/SHRD by more than 16. Anything else escaping is a bug.
    const problems = new Set<string>();
    for (const size of SIZES) for (const a of VALUES) for (const count of COUNTS) {
      for (const [m, f] of Object.entries(shiftOperations)) {
        const r = f(size, a, count, 0);
        const known = (m === 'shl' || m === 'sal' || m === 'shr') && (count & 31) >= size ? CF : 0;
        const e = escapes(m === 'sal' ? 'shl' : m, { written: r.written, undefined: r.undefined & ~known });
        if (e) problems.add(e);
      }
      if (size !== 8) for (const [m, f] of [['shld', shld], ['shrd', shrd]] as const) {
        const r = f(size, a, 0x5555, count, 0);
        const known = size === 16 && (count & 31) > 16 ? STATUS_FLAGS : 0;
        const e = escapes(m, { written: r.written, undefined: r.undefined & ~known });
        if (e) problems.add(e);
      }
    }
    expect([...problems]).toEqual([]);
  });
});
