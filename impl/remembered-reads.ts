// The reads of system tables that a memo relies on: a delivery's gate, code
// descriptor, TSS ring stack and stack descriptor (delivery.ts, GateMemo),
// an IRET's code and stack descriptors (ops/far.ts, IretMemo). A memo lets
// the next event skip those reads and the checks on what they gave; that is
// sound while the generic path would read the same values, without a walk
// or a fault. Rather than reading the words again each time, a memo keeps:
// - the TLB entry of each page read (paging on): while the entry is the
//   same and not empty, a supervisor read there hits it (no walk, no fault,
//   nothing written) and reaches the same physical bytes. An entry flushed
//   since (a CR3 write, INVLPG) is walked again as the generic path would
//   walk it, and kept if the page is still in the same frame (readsHold);
// - the bytes themselves, watched (Cpu.watchRead): every write that could
//   change one is reported (PhysicalMemory's write hook: the frame is
//   marked in memory.codePages, which every writer of RAM tests, and the
//   byte in Cpu.codeBytes) and moves Cpu.watchEpoch. While the epoch is the
//   one remembered, the bytes hold what they held when they were watched.
// And when they were watched they held the words the checks saw: remember()
// reads them once more, since the event itself may have written over them
// after reading them (a delivery's frame pushed over the TSS).
import type { Cpu, RememberedReads } from './cpu';
import { CR0_PG, translate } from './paging';
import { mutated } from './mutants';

/** Watch the reads at `linear` (of `sizes[k]` bytes each, within one page)
 * that gave `words`, or null when they can't be kept: a read without a TLB
 * entry (paging on) or past the end of RAM, or a word memory no longer holds. */
export function rememberReads(cpu: Cpu, linear: readonly number[], sizes: readonly number[],
  words: readonly number[]): RememberedReads | null {
  const paged = (cpu.cr0 & CR0_PG) !== 0, memory = cpu.memory;
  const pages: number[] = [], firstReads: number[] = [], entries: number[] = [], physical: number[] = [];
  for (let k = 0; k < linear.length; k++) {
    let address = linear[k];
    if ((address & 0xfff) + sizes[k] > 0x1000) return null;
    if (paged) {
      const page = address >>> 12, entry = cpu.tlb[page];
      if (entry === 0) return null;
      if (!pages.includes(page)) { pages.push(page); firstReads.push(address); entries.push(entry); }
      address = ((entry & ~0xfff) | (address & 0xfff)) >>> 0;
    }
    if (address + sizes[k] > memory.size) return null;
    const now = sizes[k] === 2 ? memory.read16(address) : memory.read32(address);
    if (now !== words[k] >>> 0 && !mutated('memo-unverified-when-made')) return null;
    physical.push(address);
  }
  for (let k = 0; k < physical.length; k++) cpu.watchRead(physical[k], sizes[k]);
  return { epoch: cpu.watchEpoch, paged, pages, firstReads, entries };
}

/**
 * Whether the generic path would make the remembered reads again and find
 * the same words: the same PG, no watched byte written since, and each page
 * read through the same TLB entry, or (flushed since) through a new one to
 * the same frame. The reads are in the order the generic path makes them,
 * and it makes them all when the words are the same (each check on them
 * passes again), so a page whose entry is empty is walked here as it would
 * walk it, by its first read: after the pages before it, with the same
 * accessed bits set, the same entry filled, the same #PF (thrown from here)
 * if it faults. The walk may write a watched byte (a page table inside a
 * descriptor table): then the words may differ and nothing more is walked.
 * With a new frame the reads do not hold; the walks done stand, as the
 * generic path, reading the same words up to there, would make them too.
 */
export function readsHold(cpu: Cpu, reads: RememberedReads): boolean {
  if (reads.paged !== ((cpu.cr0 & CR0_PG) !== 0) || reads.epoch !== cpu.watchEpoch) return false;
  if (!reads.paged || mutated('memo-ignores-tlb')) return true;
  const tlb = cpu.tlb, pages = reads.pages, entries = reads.entries;
  for (let k = 0; k < pages.length; k++) {
    const entry = tlb[pages[k]];
    if (entry === entries[k]) continue;
    if (entry !== 0) return false;
    if (mutated('memo-refresh-unwalked')) continue;
    translate(cpu, reads.firstReads[k], false, false);
    if (reads.epoch !== cpu.watchEpoch) return false;
    const refilled = tlb[pages[k]];
    if ((refilled & ~0xfff) !== (entries[k] & ~0xfff) && !mutated('memo-refresh-ignores-frame')) return false;
    entries[k] = refilled;
  }
  return true;
}
