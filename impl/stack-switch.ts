// Pieces shared by interrupt delivery and far CALL/RET/IRET: the ring
// stacks kept in the TSS, the checks on a new SS, and writing a frame onto
// a stack that is not (yet) the current one.
import type { Cpu } from './cpu';
import { fault, GP, SS as SS_FAULT, TS, Unsupported } from './faults';
import { readSystem, writeLinear, probeWrite } from './access';
import { CR0_PG, TLB_DIRTY, TLB_VALID, TLB_WRITABLE, translate } from './paging';
import { mutated } from './mutants';
import { CODE_FRAME } from './memory';
import { type Descriptor, attributesOf, dplOf, isWritableData, readDescriptor, ATTR_P, ATTR_DB } from './segmentation';

/** SS:ESP for `ring` from the current 32-bit TSS (SDM vol. 3 §7.2.1). */
export function ringStack(cpu: Cpu, ring: number, ext: number): { ss: number; esp: number } {
  const tr = cpu.tr;
  if (!tr.valid) fault(TS, (tr.selector & 0xfffc) | ext);
  if ((tr.attributes & 0xd) !== 0x9) throw new Unsupported('16-bit TSS');
  const espOffset = 4 + 8 * ring;
  if (espOffset + 5 > tr.limit) fault(TS, (tr.selector & 0xfffc) | ext);
  return {
    esp: readSystem(cpu, (tr.base + espOffset) >>> 0, 4),
    ss: readSystem(cpu, (tr.base + espOffset + 4) >>> 0, 2),
  };
}

/** Check the SS taken from the TSS for a switch to `ring` (#TS, or #SS if not present). */
export function checkRingStackSegment(cpu: Cpu, ss: number, ring: number, ext: number): Descriptor {
  const code = (ss & 0xfffc) | ext;
  if ((ss & 0xfffc) === 0) fault(TS, ext);
  const d = readDescriptor(cpu, ss);
  if (d === null) fault(TS, code);
  const a = attributesOf(d.high);
  if ((ss & 3) !== ring || dplOf(a) !== ring || !isWritableData(a)) fault(TS, code);
  if (!(a & ATTR_P)) fault(SS_FAULT, code);
  return d;
}

/** Check the SS popped by RET/IRET when returning to the outer `ring`. */
export function checkReturnStackSegment(cpu: Cpu, ss: number, ring: number): Descriptor {
  if ((ss & 0xfffc) === 0) fault(GP, 0);
  const d = readDescriptor(cpu, ss);
  if (d === null) fault(GP, ss & 0xfffc);
  const a = attributesOf(d.high);
  if ((ss & 3) !== ring || dplOf(a) !== ring || !isWritableData(a)) fault(GP, ss & 0xfffc);
  if (!(a & ATTR_P)) fault(SS_FAULT, ss & 0xfffc);
  return d;
}

/** The offsets a stack segment allows, as [low, high] (expand-down aware). */
export function stackRange(limit: number, attributes: number): [number, number] {
  return [stackLow(limit, attributes), stackHigh(limit, attributes)];
}
export const stackLow = (limit: number, attributes: number): number => (attributes & 4 ? limit + 1 : 0);
export const stackHigh = (limit: number, attributes: number): number =>
  (attributes & 4 ? (attributes & ATTR_DB ? 0xffffffff : 0xffff) : limit);

/**
 * Push `values` (first value highest) onto the stack with base `base` and
 * offset range `low`..`high` at `esp`, checking the whole frame (limit, then
 * pages) before writing any of it; returns the new ESP. A failed limit check
 * is #SS(code).
 */
export function pushFrame(cpu: Cpu, base: number, low: number, high: number, esp: number, values: number[],
  size: number, cpl: number, code: number): number {
  const bytes = values.length * size, top = (esp - bytes) >>> 0;
  // Each push is limit-checked at its own offset, which wraps modulo 2^32
  // like ESP itself (a frame may wrap past offset 0 of a 4 GiB segment).
  // A frame that does not wrap passes when its lowest and highest bytes do.
  if (esp < bytes || top < low || esp - 1 > high) {
    for (let k = 1; k <= values.length; k++) {
      const slot = (esp - k * size) >>> 0;
      if (slot < low || slot + size - 1 > high) fault(SS_FAULT, code);
    }
  }
  const user = cpl === 3;
  const first = (base + top) >>> 0;
  if ((first & 0xfff) + bytes <= 0x1000 && size === 4) {
    // The whole frame lies in one page (the common case): the check of its
    // highest slot, which comes first anyway, stands for every slot (same
    // page, same rights, D now set), so one translation does and the values
    // go straight to physical memory (write32 still drops overwritten code).
    const frame = translate(cpu, (first + bytes - size) >>> 0, true, user) - (bytes - size);
    const memory = cpu.memory;
    if (frame + bytes <= memory.size && offCode(memory.codePages[frame >>> 12])) {
      // In RAM and off decoded code: what write32 would do, checked once.
      for (let k = 0; k < values.length; k++) memory.view.setUint32(frame + bytes - 4 * (k + 1), values[k] >>> 0, true);
    } else {
      for (let k = 0; k < values.length; k++) memory.write32(frame + bytes - 4 * (k + 1), values[k]);
    }
    return top;
  }
  // Pages are checked in push order (highest address first), so a #PF names
  // the first push that would fault.
  for (let k = 1; k <= values.length; k++) probeWrite(cpu, (base + esp - k * size) >>> 0, size, user);
  let at = esp;
  for (const value of values) {
    at = (at - size) >>> 0;
    writeLinear(cpu, (base + at) >>> 0, size, value, user);
  }
  return top;
}

/** Whether a frame with this codePages mark may be written straight to RAM:
 * only an unmarked one. A frame holding decoded code, or not yet written by
 * a machine recording its writes, takes write32, which reports the write. */
function offCode(mark: number): boolean {
  return mark === 0 || mutated('push-frame-ignores-code') || (mutated('push-frame-skips-record') && (mark & CODE_FRAME) === 0);
}

/** A TLB entry through which a supervisor write goes without a walk. */
const SUPERVISOR_WRITE = TLB_VALID | TLB_WRITABLE | TLB_DIRTY;

/**
 * pushFrame of the frame of a delivery to an inner ring — SS, ESP, EFLAGS,
 * CS, EIP and, unless null, the error code, as 32-bit pushes at `ring` —
 * with the values as arguments rather than an array. When the frame passes
 * the limit checks without wrapping, lies in one page whose TLB entry lets a
 * supervisor write through with no walk (valid, writable, dirty: what
 * translate would return at once; paging off, the linear address itself),
 * in RAM, and in a frame without decoded code, the values are written
 * straight to RAM, which is all pushFrame would do; otherwise pushFrame
 * does it all.
 */
export function pushRingFrame(cpu: Cpu, base: number, low: number, high: number, esp: number, ring: number, code: number,
  ss: number, oldEsp: number, eflags: number, cs: number, eip: number, errorCode: number | null): number {
  const bytes = errorCode === null ? 20 : 24, top = (esp - bytes) >>> 0, first = (base + top) >>> 0;
  if (esp >= bytes && top >= low && esp - 1 <= high && (first & 0xfff) + bytes <= 0x1000) {
    let frame = first;
    if (cpu.cr0 & CR0_PG) {
      const entry = cpu.tlb[first >>> 12];
      frame = (entry & SUPERVISOR_WRITE) === SUPERVISOR_WRITE || mutated('ring-frame-skips-dirty') && entry !== 0
        ? ((entry & ~0xfff) | (first & 0xfff)) >>> 0 : -1;
    }
    const memory = cpu.memory;
    if (frame >= 0 && frame + bytes <= memory.size && offCode(memory.codePages[frame >>> 12])) {
      const view = memory.view, at = frame + bytes - 4;
      view.setUint32(at, ss, true);
      view.setUint32(at - 4, oldEsp, true);
      view.setUint32(at - 8, eflags, true);
      view.setUint32(at - 12, cs, true);
      view.setUint32(at - 16, eip, true);
      if (errorCode !== null) view.setUint32(at - 20, errorCode >>> 0, true);
      return top;
    }
  }
  const values = errorCode === null ? [ss, oldEsp, eflags, cs, eip] : [ss, oldEsp, eflags, cs, eip, errorCode];
  return pushFrame(cpu, base, low, high, esp, values, 4, ring, code);
}
