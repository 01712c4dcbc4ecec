// The case-file reader rejects each kind of malformed input with a message
// naming the file, the line and the field.
import { describe, expect, it } from 'vitest';
import { parseCaseFile } from '../../properties/cases/codec';

const regs = { eax: 1, ecx: 0, edx: 0, ebx: 4294967295, esp: 536932352, ebp: 0, esi: 0, edi: 0, eip: 268435456, eflags: 514 };
const good = {
  name: 'add_r32_r32/0001', code: '01d8', codeAddr: 268435456,
  init: { regs, mem: [{ addr: 536870912, hex: '00112233' }] },
  final: { regs: { ...regs, eax: 0, eip: 268435458, eflags: 0x257 }, mem: [{ addr: 536870912, hex: '00112233' }] },
  fault: null, undefinedFlags: 0,
};

function errorsOf(text: string): string[] {
  const r = parseCaseFile(text, 'f.jsonl');
  return r.kind === 'invalid' ? [...r.errors] : [];
}

describe('case codec', () => {
  it('accepts the example of the format document', () => {
    const r = parseCaseFile(`${JSON.stringify(good)}\n\n${JSON.stringify({ ...good, fault: { vector: 14, errorCode: 6, cr2: 0x30000000 } })}\n`, 'f.jsonl');
    expect(r.kind).toBe('ok');
    if (r.kind === 'ok') expect(r.cases.map((c) => c.fault?.vector ?? null)).toEqual([null, 14]);
  });
  it('[DIFF.CASE.2] reads the optional undefinedRegisters, and names a bad entry', () => {
    const r = parseCaseFile(JSON.stringify({ ...good, undefinedRegisters: ['ecx', 'edi'] }), 'f.jsonl');
    expect(r.kind === 'ok' ? r.cases[0]!.undefinedRegisters : r.errors).toEqual(['ecx', 'edi']);
    expect(errorsOf(JSON.stringify({ ...good, undefinedRegisters: ['eip'] })))
      .toEqual(['f.jsonl:1: field undefinedRegisters.0: expected a general register name, got "eip"']);
    expect(errorsOf(JSON.stringify({ ...good, undefinedRegisters: 'eax' })))
      .toEqual(['f.jsonl:1: field undefinedRegisters: expected an array, got "eax"']);
  });
  it('reports malformed JSON with file and line', () => {
    expect(errorsOf(`${JSON.stringify(good)}\n{"name": `)).toEqual([expect.stringMatching(/^f\.jsonl:2: malformed JSON/)]);
  });
  it('reports a missing field by its path', () => {
    const { undefinedFlags: _, ...rest } = good;
    expect(errorsOf(JSON.stringify(rest))).toEqual(['f.jsonl:1: field undefinedFlags: expected an unsigned 32-bit integer, it is missing']);
    const noEax = { ...good, init: { ...good.init, regs: { ...regs, eax: undefined } } };
    expect(errorsOf(JSON.stringify(noEax))).toEqual(['f.jsonl:1: field init.regs.eax: expected an unsigned 32-bit integer, it is missing']);
  });
  it('rejects numbers that are not unsigned 32-bit integers', () => {
    for (const bad of [-1, 1.5, 4294967296, '7']) {
      const c = { ...good, final: { ...good.final, regs: { ...good.final.regs, ecx: bad } } };
      expect(errorsOf(JSON.stringify(c))).toEqual([`f.jsonl:1: field final.regs.ecx: expected an unsigned 32-bit integer, got ${JSON.stringify(bad)}`]);
    }
  });
  it('rejects bad hex', () => {
    expect(errorsOf(JSON.stringify({ ...good, code: '01d' }))).toEqual(['f.jsonl:1: field code: expected hex bytes (two hex digits a byte), got "01d"']);
    const badMem = { ...good, init: { ...good.init, mem: [{ addr: 536870912, hex: 'zz112233' }] } };
    expect(errorsOf(JSON.stringify(badMem))).toEqual(['f.jsonl:1: field init.mem.0.hex: expected hex bytes (two hex digits a byte), got "zz112233"']);
  });
  it('rejects a fault that is neither an object nor null', () => {
    expect(errorsOf(JSON.stringify({ ...good, fault: 3 }))).toEqual(['f.jsonl:1: field fault: expected an object or null, got 3']);
  });
  it('rejects an initial EIP other than codeAddr and mismatched final regions', () => {
    const c = { ...good, init: { ...good.init, regs: { ...regs, eip: 5 } }, final: { ...good.final, mem: [] } };
    expect(errorsOf(JSON.stringify(c))).toEqual([
      'f.jsonl:1: field init.regs.eip: must equal codeAddr (268435456), got 5',
      'f.jsonl:1: field final.mem: must list the 1 regions of init.mem, got 0',
    ]);
  });
});
