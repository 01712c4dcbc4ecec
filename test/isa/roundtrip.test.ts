// decode(encode(i)) is i for every canonical instruction of the map.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode } from '../../model/isa/decoder';
import type { Instruction } from '../../model/isa/ast';
import { mnemonicText } from '../../model/isa/disassembler';
import { encode } from '../../model/isa/encoder';
import type { AsmOperand, AsmPrefixes } from '../../model/isa/mnemonics';
import { buildInstruction } from '../../model/isa/mnemonics';
import { arbInstruction } from '../../properties/isa/arbitrary';
import { propertyParams } from '../../properties/seed';

describe('encoder and decoder', () => {
  // [ENC.CHOICE.1] [ENC.MEM.1] [ENC.MEM.2] [ENC.MEM.3] [ENC.IMM.1] [ENC.PREFIX.4]
  it('decode(encode(i)) equals i, with the encoded length', () => {
    fc.assert(
      fc.property(arbInstruction(), (i) => {
        const bytes = encode(i);
        expect(bytes.length).toBeLessThanOrEqual(15);
        expect(decode(bytes)).toEqual({ kind: 'ok', instruction: i, length: bytes.length });
      }),
      propertyParams(20_000),
    );
  });

  // [ENC.LENGTH.1] a truncated encoding asks for one more byte
  it('every proper prefix of an encoding is truncated, needing one more byte', () => {
    fc.assert(
      fc.property(arbInstruction(), (i) => {
        const bytes = encode(i);
        for (let n = 0; n < bytes.length; n++) {
          expect(decode(bytes.subarray(0, n))).toEqual({ kind: 'truncated', needed: n + 1 });
        }
      }),
      propertyParams(2_000),
    );
  });
});

describe('mnemonic helpers', () => {
  // What the assembler hands buildInstruction for an instruction written out in full (sizes on memory, o16, targets as addresses).
  function asAssembler(i: Instruction, address: number): { text: string; operands: AsmOperand[]; prefixes: AsmPrefixes } {
    const end = address + encode(i).length;
    const far = i.mnemonic === 'jmpf' || i.mnemonic === 'callf';
    const operands = i.operands.map((o): AsmOperand => {
      switch (o.kind) {
        case 'mem': return { ...o, size: far ? null : o.size, segment: i.segment, far, address16: i.addressSize === 16 };
        case 'imm': return { kind: 'imm', value: o.value, size: null };
        case 'rel': return { kind: 'target', address: (end + o.offset) >>> 0, size: o.size === 8 ? 'short' : 'near' };
        default: return o;
      }
    });
    return { text: mnemonicText(i), operands, prefixes: { rep: i.rep, lock: i.lock, segment: i.segment, operandSize: i.operandSize, addressSize: i.addressSize ?? null } };
  }

  it('buildInstruction gives back the instruction from its parsed text', () => {
    fc.assert(
      fc.property(arbInstruction(), fc.integer({ min: 0, max: 0x7fffffff }), (i, address) => {
        const { text, operands, prefixes } = asAssembler(i, address);
        const built = buildInstruction(text, operands, prefixes, address);
        if (built.kind !== 'ok') throw new Error(`${text}: ${built.message}`);
        expect(built.instruction).toEqual(i);
      }),
      propertyParams(10_000),
    );
  });
});
