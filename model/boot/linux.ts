// Loading a Linux/x86 bzImage by the 32-bit boot protocol
// (Documentation/x86/boot.rst of the kernel source): read the setup header,
// place the protected-mode kernel, build boot_params (the "zero page") with
// an e820 map, the command line and the initrd, install the flat boot GDT
// and enter the kernel's 32-bit entry with ESI = boot_params. No real mode,
// no BIOS. Pure: it returns the writes and the entry state; a machine
// applies them (as for Multiboot, model/boot/multiboot.ts).
import type { CommonState } from '../machine';
import { flatSegment, initialState, toCommon } from '../cpu/state';
import type { MemoryWrite } from './multiboot';

export type LinuxBootResult =
  | { readonly kind: 'ok'; readonly writes: readonly MemoryWrite[]; readonly entry: CommonState; readonly layout: LinuxLayout }
  | { readonly kind: 'error'; readonly message: string };

/** Where the loader put things (for messages and tests). */
export interface LinuxLayout {
  readonly protocol: number;
  readonly kernelAddress: number;
  readonly kernelSize: number;
  readonly bootParams: number;
  readonly commandLine: number;
  readonly initrd: { readonly address: number; readonly size: number } | null;
}

export interface LinuxBootOptions {
  readonly commandLine: string;
  readonly initrd: Uint8Array | null;
}

/** "HdrS" at offset 0x202 of a bzImage. */
export const HDRS_MAGIC = 0x53726448;
/** [LINUX.HEADER.2] The oldest boot protocol we load: 2.06 (Linux 2.6.22),
 * the first to state cmdline_size. */
export const MIN_PROTOCOL = 0x0206;
/** [LINUX.PARAMS.1] Our fixed placement of boot_params, the command line, the boot GDT and the stack. */
export const BOOT_PARAMS_ADDRESS = 0x10000;
export const COMMAND_LINE_ADDRESS = 0x20000;
export const LINUX_GDT_ADDRESS = 0x800;
export const LINUX_ENTRY_ESP = 0x10000;
/** [LINUX.ENTRY.1] The boot protocol's selectors. */
export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;

const u8 = (b: Uint8Array, at: number): number => b[at] ?? 0;
const u16 = (b: Uint8Array, at: number): number => u8(b, at) | (u8(b, at + 1) << 8);
const u32 = (b: Uint8Array, at: number): number => (u16(b, at) | (u16(b, at + 2) << 16)) >>> 0;
const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const version = (p: number): string => `${p >>> 8}.${(p & 0xff).toString().padStart(2, '0')}`;
const error = (message: string): LinuxBootResult => ({ kind: 'error', message });

function put32(b: Uint8Array, at: number, value: number): void {
  b[at] = value & 0xff; b[at + 1] = (value >>> 8) & 0xff; b[at + 2] = (value >>> 16) & 0xff; b[at + 3] = (value >>> 24) & 0xff;
}
function put64(b: Uint8Array, at: number, value: number): void {
  put32(b, at, value % 0x100000000);
  put32(b, at + 4, Math.floor(value / 0x100000000));
}

/** [LINUX.HEADER.1] A bzImage: the boot flag 0xAA55 at 0x1FE and "HdrS" at 0x202. */
export function isBzImage(image: Uint8Array): boolean {
  return image.length >= 0x206 && u16(image, 0x1fe) === 0xaa55 && u32(image, 0x202) === HDRS_MAGIC;
}

/** [LINUX.E820.1] The memory map we give the kernel: conventional memory
 * below 0x9FC00 usable, 0x9FC00..0xFFFFF reserved (where a PC has its
 * EBDA, video memory and ROMs; nothing is there on our machine, but a
 * kernel expects the hole), and RAM from 1 MiB to the end usable. */
export function e820Map(memorySize: number): { address: number; size: number; type: 1 | 2 }[] {
  return [
    { address: 0, size: 0x9fc00, type: 1 },
    { address: 0x9fc00, size: 0x100000 - 0x9fc00, type: 2 },
    { address: 0x100000, size: memorySize - 0x100000, type: 1 },
  ];
}

/**
 * Load a bzImage into a machine of `memorySize` bytes.
 */
export function loadLinux(image: Uint8Array, memorySize: number, options: LinuxBootOptions): LinuxBootResult {
  // [LINUX.HEADER.1] The setup header.
  if (image.length < 0x268) return error(`truncated: ${image.length} bytes, shorter than the setup header (0x268 bytes)`);
  if (!isBzImage(image)) return error('not a bzImage: no boot flag 0xAA55 at offset 0x1fe and "HdrS" at 0x202');
  // [LINUX.HEADER.2] Protocol 2.06 or later, a bzImage (loaded high).
  const protocol = u16(image, 0x206);
  if (protocol < MIN_PROTOCOL) return error(`boot protocol ${version(protocol)} (offset 0x206) is older than ${version(MIN_PROTOCOL)}, the oldest we load`);
  const loadflags = u8(image, 0x211);
  if ((loadflags & 1) === 0) return error('loadflags (offset 0x211) bit 0 is clear: a zImage loaded at 0x10000, not a bzImage; only bzImages are loaded');
  // [LINUX.HEADER.3] The protected-mode kernel follows the real-mode setup:
  // (setup_sects + 1) sectors of 512 bytes, setup_sects 0 meaning 4; its
  // length is syssize 16-byte paragraphs.
  const setupSects = u8(image, 0x1f1) === 0 ? 4 : u8(image, 0x1f1);
  const kernelOffset = (setupSects + 1) * 512;
  const kernelSize = u32(image, 0x1f4) * 16;
  if (kernelOffset + kernelSize > image.length) {
    return error(`truncated: setup_sects ${setupSects} and syssize ${hex(u32(image, 0x1f4))} (offsets 0x1f1, 0x1f4) need ${kernelOffset + kernelSize} bytes, the file has ${image.length}`);
  }
  // [LINUX.LOAD.1] The kernel goes to code32_start (1 MiB for a bzImage);
  // it needs init_size bytes there to decompress itself in place.
  const kernelAddress = u32(image, 0x214);
  const initSize = protocol >= 0x020a ? u32(image, 0x260) : kernelSize * 4;
  const kernelEnd = kernelAddress + Math.max(initSize, kernelSize);
  if (kernelEnd > memorySize) {
    return error(`the kernel needs ${hex(kernelAddress)}..${hex(kernelEnd)} (init_size ${hex(initSize)} at code32_start, offsets 0x260, 0x214) but memory ends at ${hex(memorySize)} (${memorySize / 1048576} MiB)`);
  }
  if (kernelAddress < 0x100000) return error(`code32_start ${hex(kernelAddress)} (offset 0x214) is below 1 MiB`);
  // [LINUX.CMDLINE.1] The command line, NUL-terminated, at most cmdline_size bytes before the NUL.
  const commandLine = new TextEncoder().encode(options.commandLine);
  const cmdlineSize = u32(image, 0x238);
  if (commandLine.length > cmdlineSize) {
    return error(`the command line is ${commandLine.length} bytes; this kernel takes at most ${cmdlineSize} (cmdline_size, offset 0x238)`);
  }
  // [LINUX.INITRD.1] The initrd goes as high as it can: page-aligned, below
  // the end of memory and below initrd_addr_max, above the kernel's init_size.
  let initrd: LinuxLayout['initrd'] = null;
  if (options.initrd !== null) {
    const size = options.initrd.length;
    const ceiling = Math.min(memorySize, u32(image, 0x22c) + 1);
    const address = Math.floor((ceiling - size) / 4096) * 4096;
    const floor = Math.ceil(kernelEnd / 4096) * 4096;
    if (size === 0 || address < floor) {
      return error(`the initrd is ${size} bytes; at most ${Math.max(0, ceiling - floor)} fit between the kernel's end ${hex(floor)} and ${hex(ceiling)} (memory size and initrd_addr_max, offset 0x22c)`);
    }
    initrd = { address, size };
  }

  // [LINUX.PARAMS.1] boot_params: zero, then the setup header copied from
  // the image at its own offset (0x1F1 up to 0x202 + the byte at 0x201).
  const params = new Uint8Array(4096);
  const headerEnd = Math.min(0x202 + u8(image, 0x201), 4096);
  params.set(image.subarray(0x1f1, headerEnd), 0x1f1);
  params[0x210] = 0xff; // type_of_loader: undefined
  params[0x211] = loadflags & ~0x80; // CAN_USE_HEAP clear: no real-mode heap
  put32(params, 0x228, COMMAND_LINE_ADDRESS); // cmd_line_ptr
  put32(params, 0x218, initrd?.address ?? 0); // ramdisk_image
  put32(params, 0x21c, initrd?.size ?? 0); // ramdisk_size
  // [LINUX.E820.1] The memory map, and alt_mem_k (KiB above 1 MiB) for kernels that ignore it.
  const map = e820Map(memorySize);
  map.forEach((e, i) => {
    put64(params, 0x2d0 + i * 20, e.address);
    put64(params, 0x2d0 + i * 20 + 8, e.size);
    put32(params, 0x2d0 + i * 20 + 16, e.type);
  });
  params[0x1e8] = map.length;
  put32(params, 0x1e0, Math.floor((memorySize - 0x100000) / 1024));

  const cmdline = new Uint8Array(commandLine.length + 1);
  cmdline.set(commandLine);
  // [LINUX.ENTRY.1] The boot GDT: __BOOT_CS (0x10) flat execute/read and
  // __BOOT_DS (0x18) flat read/write; entries 0 and 1 are null.
  const gdt = Uint8Array.from([
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, // 0x10: base 0, limit 4 GiB, code execute/read, accessed, 32-bit
    0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0, // 0x18: base 0, limit 4 GiB, data read/write, accessed
  ]);
  const writes: MemoryWrite[] = [
    { address: LINUX_GDT_ADDRESS, bytes: gdt },
    { address: BOOT_PARAMS_ADDRESS, bytes: params },
    { address: COMMAND_LINE_ADDRESS, bytes: cmdline },
    { address: kernelAddress, bytes: image.slice(kernelOffset, kernelOffset + kernelSize) },
  ];
  if (initrd !== null && options.initrd !== null) writes.push({ address: initrd.address, bytes: options.initrd });

  // [LINUX.ENTRY.1] Protected mode, paging off, interrupts off; CS =
  // __BOOT_CS, DS = ES = SS (and FS, GS) = __BOOT_DS, all flat; ESI =
  // boot_params; EBP = EDI = EBX = 0; EIP = code32_start.
  const base = toCommon(initialState(memorySize));
  const data = flatSegment(BOOT_DS, false);
  const entry: CommonState = {
    ...base,
    regs: { eax: 0, ecx: 0, edx: 0, ebx: 0, esp: LINUX_ENTRY_ESP, ebp: 0, esi: BOOT_PARAMS_ADDRESS, edi: 0 },
    eip: kernelAddress,
    eflags: 0x2,
    segments: { cs: flatSegment(BOOT_CS, true), ds: data, es: data, fs: data, gs: data, ss: data },
    cr0: 0x11,
    gdtr: { base: LINUX_GDT_ADDRESS, limit: gdt.length - 1 },
    idtr: { base: 0, limit: 0 },
  };
  return {
    kind: 'ok', writes, entry,
    layout: { protocol, kernelAddress, kernelSize, bootParams: BOOT_PARAMS_ADDRESS, commandLine: COMMAND_LINE_ADDRESS, initrd },
  };
}
