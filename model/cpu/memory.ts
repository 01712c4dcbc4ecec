// Physical memory as a persistent two-level trie of 4 KiB pages.
//
// A write copies only the page it touches and the one directory node above
// it; every other page is shared with the previous state. A page never
// written is absent and reads as zero. The page arrays are never mutated
// after they are placed in a trie (they are frozen by convention: only this
// file creates them, and only on a fresh copy).

/** Page size and trie shape: directory index = address bits 31..22, page
 * index = bits 21..12 (1024 pages per node), byte = bits 11..0. Code outside
 * this file should use pageAt rather than walk the trie itself. */
export const PAGE_SIZE = 4096;
const PAGES_PER_NODE = 1024;
const NODE_SHIFT = 22;
const PAGE_MASK = PAGES_PER_NODE - 1;

type PageNode = readonly (Uint8Array | undefined)[];

export interface PhysicalMemory {
  /** Bytes of RAM, starting at physical address 0. */
  readonly size: number;
  readonly directory: readonly (PageNode | undefined)[];
}

/** [STATE.MEM.1] RAM of `size` bytes, all zero. */
export function emptyMemory(size: number): PhysicalMemory {
  return { size, directory: [] };
}

/** A fresh copy of a page (new + set is several times faster than slice in V8). */
function copyPage(old: Uint8Array | undefined): Uint8Array {
  const page = new Uint8Array(PAGE_SIZE);
  if (old !== undefined) page.set(old);
  return page;
}

/** The page holding `address` (undefined when never written). */
export function pageAt(memory: PhysicalMemory, address: number): Uint8Array | undefined {
  const node = memory.directory[address >>> NODE_SHIFT];
  return node === undefined ? undefined : node[(address >>> 12) & PAGE_MASK];
}

/** [STATE.MEM.2] Outside RAM, reads give 0xFF (no device answers) and writes
 * are dropped: the manual leaves this to the platform; we choose the PC
 * behaviour of an empty bus. */
export function readByte(memory: PhysicalMemory, address: number): number {
  address >>>= 0;
  if (address >= memory.size) return 0xff;
  const page = pageAt(memory, address);
  return page === undefined ? 0 : page[address & 0xfff]!;
}

/** Little-endian read of 1, 2 or 4 bytes; may cross a page boundary. */
export function readPhysical(memory: PhysicalMemory, address: number, bytes: 1 | 2 | 4): number {
  address >>>= 0;
  const offset = address & 0xfff;
  if (offset + bytes <= PAGE_SIZE && address + bytes <= memory.size) {
    const page = pageAt(memory, address);
    if (page === undefined) return 0;
    if (bytes === 1) return page[offset]!;
    if (bytes === 2) return page[offset]! | (page[offset + 1]! << 8);
    return (page[offset]! | (page[offset + 1]! << 8) | (page[offset + 2]! << 16) | (page[offset + 3]! << 24)) >>> 0;
  }
  let value = 0;
  for (let i = bytes - 1; i >= 0; i--) value = ((value << 8) | readByte(memory, address + i)) >>> 0;
  return value;
}

/** Copy `length` bytes out (for loaders, facades and tests). */
export function readBytes(memory: PhysicalMemory, address: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  // Page by page: a present page is copied at once, an absent one stays zero.
  for (let i = 0; i < length;) {
    const a = (address + i) >>> 0;
    const chunk = Math.min(length - i, PAGE_SIZE - (a & 0xfff));
    if (a >= memory.size || a + chunk > memory.size) {
      for (let j = 0; j < chunk; j++) out[i + j] = readByte(memory, a + j);
    } else {
      const page = pageAt(memory, a);
      if (page !== undefined) out.set(page.subarray(a & 0xfff, (a & 0xfff) + chunk), i);
    }
    i += chunk;
  }
  return out;
}

/** A new memory with `bytes` written at `address` (bytes beyond RAM dropped). */
export function writeBytes(memory: PhysicalMemory, address: number, bytes: ArrayLike<number>): PhysicalMemory {
  address >>>= 0;
  let directory: (PageNode | undefined)[] | null = null;
  const copiedNodes = new Map<number, (Uint8Array | undefined)[]>();
  // The bytes are contiguous, so each page is met once: copy it, fill the
  // part of it the bytes cover, go on to the next.
  for (let i = 0; i < bytes.length;) {
    const a = address + i;
    if (a >= memory.size || a > 0xffffffff) break;
    const offset = a & 0xfff;
    const chunk = Math.min(bytes.length - i, PAGE_SIZE - offset, memory.size - a);
    const d = a >>> NODE_SHIFT;
    if (directory === null) directory = memory.directory.slice();
    let node = copiedNodes.get(d);
    if (node === undefined) {
      const old = directory[d];
      node = old === undefined ? new Array<Uint8Array | undefined>(PAGES_PER_NODE) : old.slice();
      copiedNodes.set(d, node);
      directory[d] = node;
    }
    const page = copyPage(node[(a >>> 12) & PAGE_MASK]);
    if (bytes instanceof Uint8Array) page.set(bytes.subarray(i, i + chunk), offset);
    else for (let j = 0; j < chunk; j++) page[offset + j] = bytes[i + j]! & 0xff;
    node[(a >>> 12) & PAGE_MASK] = page;
    i += chunk;
  }
  return directory === null ? memory : { size: memory.size, directory };
}

/** Little-endian write of 1, 2 or 4 bytes. */
export function writePhysical(memory: PhysicalMemory, address: number, bytes: 1 | 2 | 4, value: number): PhysicalMemory {
  address >>>= 0;
  const offset = address & 0xfff;
  if (offset + bytes <= PAGE_SIZE && address + bytes <= memory.size) {
    // Fast path: one page, one node copied.
    const d = address >>> NODE_SHIFT;
    const directory = memory.directory.slice();
    const oldNode = directory[d];
    const node = oldNode === undefined ? new Array<Uint8Array | undefined>(PAGES_PER_NODE) : oldNode.slice();
    const oldPage = node[(address >>> 12) & PAGE_MASK];
    const page = copyPage(oldPage);
    for (let i = 0; i < bytes; i++) page[offset + i] = (value >>> (8 * i)) & 0xff;
    node[(address >>> 12) & PAGE_MASK] = page;
    directory[d] = node;
    return { size: memory.size, directory };
  }
  const b: number[] = [];
  for (let i = 0; i < bytes; i++) b.push((value >>> (8 * i)) & 0xff);
  return writeBytes(memory, address, b);
}
