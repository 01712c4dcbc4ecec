// Loading a Multiboot v1 kernel image: find and check the header, compute
// the bytes to place in physical memory (ELF32 PT_LOAD segments, or the
// a.out-kludge fields for flat images), and the processor state on entry.
// Pure: it returns the writes and the entry state; a machine applies them.
import type { CommonState } from '../machine';
import { flatSegment, initialState, toCommon } from '../cpu/state';

export interface MemoryWrite {
  readonly address: number;
  readonly bytes: Uint8Array;
}

export type MultibootResult =
  | { readonly kind: 'ok'; readonly writes: readonly MemoryWrite[]; readonly entry: CommonState }
  | { readonly kind: 'error'; readonly message: string };

export const MULTIBOOT_MAGIC = 0x1badb002;
export const BOOTLOADER_MAGIC = 0x2badb002;
/** [BOOT.INFO.1] Where we place the Multiboot information structure. */
export const INFO_ADDRESS = 0x500;
/** [BOOT.GDT.1] Where we place the GDT the entry selectors refer to. */
export const GDT_ADDRESS = 0x800;
/** [BOOT.STACK.1] ESP on entry (the spec leaves it undefined; we choose). */
export const ENTRY_ESP = 0x7c00;
const SEARCH_LIMIT = 8192;

const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const error = (message: string): MultibootResult => ({ kind: 'error', message });

function le32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/**
 * [BOOT.HEADER.1] The header is the first 4-byte-aligned occurrence of the
 * magic 0x1BADB002 within the first 8192 bytes; magic + flags + checksum
 * must be 0 mod 2^32. [BOOT.HEADER.2] A set flag among bits 2..15 that we do
 * not honour (bit 2, video mode, is accepted and ignored; the others are
 * unknown) makes the image unbootable, as the Multiboot spec requires.
 */
export function findHeader(image: Uint8Array): { offset: number; flags: number } | { error: string } {
  const end = Math.min(image.length, SEARCH_LIMIT) - 12;
  for (let at = 0; at <= end; at += 4) {
    if (u32(image, at) !== MULTIBOOT_MAGIC) continue;
    const flags = u32(image, at + 4);
    const checksum = u32(image, at + 8);
    if (((MULTIBOOT_MAGIC + flags + checksum) >>> 0) !== 0) {
      return { error: `Multiboot header at offset ${hex(at)}: checksum ${hex(checksum)} does not make magic + flags + checksum zero` };
    }
    const unknown = flags & 0xfff8;
    if (unknown !== 0) return { error: `Multiboot header at offset ${hex(at)}: flags ${hex(flags)} ask for unsupported features (bits ${hex(unknown)})` };
    return { offset: at, flags };
  }
  return { error: 'no Multiboot header (magic 0x1BADB002) in the first 8192 bytes' };
}

/** [BOOT.AOUT.1] Flags bit 16: load file bytes from header_offset -
 * (header_addr - load_addr) up to load_end_addr (0: end of file) at
 * load_addr, zero up to bss_end_addr (0: none), enter at entry_addr. */
function loadKludge(image: Uint8Array, at: number): { writes: MemoryWrite[]; entry: number } | { error: string } {
  if (at + 32 > image.length) return { error: `Multiboot header at ${hex(at)}: a.out fields (offsets 12..31) run past the end of the file` };
  const [headerAddr, loadAddr, loadEnd, bssEnd, entry] = [12, 16, 20, 24, 28].map((o) => u32(image, at + o)) as [number, number, number, number, number];
  if (loadAddr > headerAddr) return { error: `Multiboot header at ${hex(at)}: load_addr ${hex(loadAddr)} is above header_addr ${hex(headerAddr)}` };
  const fileStart = at - (headerAddr - loadAddr);
  if (fileStart < 0) return { error: `Multiboot header at ${hex(at)}: header_addr - load_addr = ${hex(headerAddr - loadAddr)} reaches before the start of the file` };
  const length = loadEnd === 0 ? image.length - fileStart : loadEnd - loadAddr;
  if (loadEnd !== 0 && loadEnd < loadAddr) return { error: `Multiboot header at ${hex(at)}: load_end_addr ${hex(loadEnd)} is below load_addr ${hex(loadAddr)}` };
  if (fileStart + length > image.length) return { error: `Multiboot header at ${hex(at)}: load_end_addr ${hex(loadEnd)} needs ${length} bytes but the file has ${image.length - fileStart} from offset ${hex(fileStart)}` };
  const writes: MemoryWrite[] = [{ address: loadAddr, bytes: image.slice(fileStart, fileStart + length) }];
  if (bssEnd !== 0) {
    if (bssEnd < loadAddr + length) return { error: `Multiboot header at ${hex(at)}: bss_end_addr ${hex(bssEnd)} is below the end of the loaded image ${hex(loadAddr + length)}` };
    writes.push({ address: loadAddr + length, bytes: new Uint8Array(bssEnd - loadAddr - length) });
  }
  return { writes, entry };
}

/** [BOOT.ELF.1] ELF32, little-endian, i386, executable: each PT_LOAD
 * segment's p_filesz bytes go to p_paddr, zero-filled up to p_memsz; entry
 * at e_entry. */
function loadElf(image: Uint8Array): { writes: MemoryWrite[]; entry: number } | { error: string } {
  if (image.length < 52) return { error: `ELF header: file is ${image.length} bytes, shorter than the 52-byte ELF32 header` };
  if (u32(image, 0) !== 0x464c457f) return { error: 'not an ELF file (offset 0: no \\x7fELF) and the Multiboot header has no a.out fields (flags bit 16)' };
  if (image[4] !== 1) return { error: `ELF header offset 4 (EI_CLASS): ${image[4]} is not 1 (32-bit)` };
  if (image[5] !== 1) return { error: `ELF header offset 5 (EI_DATA): ${image[5]} is not 1 (little-endian)` };
  if (u16(image, 18) !== 3) return { error: `ELF header offset 18 (e_machine): ${u16(image, 18)} is not 3 (i386)` };
  if (u16(image, 16) !== 2) return { error: `ELF header offset 16 (e_type): ${u16(image, 16)} is not 2 (executable)` };
  const entry = u32(image, 24);
  const phoff = u32(image, 28);
  const phentsize = u16(image, 42);
  const phnum = u16(image, 44);
  if (phentsize < 32) return { error: `ELF header offset 42 (e_phentsize): ${phentsize} is smaller than 32` };
  if (phoff + phnum * phentsize > image.length) return { error: `ELF program headers (e_phoff ${hex(phoff)}, ${phnum} of ${phentsize} bytes) run past the end of the file` };
  const writes: MemoryWrite[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (u32(image, ph) !== 1) continue; // PT_LOAD only
    const [offset, paddr, filesz, memsz] = [u32(image, ph + 4), u32(image, ph + 12), u32(image, ph + 16), u32(image, ph + 20)];
    if (offset + filesz > image.length) return { error: `ELF program header ${i} (offset ${hex(ph)}): p_offset ${hex(offset)} + p_filesz ${hex(filesz)} runs past the end of the file` };
    if (memsz < filesz) return { error: `ELF program header ${i} (offset ${hex(ph)}): p_memsz ${hex(memsz)} is smaller than p_filesz ${hex(filesz)}` };
    if (filesz > 0) writes.push({ address: paddr, bytes: image.slice(offset, offset + filesz) });
    if (memsz > filesz) writes.push({ address: paddr + filesz, bytes: new Uint8Array(memsz - filesz) });
  }
  if (writes.length === 0) return { error: 'ELF file has no PT_LOAD segment' };
  return { writes, entry };
}

/**
 * Load a Multiboot v1 image into a machine of `memorySize` bytes.
 * [BOOT.ENTRY.1] On entry (Multiboot spec §3.2): EAX = 0x2BADB002, EBX =
 * physical address of the information structure, CS a flat 32-bit
 * execute/read code segment, DS/ES/FS/GS/SS flat read/write data segments,
 * CR0.PE = 1 and PG = 0, EFLAGS.IF = 0 and VM = 0. [BOOT.GDT.2] The spec
 * leaves GDTR undefined; we install a three-entry GDT (null, code 0x08,
 * data 0x10) at 0x800 whose descriptors match the loaded caches, and an
 * empty IDT (limit 0). [BOOT.INFO.2] The information structure has flags = 1
 * (mem_lower/mem_upper valid), mem_lower = 639 KiB, mem_upper = KiB of RAM
 * above 1 MiB.
 */
export interface MultibootOptions {
  /** The kernel command line (information structure flag 2). */
  readonly commandLine?: string;
  /** One boot module (flag 3), e.g. an initrd. */
  readonly module?: Uint8Array;
  /** Several boot modules (flag 3) placed as QEMU places Multiboot modules (BOOT.MODULE.1), e.g. gandalf's guests. */
  readonly modules?: readonly BootModule[];
}

/** A Multiboot module: its bytes and a name for messages. */
export interface BootModule {
  readonly name: string;
  readonly bytes: Uint8Array;
}

const MAX_MODULES = 12;

/** [BOOT.INFO.3] Where the command line goes, and its longest length. */
export const CMDLINE_ADDRESS = 0x600;
export const CMDLINE_LIMIT = GDT_ADDRESS - CMDLINE_ADDRESS - 1;
/** [BOOT.MODS.1] Where the one-entry module list goes. */
export const MODULES_ADDRESS = 0x540;

export function loadMultiboot(image: Uint8Array, memorySize: number, options: MultibootOptions = {}): MultibootResult {
  const header = findHeader(image);
  if ('error' in header) return error(header.error);
  const loaded = header.flags & 0x10000 ? loadKludge(image, header.offset) : loadElf(image);
  if ('error' in loaded) return error(loaded.error);
  for (const w of loaded.writes) {
    if (w.address + w.bytes.length > memorySize) {
      return error(`segment at ${hex(w.address)} (${w.bytes.length} bytes) does not fit in ${memorySize / 1048576} MiB of memory`);
    }
    if (w.address < GDT_ADDRESS + 24 && w.address + w.bytes.length > INFO_ADDRESS) {
      return error(`segment at ${hex(w.address)} overlaps the boot information at ${hex(INFO_ADDRESS)}..${hex(GDT_ADDRESS + 24)}`);
    }
  }
  const memUpper = Math.max(0, Math.floor((memorySize - 0x100000) / 1024));
  const info = new Uint8Array(52);
  let infoFlags = 1;
  const extra: MemoryWrite[] = [];
  // [BOOT.INFO.3] A command line: flag 2, cmdline (offset 16) points at the
  // NUL-terminated string at 0x600; at most 511 bytes (it ends below the GDT).
  if (options.commandLine !== undefined) {
    const text = new TextEncoder().encode(options.commandLine);
    if (text.length > CMDLINE_LIMIT) return error(`the command line is ${text.length} bytes; at most ${CMDLINE_LIMIT} fit at ${hex(CMDLINE_ADDRESS)}`);
    const bytes = new Uint8Array(text.length + 1);
    bytes.set(text);
    extra.push({ address: CMDLINE_ADDRESS, bytes });
    infoFlags |= 4;
    info.set(le32(CMDLINE_ADDRESS), 16);
  }
  // [BOOT.MODS.1] A module: flag 3, mods_count 1 and mods_addr (offsets 20,
  // 24) point at one entry {mod_start, mod_end, string 0, reserved} at
  // 0x540; the module sits page-aligned at the top of memory, above every
  // byte of the kernel.
  if (options.module !== undefined) {
    const size = options.module.length;
    const kernelEnd = Math.max(...loaded.writes.map((w) => w.address + w.bytes.length));
    const address = Math.floor((memorySize - size) / 4096) * 4096;
    if (address < kernelEnd) return error(`the module is ${size} bytes; at most ${Math.max(0, memorySize - kernelEnd)} fit between the kernel's end ${hex(kernelEnd)} and the end of memory`);
    extra.push({ address, bytes: options.module });
    extra.push({ address: MODULES_ADDRESS, bytes: Uint8Array.from([...le32(address), ...le32(address + size), ...le32(0), ...le32(0)]) });
    infoFlags |= 8;
    info.set([...le32(1), ...le32(MODULES_ADDRESS)], 20);
  }
  // [BOOT.MODULE.1] Modules one after another, each at the first page
  // boundary after the kernel (with its bss) or the previous module; the
  // list of 16-byte entries {mod_start, mod_end, string 0, reserved} at 0x540.
  const modules = options.modules ?? [];
  if (modules.length > 0) {
    if (options.module !== undefined) return error('a single module (--initrd) and a list of modules (--module) cannot be given together');
    if (modules.length > MAX_MODULES) return error(`${modules.length} modules: at most ${MAX_MODULES} fit the module list at ${hex(MODULES_ADDRESS)}`);
    let next = Math.max(...loaded.writes.map((w) => w.address + w.bytes.length));
    const list = new Uint8Array(16 * modules.length);
    for (const [i, m] of modules.entries()) {
      next = Math.ceil(next / 4096) * 4096;
      if (next + m.bytes.length > memorySize) return error(`module ${m.name} (${m.bytes.length} bytes at ${hex(next)}) does not fit in ${memorySize / 1048576} MiB of memory`);
      list.set([...le32(next), ...le32(next + m.bytes.length), ...le32(0), ...le32(0)], 16 * i);
      extra.push({ address: next, bytes: m.bytes });
      next += m.bytes.length;
    }
    extra.push({ address: MODULES_ADDRESS, bytes: list });
    infoFlags |= 8;
    info.set([...le32(modules.length), ...le32(MODULES_ADDRESS)], 20);
  }
  info.set([...le32(infoFlags), ...le32(639), ...le32(memUpper)], 0);
  const gdt = Uint8Array.from([
    0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, // 0x08: base 0, limit 4 GiB, code execute/read, accessed, 32-bit
    0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0, // 0x10: base 0, limit 4 GiB, data read/write, accessed
  ]);
  const base = toCommon(initialState(memorySize));
  const data = flatSegment(0x10, false);
  const entry: CommonState = {
    ...base,
    regs: { ...base.regs, eax: BOOTLOADER_MAGIC, ebx: INFO_ADDRESS, esp: ENTRY_ESP },
    eip: loaded.entry,
    eflags: 0x2,
    segments: { cs: flatSegment(0x08, true), ds: data, es: data, fs: data, gs: data, ss: data },
    cr0: 0x11,
    gdtr: { base: GDT_ADDRESS, limit: 23 },
    idtr: { base: 0, limit: 0 },
  };
  return { kind: 'ok', writes: [{ address: INFO_ADDRESS, bytes: info }, { address: GDT_ADDRESS, bytes: gdt }, ...extra, ...loaded.writes], entry };
}
