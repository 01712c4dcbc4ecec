// The Linux/x86 32-bit boot protocol loader (model/boot/linux.ts), checked
// against Documentation/x86/boot.rst of linux-source-6.1 (field offsets,
// the boot GDT selectors, the entry registers) and the committed bzImage;
// the Multiboot command line and module; `mesovirt run` on bad input.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOT_PARAMS_ADDRESS, COMMAND_LINE_ADDRESS, isBzImage, loadLinux } from '../model/boot/linux';
import { loadMultiboot, CMDLINE_ADDRESS, MODULES_ADDRESS } from '../model/boot/multiboot';

const MiB = 1024 * 1024;
const BZIMAGE = 'guests/linux/bzImage';
const INITRD = 'guests/linux/initramfs.cpio';
const bz = new Uint8Array(readFileSync(BZIMAGE));
const initrd = new Uint8Array(readFileSync(INITRD));
const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number): number => (u16(b, at) | (u16(b, at + 2) << 16)) >>> 0;

function ok(r: ReturnType<typeof loadLinux>) {
  if (r.kind !== 'ok') throw new Error(r.message);
  return r;
}

describe('the bzImage setup header [LINUX.HEADER.1] [LINUX.HEADER.2] [LINUX.HEADER.3]', () => {
  it('the committed kernel is a bzImage of protocol 2.15 (Linux 6.1)', () => {
    expect(isBzImage(bz)).toBe(true);
    expect(ok(loadLinux(bz, 64 * MiB, { commandLine: '', initrd: null })).layout.protocol).toBe(0x020f);
  });
  it('a Multiboot image or random bytes are not bzImages', () => {
    expect(isBzImage(new Uint8Array(0x1000))).toBe(false);
  });
  it('an older protocol is refused naming both versions', () => {
    const old = bz.slice();
    old[0x206] = 0x05; old[0x207] = 0x02; // 2.05
    const r = loadLinux(old, 64 * MiB, { commandLine: '', initrd: null });
    expect(r.kind === 'error' && r.message).toMatch(/2\.05.*older than 2\.06/);
  });
  it('a zImage (loadflags bit 0 clear) is refused', () => {
    const z = bz.slice();
    z[0x211] = z[0x211]! & ~1;
    expect(loadLinux(z, 64 * MiB, { commandLine: '', initrd: null }).kind).toBe('error');
  });
  it('a truncated image is refused with the bytes it needs', () => {
    const r = loadLinux(bz.subarray(0, bz.length - 100), 64 * MiB, { commandLine: '', initrd: null });
    expect(r.kind === 'error' && r.message).toMatch(new RegExp(`truncated: setup_sects \\d+ and syssize 0x[0-9a-f]+ \\(offsets 0x1f1, 0x1f4\\) need \\d+ bytes, the file has ${bz.length - 100}`));
    const tiny = loadLinux(bz.subarray(0, 0x200), 64 * MiB, { commandLine: '', initrd: null });
    expect(tiny.kind === 'error' && tiny.message).toMatch(/truncated/);
  });
  it('the protected-mode kernel is the file after (setup_sects + 1) sectors, syssize paragraphs long', () => {
    const r = ok(loadLinux(bz, 64 * MiB, { commandLine: '', initrd: null }));
    const setupSects = bz[0x1f1]!;
    const kernel = r.writes.find((w) => w.address === 0x100000)!;
    expect(kernel.bytes.length).toBe(u32(bz, 0x1f4) * 16);
    expect(kernel.bytes.subarray(0, 16)).toEqual(bz.subarray((setupSects + 1) * 512, (setupSects + 1) * 512 + 16));
  });
});

describe('boot_params, command line, initrd and entry [LINUX.PARAMS.1] [LINUX.E820.1] [LINUX.CMDLINE.1] [LINUX.INITRD.1] [LINUX.LOAD.1] [LINUX.ENTRY.1]', () => {
  const r = ok(loadLinux(bz, 64 * MiB, { commandLine: 'console=ttyS0 quiet', initrd }));
  const params = r.writes.find((w) => w.address === BOOT_PARAMS_ADDRESS)!.bytes;
  it('boot_params carries the setup header at its own offsets, loader type 0xFF, the command line pointer', () => {
    expect(params.length).toBe(4096);
    expect(u32(params, 0x202)).toBe(0x53726448); // "HdrS" copied
    expect(u16(params, 0x206)).toBe(u16(bz, 0x206));
    expect(params[0x210]).toBe(0xff);
    expect(params[0x211]! & 0x80).toBe(0); // CAN_USE_HEAP clear
    expect(u32(params, 0x228)).toBe(COMMAND_LINE_ADDRESS);
    const cmdline = r.writes.find((w) => w.address === COMMAND_LINE_ADDRESS)!.bytes;
    expect(new TextDecoder().decode(cmdline)).toBe('console=ttyS0 quiet\0');
  });
  it('the e820 map: 0..0x9FC00 usable, the hole reserved, 1 MiB..end usable', () => {
    expect(params[0x1e8]).toBe(3);
    const entry = (i: number) => [u32(params, 0x2d0 + i * 20), u32(params, 0x2d0 + i * 20 + 8), u32(params, 0x2d0 + i * 20 + 16)];
    expect([entry(0), entry(1), entry(2)]).toEqual([[0, 0x9fc00, 1], [0x9fc00, 0x60400, 2], [0x100000, 63 * MiB, 1]]);
    expect(u32(params, 0x1e0)).toBe(63 * 1024); // alt_mem_k
  });
  it('the initrd sits page-aligned at the top of memory and boot_params says where', () => {
    const address = u32(params, 0x218);
    expect(u32(params, 0x21c)).toBe(initrd.length);
    expect(address % 4096).toBe(0);
    expect(address + initrd.length).toBeLessThanOrEqual(64 * MiB);
    expect(address + initrd.length + 4096).toBeGreaterThan(64 * MiB);
    expect(r.writes.find((w) => w.address === address)!.bytes).toBe(initrd);
  });
  it('entry: CS 0x10 and DS/ES/SS 0x18 flat, ESI = boot_params, EBP = EDI = EBX = 0, IF = 0, PE on, PG off', () => {
    const e = r.entry;
    expect(e.eip).toBe(u32(bz, 0x214));
    expect(e.segments.cs).toMatchObject({ selector: 0x10, base: 0, limit: 0xffffffff });
    for (const s of ['ds', 'es', 'ss'] as const) expect(e.segments[s]).toMatchObject({ selector: 0x18, base: 0, limit: 0xffffffff });
    expect(e.regs).toMatchObject({ esi: BOOT_PARAMS_ADDRESS, ebp: 0, edi: 0, ebx: 0 });
    expect(e.eflags & 0x200).toBe(0);
    expect(e.cr0 & 0x80000001).toBe(1);
    // The GDT holds the two descriptors the selectors name.
    const gdt = r.writes.find((w) => w.address === e.gdtr.base)!.bytes;
    expect(Array.from(gdt.subarray(0x10, 0x20))).toEqual([0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0]);
  });
  it('a command line longer than cmdline_size is refused naming the limit', () => {
    const limit = u32(bz, 0x238);
    const bad = loadLinux(bz, 64 * MiB, { commandLine: 'x'.repeat(limit + 1), initrd: null });
    expect(bad.kind === 'error' && bad.message).toMatch(new RegExp(`at most ${limit}`));
    expect(loadLinux(bz, 64 * MiB, { commandLine: 'x'.repeat(limit), initrd: null }).kind).toBe('ok');
  });
  it('an initrd that does not fit above the kernel, or memory smaller than init_size, is refused', () => {
    const big = loadLinux(bz, 8 * MiB, { commandLine: '', initrd: new Uint8Array(7 * MiB) });
    expect(big.kind === 'error' && big.message).toMatch(/initrd is 7340032 bytes; at most \d+ fit/);
    const small = loadLinux(bz, 2 * MiB, { commandLine: '', initrd: null });
    expect(small.kind === 'error' && small.message).toMatch(/init_size/);
  });
});

describe('Multiboot command line and module [BOOT.INFO.3] [BOOT.MODS.1]', () => {
  const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  const magic = 0x1badb002, flags = 0x10000;
  const image = new Uint8Array(0x40);
  image.set([...le32(magic), ...le32(flags), ...le32((-(magic + flags)) >>> 0), ...le32(0x100000), ...le32(0x100000), ...le32(0), ...le32(0), ...le32(0x100020)], 0);
  it('flags 2 and 3 are set, cmdline at 0x600, one module at the top of memory', () => {
    const r = loadMultiboot(image, 16 * MiB, { commandLine: 'hello', module: new Uint8Array(5000).fill(7) });
    if (r.kind !== 'ok') throw new Error(r.message);
    const info = r.writes.find((w) => w.address === 0x500)!.bytes;
    expect(u32(info, 0)).toBe(1 | 4 | 8);
    expect(u32(info, 16)).toBe(CMDLINE_ADDRESS);
    expect([u32(info, 20), u32(info, 24)]).toEqual([1, MODULES_ADDRESS]);
    const list = r.writes.find((w) => w.address === MODULES_ADDRESS)!.bytes;
    const start = 16 * MiB - 8192; // 5000 bytes, rounded down to a page boundary below the end
    expect([u32(list, 0), u32(list, 4)]).toEqual([start, start + 5000]);
    expect(new TextDecoder().decode(r.writes.find((w) => w.address === CMDLINE_ADDRESS)!.bytes)).toBe('hello\0');
  });
  it('a command line over 511 bytes is refused', () => {
    const r = loadMultiboot(image, 16 * MiB, { commandLine: 'x'.repeat(512) });
    expect(r.kind === 'error' && r.message).toMatch(/at most 511/);
  });
});

describe('mesovirt run on bad input: a clear message naming the file, exit code 2, nothing run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-linux-'));
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/mesovirt.js', 'run', ...args], { encoding: 'utf8', timeout: 60_000 });
  it('a truncated bzImage', () => {
    const file = join(dir, 'truncated-bzImage');
    writeFileSync(file, bz.subarray(0, 100_000));
    const r = run(file);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file}: truncated`));
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });
  it('an unsupported protocol version', () => {
    const file = join(dir, 'old-bzImage');
    const old = bz.slice();
    old[0x206] = 0x01; old[0x207] = 0x02;
    writeFileSync(file, old);
    const r = run(file);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/old-bzImage: boot protocol 2\.01/);
  });
  it('an initrd that does not fit, named by its file', () => {
    const file = join(dir, 'huge.cpio');
    writeFileSync(file, new Uint8Array(6 * MiB));
    const r = run(BZIMAGE, '--memory', '8', '--initrd', file);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/huge\.cpio: the initrd is 6291456 bytes; at most \d+ fit/);
  });
  it('a command line that does not fit', () => {
    const r = run(BZIMAGE, '--append', 'y'.repeat(5000));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bzImage: the command line is 5000 bytes; this kernel takes at most 2047/);
  });
});
