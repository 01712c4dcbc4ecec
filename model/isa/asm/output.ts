// The two output formats.
//
// Flat binary (as nasm -f bin): the initialised sections from `org` on,
// with the gaps between them zero-filled; .bss is not stored.
//
// ELF32 executable (ET_EXEC, EM_386): the same layout, one PT_LOAD program
// header per section (the .bss header has no file bytes), entry `_start` if
// it is defined, else the start of .text, and section headers with a symbol
// table so that objdump and gdb can name things. Unlike nasm (whose ELF is
// an object file for a linker), `org` here is the address the program is
// linked at. Section contents are stored at file offset 0x1000 + (address −
// org), so offset and address agree modulo the 4 KiB page, as loaders expect.
// A Multiboot kernel still writes its own Multiboot header in its source
// (the loader looks for it in the first 8 KiB of the file: keep it at the
// start of .text); an ELF kernel leaves flag bit 16 clear and is loaded from
// its program headers, a flat kernel sets bit 16 and gives the a.out-kludge
// addresses (see guests/hello/hello.asm).
import type { Layout, SectionImage } from './layout';

export function flatBinary(layout: Layout): Uint8Array {
  const stored = layout.sections.filter((s) => !s.nobits && s.size > 0);
  const end = stored.reduce((e, s) => Math.max(e, s.address + s.size - layout.org), 0);
  const out = new Uint8Array(end);
  for (const s of stored) out.set(s.bytes, s.address - layout.org);
  return out;
}

const FILE_BASE = 0x1000;

class Writer {
  private readonly bytes: number[] = [];
  get length(): number { return this.bytes.length; }
  u8(v: number): this { this.bytes.push(v & 0xff); return this; }
  u16(v: number): this { return this.u8(v).u8(v >>> 8); }
  u32(v: number): this { return this.u16(v & 0xffff).u16(v >>> 16); }
  raw(b: ArrayLike<number>): this { for (let i = 0; i < b.length; i++) this.bytes.push(b[i]!); return this; }
  padTo(n: number): this { while (this.bytes.length < n) this.bytes.push(0); return this; }
  done(): Uint8Array { return Uint8Array.from(this.bytes); }
}

/** A string table: NUL-separated names, each found by its offset. */
function stringTable(names: readonly string[]): { bytes: Uint8Array; offset: (name: string) => number } {
  const offsets = new Map<string, number>();
  const parts: number[] = [0];
  const encoder = new TextEncoder();
  for (const n of names) {
    if (offsets.has(n)) continue;
    offsets.set(n, parts.length);
    parts.push(...encoder.encode(n), 0);
  }
  return { bytes: Uint8Array.from(parts), offset: (n) => offsets.get(n) ?? 0 };
}

const SECTION_FLAGS: Record<string, number> = { '.text': 0x2 | 0x4, '.rodata': 0x2, '.data': 0x2 | 0x1, '.bss': 0x2 | 0x1 };
const SEGMENT_FLAGS: Record<string, number> = { '.text': 4 | 1, '.rodata': 4, '.data': 4 | 2, '.bss': 4 | 2 };

export function elfExecutable(layout: Layout): Uint8Array {
  const sections: SectionImage[] = layout.sections.filter((s) => s.size > 0);
  const fileOffset = (s: SectionImage): number => FILE_BASE + (s.address - layout.org);
  const text = layout.sections.find((s) => s.name === '.text');
  const entry = layout.symbols.get('_start')?.value ?? BigInt(text?.address ?? layout.org);
  // Symbols: locals first, then globals (ELF requires this order).
  const labels = [...layout.labels].filter((n) => layout.symbols.has(n) && !n.startsWith('..@'));
  const ordered = [...labels.filter((n) => !layout.globals.has(n)), ...labels.filter((n) => layout.globals.has(n))];
  const strtab = stringTable(ordered);
  const sectionNames = [...sections.map((s) => s.name), '.symtab', '.strtab', '.shstrtab'];
  const shstrtab = stringTable(sectionNames);
  const contentEnd = sections.reduce((e, s) => Math.max(e, fileOffset(s) + (s.nobits ? 0 : s.size)), FILE_BASE);
  const symtabOffset = alignUp(contentEnd, 4);
  const symtabSize = 16 * (ordered.length + 1);
  const strtabOffset = symtabOffset + symtabSize;
  const shstrtabOffset = strtabOffset + strtab.bytes.length;
  const shoff = alignUp(shstrtabOffset + shstrtab.bytes.length, 4);
  const w = new Writer();
  // ELF header.
  w.raw([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0]).padTo(16);
  w.u16(2).u16(3).u32(1).u32(Number(BigInt.asUintN(32, entry))).u32(52).u32(shoff).u32(0);
  w.u16(52).u16(32).u16(sections.length).u16(40).u16(sectionNames.length + 1).u16(sectionNames.length);
  // Program headers: one loadable segment per section.
  for (const s of sections) {
    w.u32(1).u32(fileOffset(s)).u32(s.address).u32(s.address).u32(s.nobits ? 0 : s.size).u32(s.size).u32(SEGMENT_FLAGS[s.name] ?? 6).u32(0x1000);
  }
  for (const s of sections) if (!s.nobits) w.padTo(fileOffset(s)).raw(s.bytes);
  // Symbol table.
  w.padTo(symtabOffset).raw(new Uint8Array(16));
  for (const name of ordered) {
    const v = layout.symbols.get(name)!;
    const index = v.section === null ? 0xfff1 : sections.findIndex((s) => s.name === v.section) + 1;
    const bind = layout.globals.has(name) ? 1 : 0;
    w.u32(strtab.offset(name)).u32(Number(BigInt.asUintN(32, v.value))).u32(0).u8(bind << 4).u8(0).u16(index);
  }
  w.raw(strtab.bytes).raw(shstrtab.bytes).padTo(shoff);
  // Section headers: null, the sections, .symtab, .strtab, .shstrtab.
  w.raw(new Uint8Array(40));
  for (const s of sections) {
    w.u32(shstrtab.offset(s.name)).u32(s.nobits ? 8 : 1).u32(SECTION_FLAGS[s.name] ?? 3).u32(s.address).u32(fileOffset(s)).u32(s.size).u32(0).u32(0).u32(4).u32(0);
  }
  const firstGlobal = 1 + ordered.filter((n) => !layout.globals.has(n)).length;
  w.u32(shstrtab.offset('.symtab')).u32(2).u32(0).u32(0).u32(symtabOffset).u32(symtabSize).u32(sections.length + 2).u32(firstGlobal).u32(4).u32(16);
  w.u32(shstrtab.offset('.strtab')).u32(3).u32(0).u32(0).u32(strtabOffset).u32(strtab.bytes.length).u32(0).u32(0).u32(1).u32(0);
  w.u32(shstrtab.offset('.shstrtab')).u32(3).u32(0).u32(0).u32(shstrtabOffset).u32(shstrtab.bytes.length).u32(0).u32(0).u32(1).u32(0);
  return w.done();
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;
