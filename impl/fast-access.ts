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
// - a write does not touch decoded instruction bytes (memory.codePages marks
//   their frames, cpu.codeBytes the bytes): such a write goes through the
//   generic path, which drops the stale code and makes the block stop
//   (self-modifying code). Data next to code (a kernel's counters in the
//   page of its handlers) is written directly. A frame marked for anything
//   else (not yet written, on a machine recording its writes: memory.ts)
//   always takes the generic path.
import { type Cpu, SEG_READ, SEG_WRITE } from './cpu';
import { CR0_PG, TLB_DIRTY, TLB_USER, TLB_VALID, TLB_WRITABLE, allowed, walkOrFault } from './paging';
import { mutated } from './mutants';
import { CODE_FRAME } from './memory';

/** Whether every offset of `segment` is its linear address with the access
 * allowed: base 0, offsets 0..0xffffffff, the segment readable (writable). */
export function flatSegment(cpu: Cpu, segment: number, write: boolean): boolean {
  return cpu.segBase[segment] === 0 && cpu.segLow[segment] === 0 && cpu.segHigh[segment] === 0xffffffff
    && (cpu.segAccess[segment] & (write ? SEG_WRITE : SEG_READ)) !== 0;
}

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
  if (physical + size > cpu.memory.size) return -1;
  if (cpu.memory.codePages[physical >>> 12] && overlapsCode(cpu, physical, size)) return -1;
  return physical;
}

/** Whether a write of `size` bytes at `physical` (in one frame) would touch
 * decoded instruction bytes, or must be reported for another reason: the
 * frame is marked for more than code (memory.ts UNWRITTEN_FRAME, a frame a
 * recording machine has not yet written). */
function overlapsCode(cpu: Cpu, physical: number, size: number): boolean {
  if (cpu.memory.codePages[physical >>> 12] !== CODE_FRAME && !mutated('fast-store-skips-record')) return true;
  const used = cpu.codeBytes[physical >>> 12];
  if (used === undefined) return true;
  const offset = physical & 0xfff;
  for (let i = 0; i < size; i++) if (used[offset + i]) return true;
  return false;
}

// A TLB miss without the executor. When the fast path says no only because
// the page has no TLB entry (or, for a write, a clean one: translate() walks
// again to set D), the block would call the executor, whose access makes
// the walk and fills the entry: a demand-paging guest does that after every
// fault it has handled. `walkAhead` makes that walk itself, so the block
// goes on inline:
// - it makes the very walk translate() would make for the executor's
//   access (paging.ts walkOrFault: A and D bits and the TLB fill), which
//   returns a fault as a value;
// - if the walk faults (it then changed nothing), it leaves the fault in
//   `cpu.blockFaultCode` and `cpu.blockFaultAddress` and returns -2: the
//   block leaves and run() delivers it, with no JavaScript throw (a throw
//   from deep in the page walk, caught and rethrown by the block and caught
//   again by run(), was most of the cost of a demand-paging fault);
// - otherwise it returns the physical address when the access may now go
//   straight to memory (in RAM, and for a write off decoded code); the
//   instruction then completes inline;
// - in any other case it returns -1 and the executor runs as before
//   (finding the entry filled when the walk was made).
// Only for instructions whose first possible fault is this one access, and
// whose every access is this one (blocks.ts inlines those through
// block-memory.ts). A read-modify-write walks once with the write's rights,
// as its executor does first (operands.ts `destination` probes the write
// before anything is read).
/** After the fast path said no: the physical address once the walk is made, -2 (a page fault, in cpu.blockFaultCode/blockFaultAddress) or -1 (the executor's turn). */
export function walkAhead(cpu: Cpu, segment: number, offset: number, size: number, write: boolean): number {
  if (!(cpu.cr0 & CR0_PG)) return -1;
  if (!(cpu.segAccess[segment] & (write ? SEG_WRITE : SEG_READ)) || offset < cpu.segLow[segment] || offset + size - 1 > cpu.segHigh[segment]) return -1;
  const linear = (cpu.segBase[segment] + offset) >>> 0;
  if ((linear & 0xfff) > 0x1000 - size) return -1;
  const entry = cpu.tlb[linear >>> 12], user = cpu.cpl === 3;
  // translate() walks when the page has no entry, or for a write through a
  // clean entry that grants it; with any other entry it walks nothing.
  if (entry !== 0 && !(write && !(entry & TLB_DIRTY) && allowed(cpu, entry, write, user))) return -1;
  // The walk is not logged for undo: after it the instruction cannot fault
  // (its one access now finds its entry), so nothing would ever take it back.
  const logging = cpu.logWalks;
  cpu.logWalks = false;
  const physical = walkOrFault(cpu, linear, write, user);
  if (!mutated('walk-ahead-stops-logging')) cpu.logWalks = logging;
  if (physical < 0) {
    cpu.blockFaultCode = ~physical;
    cpu.blockFaultAddress = linear;
    return -2;
  }
  if (physical + size > cpu.memory.size) return -1;
  if (write && cpu.memory.codePages[physical >>> 12] && overlapsCode(cpu, physical, size)) return -1;
  return physical;
}
