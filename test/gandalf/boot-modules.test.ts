// [BOOT.MODULE.1] Multiboot modules, placed as QEMU places them, and the
// assembler fix gandalf needed (forward branches sized as nasm sizes them).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMultiboot, MODULES_ADDRESS as MODULE_LIST_ADDRESS } from '../../model/boot/multiboot';
import { assembleText } from '../../model/isa/asm/assemble';
import { oracleAvailable } from '../../properties/tools';

const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

/** A flat Multiboot kernel: header at 0x100000, 0x1234 bytes loaded, bss to 0x103000. */
function kernel(): Uint8Array {
  const image = new Uint8Array(0x1234);
  const v = new DataView(image.buffer);
  [0x1badb002, 0x10000, -(0x1badb002 + 0x10000), 0x100000, 0x100000, 0x101234, 0x103000, 0x100020].forEach((x, i) => v.setUint32(4 * i, x >>> 0, true));
  return image;
}

describe('[BOOT.MODULE.1] Multiboot modules', () => {
  it('a single --initrd module and a --module list do not go together', () => {
    const r = loadMultiboot(kernel(), 64 << 20, { module: new Uint8Array(4), modules: [{ name: 'a', bytes: new Uint8Array(4) }] });
    expect(r.kind === 'error' && r.message).toContain('cannot be given together');
  });
  it('each module at the next page boundary after the kernel\'s bss, listed at 0x540', () => {
    const a = new Uint8Array(5000).fill(0xaa), b = new Uint8Array(3).fill(0xbb);
    const r = loadMultiboot(kernel(), 64 << 20, { modules: [{ name: 'first.bin', bytes: a }, { name: 'second', bytes: b }] });
    if (r.kind !== 'ok') throw new Error(r.message);
    const at = (address: number): Uint8Array => r.writes.find((w) => w.address === address)!.bytes;
    const info = at(0x500);
    expect(u32(info, 0)).toBe(1 | 8); // mem fields and mods fields valid
    expect(u32(info, 20)).toBe(2);
    expect(u32(info, 24)).toBe(MODULE_LIST_ADDRESS);
    const list = at(MODULE_LIST_ADDRESS);
    // The kernel ends (with its bss) at 0x103000, a page boundary: the first
    // module starts there; the second at the next boundary after 5000 bytes.
    expect([u32(list, 0), u32(list, 4)]).toEqual([0x103000, 0x103000 + 5000]);
    expect([u32(list, 16), u32(list, 20)]).toEqual([0x105000, 0x105003]);
    expect(at(0x103000)).toEqual(a);
    expect([u32(list, 8), u32(list, 12), u32(list, 24), u32(list, 28)]).toEqual([0, 0, 0, 0]); // no strings
  });
  it('without modules the information is what it was (flags 1)', () => {
    const r = loadMultiboot(kernel(), 64 << 20);
    if (r.kind !== 'ok') throw new Error(r.message);
    expect(u32(r.writes.find((w) => w.address === 0x500)!.bytes, 0)).toBe(1);
  });
  it('a module that does not fit in memory is refused by name', () => {
    const r = loadMultiboot(kernel(), 2 << 20, { modules: [{ name: 'huge.bin', bytes: new Uint8Array(2 << 20) }] });
    expect(r.kind === 'error' && r.message).toContain('module huge.bin');
  });
});

describe('the assembler sizes a short forward branch as nasm does after code that grew between passes', () => {
  // 40 stores to a label defined later, through a base register: on the
  // first pass the label is unknown, its displacement taken as 0 (no disp
  // byte), so every later label moves by 4 bytes per store on the second
  // pass. A forward branch judged with the first pass's target alone looked
  // out of reach and was made near for good (gandalf/decode.inc met this).
  const source = ['bits 32', 'org 0x1000', ...Array.from({ length: 40 }, () => 'mov [data + ebx], al'), 'je close', 'nop', 'close:', 'ret', 'data: dd 0'].join('\n');
  it('the short branch stays short', () => {
    const r = assembleText({ 'a.asm': source }, 'a.asm', { format: 'bin' });
    if (r.kind !== 'ok') throw new Error('does not assemble');
    expect(Array.from(r.bytes.subarray(40 * 6, 40 * 6 + 2))).toEqual([0x74, 0x01]);
  });
  it.runIf(oracleAvailable('nasm'))('and the bytes are nasm\'s', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asm-drift-'));
    writeFileSync(join(dir, 'a.asm'), source);
    expect(spawnSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]).status).toBe(0);
    const r = assembleText({ 'a.asm': source }, 'a.asm', { format: 'bin' });
    if (r.kind !== 'ok') throw new Error('does not assemble');
    expect(Buffer.compare(Buffer.from(r.bytes), readFileSync(join(dir, 'a.bin')))).toBe(0);
  });
});
