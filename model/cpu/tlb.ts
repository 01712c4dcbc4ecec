// The TLB as explicit state: a persistent map from linear page number to the
// translation the last page walk found. Entries are never checked against
// memory again: after the guest edits a page table, the old translation is
// used until INVLPG or a CR3 write removes it. That staleness is
// architectural (the manual allows it) and is what lets a test notice a
// missing TLB flush.

export interface TlbEntry {
  /** Physical address of the 4 KiB frame. */
  readonly frame: number;
  /** Both levels allow user access. */
  readonly user: boolean;
  /** Both levels allow writes. */
  readonly writable: boolean;
  /** The dirty bit was already set (or has been set by us) in the PTE/PDE. */
  readonly dirty: boolean;
  /** Came from a 4 MiB page (INVLPG then drops the whole 4 MiB region). */
  readonly large: boolean;
}

/** A node of the trie: 32 children, either nodes or (at the last level)
 * entries. A node's array is only as long as its last child present. */
type TlbNode = readonly (TlbNode | TlbEntry | undefined)[];

/**
 * Persistent trie keyed by the linear page number (bits 31..12), five bits
 * a level: 31..27, 26..22, 21..17, 16..12. An insert copies four nodes of at
 * most 32 children. (A directory of 1024 tables of 1024 entries, the shape
 * of the page tables, copied a whole 1024-entry table per insert: 8 KiB, a
 * quarter of the syscall kernel's garbage; bench/README.md.) The two top
 * levels together index a 4 MiB region, as linear[31:22] does.
 */
export interface Tlb {
  readonly root: TlbNode;
}

export const emptyTlb: Tlb = { root: [] };

/** The shift of each level's five bits of a linear address, top level first. */
const SHIFTS = [27, 22, 17, 12] as const;
const LEVEL_MASK = 31;

export function tlbLookup(tlb: Tlb, linear: number): TlbEntry | undefined {
  const n0 = tlb.root[(linear >>> 27) & LEVEL_MASK] as TlbNode | undefined;
  if (n0 === undefined) return undefined;
  const n1 = n0[(linear >>> 22) & LEVEL_MASK] as TlbNode | undefined;
  if (n1 === undefined) return undefined;
  const n2 = n1[(linear >>> 17) & LEVEL_MASK] as TlbNode | undefined;
  if (n2 === undefined) return undefined;
  return n2[(linear >>> 12) & LEVEL_MASK] as TlbEntry | undefined;
}

/** `node` (of level `level`) with `child` at `linear`'s index of the level
 * below `depth` levels down, the nodes on the way copied. */
function withChild(node: TlbNode | undefined, level: number, depth: number, linear: number, child: TlbNode | TlbEntry | undefined): TlbNode {
  const copy = node === undefined ? [] : node.slice();
  const i = (linear >>> SHIFTS[level]!) & LEVEL_MASK;
  copy[i] = level === depth ? child : withChild(copy[i] as TlbNode | undefined, level + 1, depth, linear, child);
  return copy;
}

export function tlbInsert(tlb: Tlb, linear: number, entry: TlbEntry): Tlb {
  return { root: withChild(tlb.root, 0, SHIFTS.length - 1, linear, entry) };
}

/** Drop the translation of one page (a whole 4 MiB region if it was large). */
export function tlbInvalidate(tlb: Tlb, linear: number): Tlb {
  const entry = tlbLookup(tlb, linear);
  if (entry === undefined) return tlb;
  // A 4 MiB region is the subtree under the two top levels.
  return { root: withChild(tlb.root, 0, entry.large ? 1 : SHIFTS.length - 1, linear, undefined) };
}
