// Physical memory as a persistent trie of 64-byte blocks.
//
// A write copies only the block it touches and the nodes on the path from
// the root down to it (each node has 64 children); every other block is
// shared with the previous state. A block never written is absent and reads
// as zero (or, in a memory made over a base, as the base's bytes: see
// memoryOver). Blocks and nodes are never changed once they are in a trie
// (only this file creates them, and it writes only into fresh copies), so a
// block or node that is the same object in two memories holds the same
// bytes in both: hasBlocks, samePage and changedPages rest on that.
//
// The block size is chosen for speed, not by the architecture: a store into
// a 4 KiB-page trie copied 4 KiB and a 1024-entry node, several
// microseconds; a 64-byte block is the largest that V8 keeps on its own heap
// (cheap to allocate and to collect).

/** Page size (the unit of samePage, pageBytes and changedPages). */
export const PAGE_SIZE = 4096;
/** Block size and node fan-out, as bit counts: 64 bytes, 64 children. */
const BLOCK_BITS = 6;
const BLOCK_SIZE = 1 << BLOCK_BITS;
const FANOUT_BITS = 6;
const FANOUT = 1 << FANOUT_BITS;
/** The level of the nodes whose children are blocks; a level-1 node covers one page. */
const PAGE_LEVEL = 1;

type Block = Uint8Array;
/** A node of level k has children of level k - 1; level 0 are the blocks. */
type Tree = Block | Node;
/** A node's array is only as long as its last child present: a sparse node
 * (the root of a large memory, say) is copied in a few steps, not 64. */
type Node = readonly (Tree | undefined)[];

export interface PhysicalMemory {
  /** Bytes of RAM, starting at physical address 0. */
  readonly size: number;
  /** Levels of nodes above the blocks: enough for addresses below `size`. */
  readonly levels: number;
  readonly root: Node | undefined;
  /** What an absent block reads as: null for zeros, or the bytes of a base
   * memory (memoryOver). */
  readonly base: Uint8Array | null;
}

/** Node levels needed so that blocks and nodes cover addresses 0 .. size - 1 (at least one page). */
function levelsFor(size: number): number {
  let levels = PAGE_LEVEL;
  while (levels < 5 && 2 ** (BLOCK_BITS + FANOUT_BITS * levels) < size) levels++;
  return levels;
}

/** [STATE.MEM.1] RAM of `size` bytes, all zero. */
export function emptyMemory(size: number): PhysicalMemory {
  return { size, levels: levelsFor(size), root: undefined, base: null };
}

/** RAM whose unwritten blocks read as the bytes of `base` (its length is the
 * size). For the properties that let the model's monitor work on impl's RAM
 * (properties/vmm/impl-host.ts): `base` is read when the model reads, never
 * written; changedPages(memoryOver(b), m) names the pages the model wrote. */
export function memoryOver(base: Uint8Array): PhysicalMemory {
  return { size: base.length, levels: levelsFor(base.length), root: undefined, base };
}

/** The bytes a tree of each level covers: 64 for a block, 4 KiB for a level-1 node, … (levels 0 to 5). */
const SPAN = [0, 1, 2, 3, 4, 5].map((level) => 2 ** (BLOCK_BITS + FANOUT_BITS * level));

const childIndex = (address: number, level: number): number => (address >>> (BLOCK_BITS + FANOUT_BITS * (level - 1))) & (FANOUT - 1);

/** The block holding `address` (undefined when never written). */
function blockAt(memory: PhysicalMemory, address: number): Block | undefined {
  let tree: Tree | undefined = memory.root;
  for (let level = memory.levels; level >= 1 && tree !== undefined; level--) tree = (tree as Node)[childIndex(address, level)];
  return tree as Block | undefined;
}

/** The node of `level` holding `address` (undefined when nothing under it was written). */
function nodeAt(memory: PhysicalMemory, address: number, level: number): Node | undefined {
  let tree: Tree | undefined = memory.root;
  for (let l = memory.levels; l > level && tree !== undefined; l--) tree = (tree as Node)[childIndex(address, l)];
  return tree as Node | undefined;
}

/** A fresh copy of the block at `start` as it reads now (the base's bytes
 * when never written), to be changed before it goes into a trie. */
function freshBlock(memory: PhysicalMemory, old: Block | undefined, start: number): Uint8Array {
  if (old !== undefined) return new Uint8Array(old);
  const block = new Uint8Array(BLOCK_SIZE);
  if (memory.base !== null) block.set(memory.base.subarray(start, Math.min(start + BLOCK_SIZE, memory.size)));
  return block;
}

/** [STATE.MEM.2] Outside RAM, reads give 0xFF (no device answers) and writes
 * are dropped: the manual leaves this to the platform; we choose the PC
 * behaviour of an empty bus. */
export function readByte(memory: PhysicalMemory, address: number): number {
  address >>>= 0;
  if (address >= memory.size) return 0xff;
  const block = blockAt(memory, address);
  if (block !== undefined) return block[address & (BLOCK_SIZE - 1)]!;
  return memory.base === null ? 0 : memory.base[address]!;
}

/** Little-endian read of 1, 2 or 4 bytes; may cross a block or page boundary. */
export function readPhysical(memory: PhysicalMemory, address: number, bytes: 1 | 2 | 4): number {
  address >>>= 0;
  const offset = address & (BLOCK_SIZE - 1);
  if (offset + bytes <= BLOCK_SIZE && address + bytes <= memory.size) {
    const block = blockAt(memory, address);
    const b = block ?? memory.base;
    if (b === null) return 0;
    const i = block === undefined ? address : offset;
    if (bytes === 1) return b[i]!;
    if (bytes === 2) return b[i]! | (b[i + 1]! << 8);
    return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
  }
  let value = 0;
  for (let i = bytes - 1; i >= 0; i--) value = ((value << 8) | readByte(memory, address + i)) >>> 0;
  return value;
}

/** Copy `length` bytes out (for loaders, facades and tests). */
export function readBytes(memory: PhysicalMemory, address: number, length: number): Uint8Array {
  return copyOut(memory, address, new Uint8Array(length));
}

/** readBytes into `out` (as many bytes as it holds), which is returned: for
 * callers that copy page after page through one buffer. */
export function readBytesInto(memory: PhysicalMemory, address: number, out: Uint8Array): Uint8Array {
  return copyOut(memory, address, out.fill(0));
}

/** The bytes from `address` into `out`, which is zero. */
function copyOut(memory: PhysicalMemory, address: number, out: Uint8Array): Uint8Array {
  address >>>= 0;
  const length = out.length;
  if (address + length > 2 ** 32) {
    // The range wraps around the top of the address space: byte by byte.
    for (let i = 0; i < length; i++) out[i] = readByte(memory, address + i);
    return out;
  }
  const end = Math.min(address + length, memory.size);
  // Past the end of RAM: all ones [STATE.MEM.2].
  if (address + length > end) out.fill(0xff, Math.max(0, end - address));
  if (end > address) readTree(memory, memory.root, memory.levels, 0, address, end, out);
  return out;
}

/** Copy the bytes of [address, end) that lie under `tree` (of `level`,
 * covering [start, start + span)) into out (out[0] is `address`). Absent
 * parts stay zero, or are the base's bytes. */
function readTree(memory: PhysicalMemory, tree: Tree | undefined, level: number, start: number,
  address: number, end: number, out: Uint8Array): void {
  const span = SPAN[level]!;
  const first = Math.max(address, start), last = Math.min(end, start + span);
  if (tree === undefined) {
    if (memory.base !== null) out.set(memory.base.subarray(first, last), first - address);
    return;
  }
  if (level === PAGE_LEVEL) {
    // The blocks of one page, in a loop (a call per block costs more than its copy).
    for (let at = first; at < last;) {
      const blockStart = at - (at & (BLOCK_SIZE - 1));
      const blockEnd = Math.min(last, blockStart + BLOCK_SIZE);
      const block = (tree as Node)[(at >>> BLOCK_BITS) & (FANOUT - 1)] as Block | undefined;
      if (block !== undefined) out.set(blockEnd - at === BLOCK_SIZE ? block : block.subarray(at - blockStart, blockEnd - blockStart), at - address);
      else if (memory.base !== null) out.set(memory.base.subarray(at, blockEnd), at - address);
      at = blockEnd;
    }
    return;
  }
  const childSpan = span / FANOUT;
  for (let c = Math.floor((first - start) / childSpan); c <= Math.floor((last - 1 - start) / childSpan); c++) {
    readTree(memory, (tree as Node)[c], level - 1, start + c * childSpan, address, end, out);
  }
}

/**
 * The tree `tree` of `level` (covering [start, start + span)) with
 * `bytes` written at `address` onwards, up to `end` (exclusive). Only
 * the blocks and nodes the range touches are copied.
 */
function writeTree(memory: PhysicalMemory, tree: Tree | undefined, level: number, start: number,
  address: number, end: number, bytes: ArrayLike<number>): Tree {
  if (level === 0) {
    const first = Math.max(address, start), last = Math.min(end, start + BLOCK_SIZE);
    // A block written whole from a byte array is a copy of that part of it
    // (a copy by the constructor: a Node Buffer's slice would be a view).
    if (first === start && last === start + BLOCK_SIZE && bytes instanceof Uint8Array) return new Uint8Array(bytes.subarray(first - address, last - address));
    const block = freshBlock(memory, tree as Block | undefined, start);
    // At most 64 bytes: a loop (a subarray to copy from is a new object, and costs more).
    for (let a = first; a < last; a++) block[a - start] = bytes[a - address]! & 0xff;
    return block;
  }
  const node: (Tree | undefined)[] = tree === undefined ? [] : (tree as Node).slice();
  const childSpan = SPAN[level - 1]!;
  const firstChild = Math.max(0, Math.floor((address - start) / childSpan));
  const lastChild = Math.min(FANOUT - 1, Math.floor((end - 1 - start) / childSpan));
  for (let c = firstChild; c <= lastChild; c++) {
    node[c] = writeTree(memory, node[c], level - 1, start + c * childSpan, address, end, bytes);
  }
  return node;
}

/** A new memory with `bytes` written at `address` (bytes beyond RAM dropped). */
export function writeBytes(memory: PhysicalMemory, address: number, bytes: ArrayLike<number>): PhysicalMemory {
  address >>>= 0;
  const end = Math.min(address + bytes.length, memory.size);
  if (end <= address) return memory;
  const root = writeTree(memory, memory.root, memory.levels, 0, address, end, bytes) as Node;
  return { size: memory.size, levels: memory.levels, root, base: memory.base };
}

/** Little-endian write of 1, 2 or 4 bytes. A store of the bytes already
 * there returns `memory` itself. */
export function writePhysical(memory: PhysicalMemory, address: number, bytes: 1 | 2 | 4, value: number): PhysicalMemory {
  address >>>= 0;
  const offset = address & (BLOCK_SIZE - 1);
  if (offset + bytes > BLOCK_SIZE || address + bytes > memory.size) {
    // Across two blocks, or past the end of RAM: byte by byte, each in one block.
    let m = memory;
    for (let i = 0; i < bytes; i++) if (address + i < memory.size) m = writePhysical(m, address + i, 1, (value >>> (8 * i)) & 0xff);
    return m;
  }
  // A store of the bytes already there changes nothing: memory is a value,
  // and that value has not changed (a guest zeroing fresh RAM, a spin
  // lock's unchanged word). Reading the block first saves the copies of the
  // block and of its path, and the new memory.
  if (holds(blockAt(memory, address), memory.base, address - offset, offset, bytes, value)) return memory;
  // Otherwise one block, and the nodes on its path, copied.
  const root = writeBlock(memory, memory.root, memory.levels, address, offset, bytes, value) as Node;
  return { size: memory.size, levels: memory.levels, root, base: memory.base };
}

/**
 * Test-only mutants (test/cpu/memory-trie.test.ts): a store taken for one of
 * the bytes already there whatever it writes (`sameAlways`), or when its
 * first byte is (`firstByteOnly`), to prove that the tests notice a wrong
 * shortcut. False in every normal run.
 */
export const unchangedStoreMutation: { sameAlways: boolean; firstByteOnly: boolean } = { sameAlways: false, firstByteOnly: false };

/** Whether the 1, 2 or 4 bytes at `offset` in a block (undefined: reading as
 * `base` from `start`, or as zeros) already are those of `value`. */
function holds(block: Block | undefined, base: Uint8Array | null, start: number, offset: number, bytes: number, value: number): boolean {
  if (unchangedStoreMutation.sameAlways) return true;
  const b = block ?? base;
  const at = block === undefined ? start + offset : offset;
  for (let i = 0; i < (unchangedStoreMutation.firstByteOnly ? 1 : bytes); i++) {
    if ((b === null ? 0 : b[at + i]!) !== ((value >>> (8 * i)) & 0xff)) return false;
  }
  return true;
}

/** `tree` (of `level`) with the 1, 2 or 4 bytes at `address` (within one
 * block) replaced: a fresh block, and fresh copies of the nodes above it. */
function writeBlock(memory: PhysicalMemory, tree: Tree | undefined, level: number, address: number, offset: number, bytes: number, value: number): Tree {
  if (level === 0) {
    const block = freshBlock(memory, tree as Block | undefined, address - offset);
    for (let i = 0; i < bytes; i++) block[offset + i] = (value >>> (8 * i)) & 0xff;
    return block;
  }
  const c = childIndex(address, level);
  const node: (Tree | undefined)[] = tree === undefined ? [] : (tree as Node).slice();
  node[c] = writeBlock(memory, node[c], level - 1, address, offset, bytes, value);
  return node;
}

// ---------------------------------------------------------------- comparing versions

/** The blocks holding [address, address + length) (length ≤ 64, within
 * RAM): the first and the last. A memory that still has the same blocks
 * there (hasBlocks) holds the same bytes there. For caches of pure functions
 * of memory contents (the decode cache in cycle.ts), which keep these two
 * references rather than a whole memory (that would keep all its blocks alive). */
export function blocksOf(memory: PhysicalMemory, address: number, length: number): readonly [Uint8Array | undefined, Uint8Array | undefined] {
  return [blockAt(memory, address), blockAt(memory, address + length - 1)];
}

/** Whether the memory still has exactly these blocks (from blocksOf) at [address, address + length). */
export function hasBlocks(memory: PhysicalMemory, address: number, length: number, blocks: readonly [Uint8Array | undefined, Uint8Array | undefined]): boolean {
  const first = blockAt(memory, address);
  if (first !== blocks[0]) return false;
  // Within one block (most instructions), the last block is the first.
  const oneBlock = (address & (BLOCK_SIZE - 1)) + length <= BLOCK_SIZE;
  return oneBlock ? first === blocks[1] : blockAt(memory, address + length - 1) === blocks[1];
}

/** Whether the page holding `address` was left untouched between the two
 * memories (no write reached it). False says nothing (a write may have
 * stored the same bytes). */
export function samePage(a: PhysicalMemory, b: PhysicalMemory, address: number): boolean {
  return a.base === b.base && nodeAt(a, address, PAGE_LEVEL) === nodeAt(b, address, PAGE_LEVEL);
}

/** A copy of the page at `address` (rounded down to a page), or undefined
 * when it reads as zeros because no byte of it was ever written (over a
 * base, every page is the base's or written: never undefined). */
export function pageBytes(memory: PhysicalMemory, address: number): Uint8Array | undefined {
  const start = (address & ~(PAGE_SIZE - 1)) >>> 0;
  if (memory.base === null && nodeAt(memory, start, PAGE_LEVEL) === undefined) return undefined;
  return readBytes(memory, start, PAGE_SIZE);
}

/** The addresses of the pages in [start, end) that a write reached between
 * `before` and `after` (a version made from it by writes), in order: the
 * parts of the two tries that are not the same object. A byte that
 * writePhysical stores over the same byte reaches nothing. */
export function changedPages(before: PhysicalMemory, after: PhysicalMemory, start = 0, end = after.size): number[] {
  const out: number[] = [];
  const walk = (a: Tree | undefined, b: Tree | undefined, level: number, base: number): void => {
    if (a === b || b === undefined) return;
    const span = SPAN[level]!;
    if (base + span <= start || base >= end) return;
    if (level === PAGE_LEVEL) { out.push(base); return; }
    const childSpan = span / FANOUT;
    for (let c = 0; c < FANOUT; c++) walk((a as Node | undefined)?.[c], (b as Node)[c], level - 1, base + c * childSpan);
  };
  walk(before.levels === after.levels ? before.root : undefined, after.root, after.levels, 0);
  return out;
}
