// `incbin "file"[, skip[, count]]` and `%defstr`: a file's bytes placed in
// the output, as nasm places them (gandalf's -DGUEST=path build needs both).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble, assembleText } from '../../model/isa/asm/assemble';
import { oracleAvailable } from '../../properties/tools';

/** 300 bytes, each its index times 7 (mod 256): no run of equal bytes to hide an off-by-one. */
const blob = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
const SOURCE = [
  'bits 32', 'org 0x1000',
  'start: db 0xAA', // one byte before: the file starts at offset 1
  'whole: incbin "blob.bin"',
  'part: incbin "blob.bin", 10, 5',
  'tail: incbin "blob.bin", 298',
  '%defstr NAME BLOB',
  'named: incbin NAME',
  'after: dd part, tail, after',
].join('\n');
const files: Record<string, string> = { 'dir/a.asm': SOURCE };
const binaries: Record<string, Uint8Array> = { 'dir/blob.bin': blob, BLOB: blob };

describe('incbin', () => {
  it('places the whole file, a skipped and counted slice, a tail, and a %defstr-named file, at the addresses labels give', () => {
    const r = assemble('dir/a.asm', (p) => files[p] ?? null, { format: 'bin', readBinary: (p) => binaries[p] ?? null });
    if (r.kind !== 'ok') throw new Error(r.errors.map((e) => e.message).join('; '));
    const b = r.bytes;
    expect(b[0]).toBe(0xaa);
    expect(Array.from(b.subarray(1, 301))).toEqual(Array.from(blob));
    expect(Array.from(b.subarray(301, 306))).toEqual([70, 77, 84, 91, 98]); // bytes 10..14: 7·i
    expect(Array.from(b.subarray(306, 308))).toEqual([(298 * 7) & 0xff, (299 * 7) & 0xff]);
    expect(Array.from(b.subarray(308, 608))).toEqual(Array.from(blob));
    const dv = new DataView(b.buffer, b.byteOffset);
    expect([dv.getUint32(608, true), dv.getUint32(612, true), dv.getUint32(616, true)]).toEqual([0x1000 + 301, 0x1000 + 306, 0x1000 + 608]);
    expect(b.length).toBe(620);
  });

  it('a file that cannot be read, or no reader at all, is an error at the incbin line', () => {
    const r = assembleText({ 'a.asm': 'db 1\nincbin "nothing.bin"' }, 'a.asm', { format: 'bin', readBinary: () => null });
    expect(r.kind === 'error' && r.errors.map((e) => `${e.line}:${e.column} ${e.message}`)).toEqual(["2:8 cannot read the incbin file 'nothing.bin' (looked for nothing.bin)"]);
    const n = assembleText({ 'a.asm': 'incbin "x.bin"' }, 'a.asm', { format: 'bin' });
    expect(n.kind === 'error' && n.errors[0]!.message).toContain('binary files');
    const q = assembleText({ 'a.asm': 'incbin x.bin' }, 'a.asm', { format: 'bin', readBinary: () => blob });
    expect(q.kind === 'error' && q.errors[0]!.message).toBe("'incbin' needs a quoted file name");
  });

  it.runIf(oracleAvailable('nasm'))('the bytes are nasm\'s', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asm-incbin-'));
    writeFileSync(join(dir, 'a.asm'), SOURCE);
    writeFileSync(join(dir, 'blob.bin'), blob);
    writeFileSync(join(dir, 'BLOB'), blob);
    const n = spawnSync('nasm', ['-f', 'bin', '-o', 'a.bin', 'a.asm'], { cwd: dir, encoding: 'utf8' });
    expect(n.status, n.stderr).toBe(0);
    const r = assemble(join(dir, 'a.asm'), (p) => { try { return readFileSync(p, 'utf8'); } catch { return null; } },
      { format: 'bin', readBinary: (p) => { try { return new Uint8Array(readFileSync(p)); } catch { return null; } } });
    if (r.kind !== 'ok') throw new Error(r.errors.map((e) => e.message).join('; '));
    expect(Buffer.compare(Buffer.from(r.bytes), readFileSync(join(dir, 'a.bin')))).toBe(0);
  });
});
