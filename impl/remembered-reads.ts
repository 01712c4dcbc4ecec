// The reads of system tables that a memo relies on: a delivery's gate, code
// descriptor, TSS ring stack and stack descriptor (delivery.ts, GateMemo),
// an IRET's code and stack descriptors (ops/far.ts, IretMemo). A memo lets
// the next event skip those reads and the checks on what they gave; that is
// sound while the generic path would read the same values, without a walk
// or a fault. Rather than reading the words again each time, a memo keeps:
// - the TLB entry of each page read (paging on): while the entry is the
//   same and not empty, a supervisor read there hits it (no walk, no fault,
//   nothing written) and reaches the same physical bytes;
// - the bytes themselves, watched (Cpu.watchRead): every write that could
//   change one is reported (PhysicalMemory's write hook: the frame is
//   marked in memory.codePages, which every writer of RAM tests, and the
//   byte in Cpu.codeBytes) and moves Cpu.watchEpoch. While the epoch is the
//   one remembered, the bytes hold what they held when they were watched.
// And when they were watched they held the words the checks saw: remember()
// reads them once more, since the event itself may have written over them
// after reading them (a delivery's frame pushed over the TSS).
import type { Cpu, RememberedReads } from './cpu';
import { CR0_PG } from './paging';
import { mutated } from './mutants';

/** Watch the reads at `linear` (of `sizes[k]` bytes each, within one page)
 * that gave `words`, or null when they can't be kept: a read without a TLB
 * entry (paging on) or past the end of RAM, or a word memory no longer holds. */
export function rememberReads(cpu: Cpu, linear: readonly number[], sizes: readonly number[],
  words: readonly number[]): RememberedReads | null {
  const paged = (cpu.cr0 & CR0_PG) !== 0, memory = cpu.memory;
  const pages: number[] = [], entries: number[] = [], physical: number[] = [];
  for (let k = 0; k < linear.length; k++) {
    let address = linear[k];
    if ((address & 0xfff) + sizes[k] > 0x1000) return null;
    if (paged) {
      const page = address >>> 12, entry = cpu.tlb[page];
      if (entry === 0) return null;
      if (!pages.includes(page)) { pages.push(page); entries.push(entry); }
      address = ((entry & ~0xfff) | (address & 0xfff)) >>> 0;
    }
    if (address + sizes[k] > memory.size) return null;
    const now = sizes[k] === 2 ? memory.read16(address) : memory.read32(address);
    if (now !== words[k] >>> 0 && !mutated('memo-unverified-when-made')) return null;
    physical.push(address);
  }
  for (let k = 0; k < physical.length; k++) cpu.watchRead(physical[k], sizes[k]);
  return { epoch: cpu.watchEpoch, paged, pages, entries };
}

/** Whether the generic path would make the remembered reads again and find
 * the same words: no watched byte written since, the same PG, and each page
 * read through the same TLB entry. */
export function readsHold(cpu: Cpu, reads: RememberedReads): boolean {
  if (reads.epoch !== cpu.watchEpoch || reads.paged !== ((cpu.cr0 & CR0_PG) !== 0)) return false;
  if (!reads.paged || mutated('memo-ignores-tlb')) return true;
  const tlb = cpu.tlb, pages = reads.pages, entries = reads.entries;
  for (let k = 0; k < pages.length; k++) if (tlb[pages[k]] !== entries[k]) return false;
  return true;
}
