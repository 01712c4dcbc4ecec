// decode(encode(i)) is i for every canonical instruction of the map.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode } from '../../model/isa/decoder';
import { encode } from '../../model/isa/encoder';
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
