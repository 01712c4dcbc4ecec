// Descriptors and segment-register loads with every check of the manual
// (SDM vol. 3 §5.x and the MOV/POP/LDS pseudo-code): null selectors, table
// limits, type, RPL/CPL/DPL, present, and the accessed bit written back.
import { type Cpu, type SegmentCache, ES, CS, SS, DS, FS, GS, SEG_READ, SEG_WRITE } from './cpu';
import { fault, GP, NP, SS as SS_FAULT } from './faults';
import { readSystem, writeSystem } from './access';
import { mutated } from './mutants';

export interface Descriptor { low: number; high: number; address: number }

export const ATTR_ACCESSED = 0x1, ATTR_S = 0x10, ATTR_P = 0x80, ATTR_DB = 0x4000, ATTR_G = 0x8000;
export const dplOf = (attributes: number): number => (attributes >> 5) & 3;
export const attributesOf = (high: number): number => (high >>> 8) & 0xf0ff;
export const isCode = (a: number): boolean => (a & 0x18) === 0x18;
export const isData = (a: number): boolean => (a & 0x18) === 0x10;
export const isConforming = (a: number): boolean => (a & 0x1c) === 0x1c;
export const isReadableCode = (a: number): boolean => (a & 0x1a) === 0x1a;
export const isWritableData = (a: number): boolean => (a & 0x1a) === 0x12;
export const baseOf = (d: Descriptor): number => ((d.low >>> 16) | ((d.high & 0xff) << 16) | (d.high & 0xff000000)) >>> 0;
export function limitOf(d: Descriptor): number {
  const raw = (d.low & 0xffff) | (d.high & 0xf0000);
  return d.high & 0x800000 ? ((raw << 12) | 0xfff) >>> 0 : raw;
}

/** Read the descriptor a selector names, or null when it lies outside its
 * table (the caller raises the fault its instruction specifies). */
export function readDescriptor(cpu: Cpu, selector: number): Descriptor | null {
  const index = selector & 0xfff8;
  let base: number, limit: number;
  if (selector & 4) {
    if (!cpu.ldtr.valid) return null;
    base = cpu.ldtr.base; limit = cpu.ldtr.limit;
  } else {
    base = cpu.gdtrBase; limit = cpu.gdtrLimit;
  }
  if (index + 7 > limit) return null;
  const address = (base + index) >>> 0;
  return { low: readSystem(cpu, address, 4), high: readSystem(cpu, (address + 4) >>> 0, 4), address };
}

/** Descriptor or #GP(selector) (the common case for out-of-table selectors). */
export function descriptorOrFault(cpu: Cpu, selector: number, vector = GP): Descriptor {
  const d = readDescriptor(cpu, selector);
  if (d === null) fault(vector, selector & 0xfffc);
  return d;
}

export function setAccessed(cpu: Cpu, d: Descriptor): void {
  if (!(d.high & 0x100)) {
    d.high |= 0x100;
    writeSystem(cpu, (d.address + 4) >>> 0, 4, d.high);
  }
}

/** Fill a segment register's cache and its derived access range. */
export function setSegmentCache(cpu: Cpu, segment: number, selector: number, base: number, limit: number,
  attributes: number, valid: boolean): void {
  cpu.segSelector[segment] = selector & 0xffff;
  cpu.segBase[segment] = base >>> 0;
  cpu.segLimit[segment] = limit >>> 0;
  cpu.segAttributes[segment] = attributes;
  cpu.segValid[segment] = valid;
  cpu.segAccess[segment] = accessOf(attributes, valid);
  cpu.segLow[segment] = lowestOffset(limit, attributes, valid);
  cpu.segHigh[segment] = highestOffset(limit, attributes, valid);
  if (segment === CS) { cpu.cpl = selector & 3; cpu.fetchPage = -1; }
}

/** The derived part of a cache: SEG_READ/SEG_WRITE, and the lowest and
 * highest valid offsets (an expand-down data segment's lie above its limit). */
const accessOf = (attributes: number, valid: boolean): number =>
  (!valid || !(attributes & ATTR_S) ? 0 : isCode(attributes) ? (attributes & 2 ? SEG_READ : 0) : SEG_READ | (attributes & 2 ? SEG_WRITE : 0));
const expandsDown = (attributes: number, valid: boolean): boolean => valid && isData(attributes) && (attributes & 4) !== 0;
const lowestOffset = (limit: number, attributes: number, valid: boolean): number =>
  (expandsDown(attributes, valid) ? (limit >>> 0) + (mutated('expand-down-limit-off-by-one') ? 0 : 1) : 0);
const highestOffset = (limit: number, attributes: number, valid: boolean): number =>
  (expandsDown(attributes, valid) ? (attributes & ATTR_DB ? 0xffffffff : 0xffff) : limit >>> 0);

/** The cache setSegmentCache fills for a valid segment, as one object. */
export function segmentCache(selector: number, base: number, limit: number, attributes: number): SegmentCache {
  return {
    selector: selector & 0xffff, base: base >>> 0, limit: limit >>> 0, attributes,
    access: accessOf(attributes, true), low: lowestOffset(limit, attributes, true), high: highestOffset(limit, attributes, true),
  };
}

/** Load a cache worked out by segmentCache: what setSegmentCache would store. */
export function loadSegmentCache(cpu: Cpu, segment: number, cache: SegmentCache): void {
  cpu.segSelector[segment] = cache.selector;
  cpu.segBase[segment] = cache.base;
  cpu.segLimit[segment] = cache.limit;
  cpu.segAttributes[segment] = cache.attributes;
  cpu.segValid[segment] = true;
  cpu.segAccess[segment] = cache.access;
  cpu.segLow[segment] = cache.low;
  cpu.segHigh[segment] = cache.high;
  if (segment === CS) { cpu.cpl = cache.selector & 3; cpu.fetchPage = -1; }
}

export function loadFromDescriptor(cpu: Cpu, segment: number, selector: number, d: Descriptor): void {
  setSegmentCache(cpu, segment, selector, baseOf(d), limitOf(d), attributesOf(d.high), true);
}

/** MOV/POP/LDS-family load of SS, DS, ES, FS or GS (not CS). */
export function loadDataSegment(cpu: Cpu, segment: number, selector: number): void {
  selector &= 0xffff;
  const rpl = selector & 3, code = selector & 0xfffc;
  if (segment === SS) {
    if ((selector & 0xfffc) === 0) fault(GP, 0);
    const d = descriptorOrFault(cpu, selector);
    const a = attributesOf(d.high);
    if (rpl !== cpu.cpl || !isWritableData(a) || dplOf(a) !== cpu.cpl) fault(GP, code);
    if (!(a & ATTR_P)) fault(SS_FAULT, code);
    setAccessed(cpu, d);
    loadFromDescriptor(cpu, SS, selector, d);
    return;
  }
  if ((selector & 0xfffc) === 0) {
    setSegmentCache(cpu, segment, selector, 0, 0, 0, false);
    return;
  }
  const d = descriptorOrFault(cpu, selector);
  const a = attributesOf(d.high);
  if (!(a & ATTR_S) || (isCode(a) && !(a & 2))) fault(GP, code);
  if ((isData(a) || !isConforming(a)) && (rpl > dplOf(a) || cpu.cpl > dplOf(a))) fault(GP, code);
  if (!(a & ATTR_P)) fault(NP, code);
  setAccessed(cpu, d);
  loadFromDescriptor(cpu, segment, selector, d);
}

/** On a return to an outer ring, ES/DS/FS/GS that the new CPL may not use
 * are made null (SDM RET/IRET pseudo-code): a valid data segment or
 * non-conforming code segment whose DPL is below the CPL. (A data segment is
 * never conforming, so that is: DPL < CPL, valid, not conforming code; the
 * DPL first, as it rules out the usual DPL-3 segments at once.) Written out
 * per register: it runs on every return to ring 3. */
export function nullInaccessibleSegments(cpu: Cpu): void {
  const cpl = cpu.cpl, attributes = cpu.segAttributes;
  if (dplOf(attributes[ES]) < cpl && inaccessible(cpu, ES)) setSegmentCache(cpu, ES, 0, 0, 0, 0, false);
  if (dplOf(attributes[DS]) < cpl && inaccessible(cpu, DS)) setSegmentCache(cpu, DS, 0, 0, 0, 0, false);
  if (dplOf(attributes[FS]) < cpl && inaccessible(cpu, FS)) setSegmentCache(cpu, FS, 0, 0, 0, 0, false);
  if (dplOf(attributes[GS]) < cpl && inaccessible(cpu, GS)) setSegmentCache(cpu, GS, 0, 0, 0, 0, false);
}
/** The rest of the rule for a register whose DPL is below the CPL. */
const inaccessible = (cpu: Cpu, segment: number): boolean => cpu.segValid[segment] && !isConforming(cpu.segAttributes[segment]);
