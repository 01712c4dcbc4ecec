// Properties of the string and stack handlers, over random inputs from the
// fixed seed (properties/seed.ts). Expected values are computed here
// independently of the model, from the byte arrays the test writes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DF, ZF } from '../../model/cpu/eflags';
import type { MachineState } from '../../model/cpu/state';
import { propertyParams } from '../../properties/seed';
import { ECX, EDI, ESI, ESP, ins, machine, ok, peek, poke, reg } from './instruction-fixtures';

const SOURCE = 0x2100;
const DEST = 0x3100;

function withBytes(state: MachineState, at: number, bytes: readonly number[]): MachineState {
  return bytes.reduce((s, b, k) => poke(s, at + k, 8, b), state);
}

describe('string properties', () => {
  it('[INS.STRING.1] [INS.STRING.3] rep movs copies exactly ECX elements in the DF direction', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 64, maxLength: 64 }),
      fc.integer({ min: 0, max: 12 }), fc.constantFrom(8, 16, 32) as fc.Arbitrary<8 | 16 | 32>, fc.boolean(),
      (bytes, count, size, down) => {
        const width = size / 8;
        // Going down, start at the last element of the 64-byte window.
        const first = down ? 64 - width : 0;
        let s = withBytes(machine({ [ECX]: count, [ESI]: SOURCE + first, [EDI]: DEST + first }, down ? DF : 0), SOURCE, bytes);
        s = ok(s, ins('movs', [], { elementSize: size, rep: 'rep', operandSize: size === 16 ? 16 : 32 }));
        const moved = count * width;
        const copiedFrom = down ? 64 - moved : 0;
        for (let k = 0; k < 64; k++) {
          const inside = k >= copiedFrom && k < copiedFrom + moved;
          expect(peek(s, DEST + k, 8)).toBe(inside ? bytes[k] : 0);
        }
        const delta = down ? -moved : moved;
        expect([s.regs[ECX], s.regs[ESI], s.regs[EDI]]).toEqual([0, SOURCE + first + delta, DEST + first + delta]);
      },
    ), propertyParams(300));
  });

  it('[INS.STRING.2] [INS.STRING.3] repe cmpsb stops after the first differing byte, repne after the first equal one', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 16, maxLength: 16 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 16, maxLength: 16 }),
      fc.integer({ min: 1, max: 16 }), fc.boolean(),
      (a, b, count, whileEqual) => {
        let s = withBytes(withBytes(machine({ [ECX]: count, [ESI]: SOURCE, [EDI]: DEST }), SOURCE, a), DEST, b);
        s = ok(s, ins('cmps', [], { elementSize: 8, rep: whileEqual ? 'repe' : 'repne' }));
        let stop = 0;
        while (stop < count - 1 && (a[stop] === b[stop]) === whileEqual) stop++;
        const compared = stop + 1;
        expect(s.regs[ECX]).toBe(count - compared);
        expect(s.regs[ESI]).toBe(SOURCE + compared);
        expect((s.eflags & ZF) !== 0).toBe(a[stop] === b[stop]);
      },
    ), propertyParams(300));
  });
});

describe('stack properties', () => {
  it('[INS.STACK.1] [INS.STACK.2] push r then pop r2 moves the value and restores ESP', () => {
    fc.assert(fc.property(
      fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 1, 2, 3, 5, 6, 7), fc.constantFrom(0, 1, 2, 3, 5, 6, 7), fc.constantFrom(16, 32) as fc.Arbitrary<16 | 32>,
      (value, from, to, size) => {
        const start = machine({ [from]: value, [ESP]: 0x8000 });
        const pushed = ok(start, ins('push', [reg(size, from)], { operandSize: size }), 1);
        expect(pushed.regs[ESP]).toBe(0x8000 - size / 8);
        const popped = ok(pushed, ins('pop', [reg(size, to)], { operandSize: size }), 1);
        expect(popped.regs[ESP]).toBe(0x8000);
        const mask = size === 32 ? 0xffffffff : 0xffff;
        expect((popped.regs[to]! & mask) >>> 0).toBe((value & mask) >>> 0);
      },
    ), propertyParams(500));
  });
});
