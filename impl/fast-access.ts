// The fast path of a memory operand, for translated blocks (block-memory.ts).
// It answers one question: may this access go straight to the typed array,
// with nothing else for the machine to do? If so it returns the physical
// address; if not it returns -1 and the block calls the instruction's
// executor, which takes the generic path (access.ts, paging.ts) and raises
// whatever fault is due. So the fast path only has to be conservative:
// - the segment allows the access type and the whole access lies in its
//   precomputed offset range (segLow..segHigh: limits and expand-down
//   included, exactly the check linearAddress makes);
// - the access stays inside one page, and inside RAM;
// - with paging on, the page's TLB entry is present and grants the access
//   at this CPL without a walk: the user bit at CPL 3 and, for a write, the
//   writable and dirty bits (a write through a clean entry must walk to set
//   D; a supervisor write to a read-only page with CR0.WP = 0 is left to the
//   generic path too). Nothing is walked, so no A/D bit or TLB entry changes;
// - a write does not touch a frame holding decoded code (memory.codePages):
//   such a write goes through the generic path, which drops the stale code
//   and makes the block stop (self-modifying code).
import { type Cpu, SEG_READ, SEG_WRITE } from './cpu';
import { CR0_PG, TLB_DIRTY, TLB_USER, TLB_VALID, TLB_WRITABLE } from './paging';

/** Physical address of a plain read of `size` bytes at segment:offset, or -1. */
export function fastReadAddress(cpu: Cpu, segment: number, offset: number, size: number): number {
  if (!(cpu.segAccess[segment] & SEG_READ) || offset < cpu.segLow[segment] || offset + size - 1 > cpu.segHigh[segment]) return -1;
  const linear = (cpu.segBase[segment] + offset) >>> 0;
  if ((linear & 0xfff) > 0x1000 - size) return -1;
  let physical = linear;
  if (cpu.cr0 & CR0_PG) {
    const entry = cpu.tlb[linear >>> 12];
    const need = cpu.cpl === 3 ? TLB_VALID | TLB_USER : TLB_VALID;
    if ((entry & need) !== need) return -1;
    physical = ((entry & ~0xfff) | (linear & 0xfff)) >>> 0;
  }
  return physical + size <= cpu.memory.size ? physical : -1;
}

/** Physical address of a plain write of `size` bytes at segment:offset, or -1. */
export function fastWriteAddress(cpu: Cpu, segment: number, offset: number, size: number): number {
  if (!(cpu.segAccess[segment] & SEG_WRITE) || offset < cpu.segLow[segment] || offset + size - 1 > cpu.segHigh[segment]) return -1;
  const linear = (cpu.segBase[segment] + offset) >>> 0;
  if ((linear & 0xfff) > 0x1000 - size) return -1;
  let physical = linear;
  if (cpu.cr0 & CR0_PG) {
    const entry = cpu.tlb[linear >>> 12];
    const need = cpu.cpl === 3 ? TLB_VALID | TLB_WRITABLE | TLB_DIRTY | TLB_USER : TLB_VALID | TLB_WRITABLE | TLB_DIRTY;
    if ((entry & need) !== need) return -1;
    physical = ((entry & ~0xfff) | (linear & 0xfff)) >>> 0;
  }
  if (physical + size > cpu.memory.size || cpu.memory.codePages[physical >>> 12]) return -1;
  return physical;
}
