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

type TlbNode = readonly (TlbEntry | undefined)[];

/** Two-level persistent trie keyed by linear page number (bits 31..12). */
export interface Tlb {
  readonly directory: readonly (TlbNode | undefined)[];
}

export const emptyTlb: Tlb = { directory: [] };

export function tlbLookup(tlb: Tlb, linear: number): TlbEntry | undefined {
  const node = tlb.directory[linear >>> 22];
  return node === undefined ? undefined : node[(linear >>> 12) & 1023];
}

export function tlbInsert(tlb: Tlb, linear: number, entry: TlbEntry): Tlb {
  const d = linear >>> 22;
  const directory = tlb.directory.slice();
  const node = directory[d] === undefined ? new Array<TlbEntry | undefined>(1024) : directory[d]!.slice();
  node[(linear >>> 12) & 1023] = entry;
  directory[d] = node;
  return { directory };
}

/** Drop the translation of one page (a whole 4 MiB region if it was large). */
export function tlbInvalidate(tlb: Tlb, linear: number): Tlb {
  const entry = tlbLookup(tlb, linear);
  if (entry === undefined) return tlb;
  const d = linear >>> 22;
  const directory = tlb.directory.slice();
  if (entry.large) {
    directory[d] = undefined;
  } else {
    const node = directory[d]!.slice();
    node[(linear >>> 12) & 1023] = undefined;
    directory[d] = node;
  }
  return { directory };
}
