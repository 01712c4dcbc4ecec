// Pieces shared by interrupt delivery and far CALL/RET/IRET: the ring
// stacks kept in the TSS, the checks on a new SS, and writing a frame onto
// a stack that is not (yet) the current one.
import type { Cpu } from './cpu';
import { fault, GP, SS as SS_FAULT, TS, Unsupported } from './faults';
import { readSystem, writeLinear, probeWrite } from './access';
import { translate } from './paging';
import { mutated } from './mutants';
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
    if (frame + bytes <= memory.size && (!memory.codePages[frame >>> 12] || mutated('push-frame-ignores-code'))) {
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
