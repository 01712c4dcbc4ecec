// The Multiboot v1 loader, against the Multiboot specification 0.6.96
// (§3.1 header layout and checksum, §3.1.3 a.out-kludge fields, §3.2 machine
// state on entry, §3.3 information structure) and the ELF32 format; the hello
// guest assembled by nasm (an outside assembler) runs on the model.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMultiboot } from '../../model/boot/multiboot';
import { createModelMachine } from '../../properties/machines/model';
import { oracleAvailable } from '../../properties/tools';

const MiB = 1024 * 1024;
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const le16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];

function kludgeImage(flags = 0x10000, checksumDelta = 0): Uint8Array {
  const magic = 0x1badb002;
  const header = [
    ...le32(magic), ...le32(flags), ...le32((-(magic + flags) + checksumDelta) >>> 0),
    ...le32(0x100000), ...le32(0x100000), ...le32(0), ...le32(0x100100), ...le32(0x100020),
  ];
  const image = new Uint8Array(0x40);
  image.set(header, 0);
  image.set([0xf4], 0x20); // HLT at the entry
  image[0x3f] = 0x77;
  return image;
}

describe('Multiboot header [BOOT.HEADER.1] [BOOT.HEADER.2]', () => {
  it('a header whose checksum does not sum to zero is refused, naming the checksum', () => {
    const r = loadMultiboot(kludgeImage(0x10000, 1), 64 * MiB);
    expect(r.kind).toBe('error');
    if (r.kind === 'error') expect(r.message).toMatch(/checksum/);
  });
  it('an image without the magic in its first 8 KiB is refused', () => {
    const image = new Uint8Array(0x3000);
    image.set(le32(0x1badb002), 0x2000); // beyond the search window
    const r = loadMultiboot(image, 64 * MiB);
    expect(r.kind === 'error' && r.message).toMatch(/no Multiboot header/);
  });
  it('a required feature we do not provide (flags bit 3) is refused', () => {
    expect(loadMultiboot(kludgeImage(0x10008), 64 * MiB).kind).toBe('error');
  });
});

describe('a.out kludge and entry state [BOOT.AOUT.1] [BOOT.ENTRY.1] [BOOT.INFO.1] [BOOT.INFO.2] [BOOT.GDT.1] [BOOT.STACK.1]', () => {
  const r = loadMultiboot(kludgeImage(), 64 * MiB);
  if (r.kind !== 'ok') throw new Error(r.message);
  it('loads the whole file at load_addr and zeroes up to bss_end_addr', () => {
    const image = r.writes.find((w) => w.address === 0x100000)!;
    expect(image.bytes.length).toBe(0x40);
    expect(image.bytes[0x3f]).toBe(0x77);
    const bss = r.writes.find((w) => w.address === 0x100040)!;
    expect(bss.bytes.length).toBe(0xc0);
    expect(bss.bytes.every((b) => b === 0)).toBe(true);
  });
  it('enters at entry_addr with EAX = 0x2BADB002, EBX = info, PE on, PG off, IF off', () => {
    const e = r.entry;
    expect(e.eip).toBe(0x100020);
    expect(e.regs.eax).toBe(0x2badb002);
    expect(e.regs.ebx).toBe(0x500);
    expect(e.regs.esp).toBe(0x7c00);
    expect(e.cr0 & 1).toBe(1);
    expect(e.cr0 >>> 31).toBe(0);
    expect(e.eflags & 0x200).toBe(0);
    expect(e.segments.cs).toMatchObject({ base: 0, limit: 0xffffffff, valid: true });
    expect(e.segments.cs.attributes & 0x4018).toBe(0x4018); // code, 32-bit
    for (const n of ['ds', 'es', 'fs', 'gs', 'ss'] as const) {
      expect(e.segments[n]).toMatchObject({ base: 0, limit: 0xffffffff, valid: true });
      expect(e.segments[n].attributes & 0x1a).toBe(0x12); // writable data
    }
  });
  it('writes the info structure: flags 1, mem_lower 639, mem_upper = 63 Mi / 1 Ki', () => {
    const info = r.writes.find((w) => w.address === 0x500)!;
    expect(Array.from(info.bytes.slice(0, 12))).toEqual([...le32(1), ...le32(639), ...le32(64512)]);
  });
  it('installs a GDT at 0x800 matching the loaded caches', () => {
    expect(r.entry.gdtr).toEqual({ base: 0x800, limit: 23 });
    const gdt = r.writes.find((w) => w.address === 0x800)!;
    // Code: limit 0xFFFFF, G, D, P, DPL 0, type 0xB (execute/read, accessed).
    expect(Array.from(gdt.bytes.slice(8, 16))).toEqual([0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0]);
  });
  it('refuses an image that would overwrite the boot information [BOOT.GDT.2]', () => {
    const image = kludgeImage();
    const h = new DataView(image.buffer);
    h.setUint32(12, 0x600, true); h.setUint32(16, 0x600, true); h.setUint32(24, 0, true); h.setUint32(28, 0x620, true);
    const bad = loadMultiboot(image, 64 * MiB);
    expect(bad.kind === 'error' && bad.message).toMatch(/overlaps/);
  });
});

describe('ELF32 images [BOOT.ELF.1]', () => {
  // A minimal ELF executable: header (52 bytes), one PT_LOAD program header
  // (32 bytes) at 52, then the Multiboot header and code at file offset 0x60.
  function elf(filesz: number, memsz: number, machine = 3): Uint8Array {
    const f = new Uint8Array(0x80);
    f.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
    f.set([...le16(2), ...le16(machine), ...le32(1), ...le32(0x200010), ...le32(52), ...le32(0), ...le32(0), ...le16(52), ...le16(32), ...le16(1)], 16);
    f.set([...le32(1), ...le32(0x60), ...le32(0x200000), ...le32(0x200000), ...le32(filesz), ...le32(memsz), ...le32(5), ...le32(0x1000)], 52);
    const magic = 0x1badb002;
    f.set([...le32(magic), ...le32(0), ...le32((-magic) >>> 0)], 0x60);
    f[0x70] = 0xf4;
    return f;
  }
  it('places p_filesz bytes at p_paddr, zero-fills to p_memsz, enters at e_entry', () => {
    const r = loadMultiboot(elf(0x20, 0x100), 64 * MiB);
    if (r.kind !== 'ok') throw new Error(r.message);
    expect(r.entry.eip).toBe(0x200010);
    const seg = r.writes.find((w) => w.address === 0x200000)!;
    expect(seg.bytes.length).toBe(0x20);
    expect(seg.bytes[0x10]).toBe(0xf4);
    expect(r.writes.find((w) => w.address === 0x200020)!.bytes.length).toBe(0xe0);
  });
  it('names the bad field: e_machine not i386', () => {
    const r = loadMultiboot(elf(0x20, 0x20, 62), 64 * MiB);
    expect(r.kind === 'error' && r.message).toMatch(/e_machine/);
  });
  it('names the bad field: p_memsz smaller than p_filesz', () => {
    const r = loadMultiboot(elf(0x20, 0x10), 64 * MiB);
    expect(r.kind === 'error' && r.message).toMatch(/p_memsz/);
  });
});

describe('the hello guest, assembled by nasm, runs on the model', () => {
  it('prints its line and exits with status 1 through port 0xF4', () => {
    if (!oracleAvailable('nasm')) return;
    const dir = mkdtempSync(join(tmpdir(), 'mesovirt-hello-'));
    const out = join(dir, 'hello.bin');
    execFileSync('nasm', ['-f', 'bin', '-D', 'MULTIBOOT_AOUT_KLUDGE', '-o', out, 'guests/hello/hello.asm']);
    const loaded = loadMultiboot(new Uint8Array(readFileSync(out)), 16 * MiB);
    if (loaded.kind !== 'ok') throw new Error(loaded.message);
    const m = createModelMachine(16 * MiB);
    for (const w of loaded.writes) m.writePhysical(w.address, w.bytes);
    m.setState(loaded.entry);
    let event = m.step();
    for (let i = 0; i < 10_000 && event.kind === 'retired'; i++) event = m.step();
    expect(event).toEqual({ kind: 'exit', code: 1 });
    expect(new TextDecoder().decode(m.consoleOutput())).toBe('hello from mesovirt\n');
  });
});
