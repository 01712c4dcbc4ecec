// [ENC.MAP.1] spec/encoding.md lists every opcode of the one- and two-byte
// maps with its status, and the list is the decoder's own answer: a change
// to either without the other fails here. MESOVIRT_WRITE_OPCODE_TABLE=1
// rewrites the table in the spec from the decoder (then read the diff).
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { opcodeStatusTable } from '../../properties/isa/opcode-status';

const SPEC = new URL('../../spec/encoding.md', import.meta.url);
const START = '<!-- opcode-table:start -->', END = '<!-- opcode-table:end -->';

describe('the opcode table of spec/encoding.md', () => {
  it('[ENC.MAP.1] lists every opcode with the status the decoder gives it', () => {
    const spec = readFileSync(SPEC, 'utf8');
    const [before, rest] = spec.split(START);
    const [table, after] = (rest ?? '').split(END);
    const expected = opcodeStatusTable();
    if (process.env.MESOVIRT_WRITE_OPCODE_TABLE === '1') writeFileSync(SPEC, `${before}${START}\n${expected}\n${END}${after}`);
    expect(table?.trim()).toBe(expected);
  });
  it('[ENC.MAP.1] no opcode is left unsupported without a reason, and the known ones are where the manual puts them', () => {
    const table = opcodeStatusTable();
    expect(table).not.toMatch(/unsupported: opcode /);
    expect(table).toMatch(/\| 0F A2 \| modelled: cpuid \|/);
    expect(table).toMatch(/\| 0F 31 \| modelled: rdtsc \|/);
    expect(table).toMatch(/\| FF \| modelled: inc, dec, call, callf, jmp, jmpf, push; #UD: \/3 reg \/5 reg \/7 \|/);
  });
});
