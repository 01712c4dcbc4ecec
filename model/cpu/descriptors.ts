// Descriptors as stored in the GDT, LDT and IDT, and reading them from
// memory. Every table access is an implicit supervisor access (paging checks
// as at CPL 0, whatever the CPL).
import type { MachineState, SegmentRegister } from './state';
import { readLinear, writeLinear } from './context';
import { fault, Vector, type Result } from './outcome';
import { applied, explaining, hexNote } from './applied';

/** A segment or system descriptor, decoded. */
export interface SegmentDescriptor {
  readonly low: number;
  readonly high: number;
  readonly base: number;
  /** Limit in bytes, scaled by G. */
  readonly limit: number;
  /** (high >>> 8) & 0xf0ff, the layout of SegmentRegister.attributes. */
  readonly attributes: number;
  readonly type: number;
  /** S bit: true for code/data, false for system descriptors and gates. */
  readonly codeOrData: boolean;
  readonly dpl: number;
  readonly present: boolean;
}

/** [SEG.DESC.1] Base = high[31:24] | high[7:0] | low[31:16]; raw limit =
 * high[19:16] | low[15:0], scaled to (raw << 12) | 0xFFF when G (bit 23) is set. */
export function parseDescriptor(low: number, high: number): SegmentDescriptor {
  const base = ((high & 0xff000000) | ((high & 0xff) << 16) | (low >>> 16)) >>> 0;
  const raw = (low & 0xffff) | (high & 0xf0000);
  const limit = high & 0x800000 ? ((raw << 12) | 0xfff) >>> 0 : raw;
  const attributes = (high >>> 8) & 0xf0ff;
  return {
    low: low >>> 0, high: high >>> 0, base, limit, attributes,
    type: attributes & 0xf,
    codeOrData: (attributes & 0x10) !== 0,
    dpl: (attributes >>> 5) & 3,
    present: (attributes & 0x80) !== 0,
  };
}

/** The descriptor as a cache value loaded for `selector`. */
export function cacheOf(selector: number, d: SegmentDescriptor): SegmentRegister {
  return { selector: selector & 0xffff, base: d.base, limit: d.limit, attributes: d.attributes, valid: true };
}

export const isCode = (d: SegmentDescriptor): boolean => d.codeOrData && (d.type & 8) !== 0;
export const isData = (d: SegmentDescriptor): boolean => d.codeOrData && (d.type & 8) === 0;
export const isConforming = (d: SegmentDescriptor): boolean => isCode(d) && (d.type & 4) !== 0;
export const isReadableCode = (d: SegmentDescriptor): boolean => isCode(d) && (d.type & 2) !== 0;
export const isWritableData = (d: SegmentDescriptor): boolean => isData(d) && (d.type & 2) !== 0;

/** System descriptor and gate types (S = 0). */
export const SystemType = {
  TSS16_AVAILABLE: 0x1, LDT: 0x2, TSS16_BUSY: 0x3, CALL_GATE16: 0x4, TASK_GATE: 0x5,
  INTERRUPT_GATE16: 0x6, TRAP_GATE16: 0x7, TSS32_AVAILABLE: 0x9, TSS32_BUSY: 0xb,
  CALL_GATE32: 0xc, INTERRUPT_GATE32: 0xe, TRAP_GATE32: 0xf,
} as const;

/** A gate: call gate, interrupt gate, trap gate or task gate. */
export interface Gate {
  readonly selector: number;
  readonly offset: number;
  readonly parameterCount: number;
  readonly type: number;
  readonly dpl: number;
  readonly present: boolean;
}

/** [GATE.DESC.1] Offset = high[31:16] | low[15:0]; selector = low[31:16];
 * parameter count (call gates) = high[4:0]. */
export function parseGate(low: number, high: number): Gate {
  return {
    selector: low >>> 16,
    offset: ((high & 0xffff0000) | (low & 0xffff)) >>> 0,
    parameterCount: high & 0x1f,
    type: (high >>> 8) & 0xf,
    dpl: (high >>> 13) & 3,
    present: (high & 0x8000) !== 0,
  };
}

/** Where a selector's descriptor lives, and its 8 bytes. */
export interface FetchedDescriptor {
  readonly address: number;
  readonly low: number;
  readonly high: number;
  readonly state: MachineState;
}

/**
 * [SEG.TABLE.1] Read the descriptor a (non-null) selector names: TI = 1
 * uses the LDT, which must be loaded; the whole 8-byte entry must lie within
 * the table limit. Otherwise `onError` is raised with the selector's index
 * and TI as the error code (#GP unless the caller says otherwise).
 */
export function fetchDescriptor(state: MachineState, selector: number, vector: number = Vector.GP, ext = 0): Result<FetchedDescriptor> {
  const errorCode = (selector & 0xfffc) | ext;
  const local = (selector & 4) !== 0;
  if (local && !state.ldtr.valid) return fault(vector, errorCode, 'SEG.TABLE.1');
  const table = local ? { base: state.ldtr.base, limit: state.ldtr.limit } : state.gdtr;
  const offset = selector & 0xfff8;
  if (offset + 7 > table.limit) return fault(vector, errorCode, 'SEG.TABLE.1');
  const address = (table.base + offset) >>> 0;
  const low = readLinear(state, address, 4, false);
  if (low.kind !== 'ok') return low;
  const high = readLinear(low.value.state, address + 4, 4, false);
  if (high.kind !== 'ok') return high;
  if (explaining()) applied('SEG.TABLE.1', `selector ${hexNote(selector, 4)}: ${local ? 'LDT' : 'GDT'} entry ${selector >>> 3} at ${hexNote(address)} = ${hexNote(high.value.value)}:${hexNote(low.value.value)}`);
  return { kind: 'ok', value: { address, low: low.value.value, high: high.value.value, state: high.value.state } };
}

/** [SEG.ACCESSED.1] Loading a segment sets the accessed bit (type bit 0) of
 * its descriptor in memory, when it is not already set. */
export function markAccessed(state: MachineState, fetched: FetchedDescriptor): Result<MachineState> {
  if (fetched.high & 0x100) return { kind: 'ok', value: state };
  if (explaining()) applied('SEG.ACCESSED.1', `descriptor at ${hexNote(fetched.address)}: accessed bit set`);
  return writeLinear(state, fetched.address + 4, 4, (fetched.high | 0x100) >>> 0, false);
}

/** The cache for a loaded descriptor, with the accessed bit as it now is.
 * (One literal with the fields in the order of every segment register, so
 * that they all have one shape: a spread here made a second one.) */
export function loadedCache(selector: number, d: SegmentDescriptor): SegmentRegister {
  return { selector: selector & 0xffff, base: d.base, limit: d.limit, attributes: d.codeOrData ? d.attributes | 1 : d.attributes, valid: true };
}
