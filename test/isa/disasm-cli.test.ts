// `mesovirt disasm`: the --plain text of any bytes (random ones included)
// reassembles with nasm to exactly those bytes; bad bytes become `db` lines.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode } from '../../model/isa/encoder';
import { listing } from '../../model/isa/listing';
import { arbInstruction } from '../../properties/isa/arbitrary';
import { nasmAssemble } from '../../properties/isa/nasm';
import { propertySeed } from '../../properties/seed';
import { oracleAvailable } from '../../properties/tools';

const hex = (b: ArrayLike<number>) => Buffer.from(Uint8Array.from(b)).toString('hex');

describe('disasm', () => {
  it('[ENC.TEXT.1] lists address, bytes and text; undecodable bytes as db', () => {
    const lines = listing(Uint8Array.from([0x66, 0x83, 0xc0, 0x01, 0xff, 0x38, 0xeb, 0xfe]), 0x1000);
    expect(lines.map((l) => [l.address, hex(l.bytes), l.text])).toEqual([
      [0x1000, '6683c001', 'add ax, 0x1'],
      [0x1004, 'ff', 'db 0xff'],
      [0x1005, '38eb', 'cmp bl, ch'],
      [0x1007, 'fe', 'db 0xfe'],
    ]);
    // 81 C0 01 00 00 00 decodes to add eax, 1, which nasm writes as 83 C0 01: so it is listed byte by byte.
    expect(listing(Uint8Array.from([0x81, 0xc0, 1, 0, 0, 0]), 0).map((l) => l.text)).toEqual(
      ['db 0x81', 'rol byte [ecx], 0x0', 'add byte [eax], al']);
  });

  it.runIf(oracleAvailable('nasm'))('the --plain output of mixed random bytes and instructions reassembles to the same bytes', () => {
    const chunks = fc.sample(fc.oneof(arbInstruction().map((i) => [...encode(i)]),
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 })), { seed: propertySeed(), numRuns: 3000 });
    const bytes = Uint8Array.from(chunks.flat());
    const dir = mkdtempSync(join(tmpdir(), 'mesovirt-disasm-'));
    try {
      const file = join(dir, 'in.bin');
      writeFileSync(file, bytes);
      const text = execFileSync('node', ['bin/mesovirt.js', 'disasm', file, '--org', '0x400000', '--plain'], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const back = nasmAssemble(text.trimEnd().split('\n'), 0x400000);
      expect(back.kind === 'ok' ? hex(back.bytes) : back.message).toBe(hex(bytes));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
