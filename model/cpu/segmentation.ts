// Loading the data and stack segment registers (MOV, POP, LDS-like loads,
// and the nulling of segments on a return to an outer ring). CS is loaded
// only by far transfers: see privilege.ts.
import type { SegmentName } from '../isa/ast';
import type { MachineState } from './state';
import { NULL_SEGMENT, update } from './state';
import { cpl } from './context';
import {
  fetchDescriptor, isCode, isConforming, isData, isReadableCode, isWritableData,
  loadedCache, markAccessed, parseDescriptor,
} from './descriptors';
import { fault, Vector, type Result } from './outcome';
import { applied, explaining, hexNote } from './applied';

/** A null selector has index 0 in the GDT (RPL ignored). */
export const isNullSelector = (selector: number): boolean => (selector & 0xfffc) === 0;

/**
 * Load SS, DS, ES, FS or GS with `selector`, with every check of the manual's
 * MOV/POP pseudo-code, and set the descriptor's accessed bit.
 */
export function loadDataSegment(state: MachineState, name: Exclude<SegmentName, 'cs'>, selector: number): Result<MachineState> {
  selector &= 0xffff;
  const level = cpl(state);
  const rpl = selector & 3;
  const errorCode = selector & 0xfffc;
  if (isNullSelector(selector)) {
    // [SEG.LOAD.1] A null selector cannot be loaded into SS: #GP(0).
    if (name === 'ss') return fault(Vector.GP, 0, 'SEG.LOAD.1');
    // [SEG.LOAD.2] A null selector loads into DS/ES/FS/GS without a fault and
    // marks the register unusable: a later access through it faults #GP(0).
    applied('SEG.LOAD.2', `${name.toUpperCase()} = null selector ${hexNote(selector, 4)}: loaded, unusable`);
    return { kind: 'ok', value: update(state, { segments: { ...state.segments, [name]: { ...NULL_SEGMENT, selector } } }) };
  }
  // [SEG.LOAD.3] The descriptor must lie within the GDT/LDT limit, else #GP(selector).
  const fetched = fetchDescriptor(state, selector);
  if (fetched.kind !== 'ok') return fetched;
  const d = parseDescriptor(fetched.value.low, fetched.value.high);
  if (name === 'ss') {
    // [SEG.LOAD.4] SS needs RPL = CPL, a writable data segment, and DPL = CPL,
    // else #GP(selector); a not-present stack segment faults #SS(selector).
    if (rpl !== level || !isWritableData(d) || d.dpl !== level) return fault(Vector.GP, errorCode, 'SEG.LOAD.4');
    if (!d.present) return fault(Vector.SS, errorCode, 'SEG.LOAD.4');
    if (explaining()) applied('SEG.LOAD.4', `SS ${hexNote(selector, 4)}: RPL ${rpl} = CPL, writable data, DPL ${d.dpl} = CPL, present`);
  } else {
    // [SEG.LOAD.5] DS/ES/FS/GS need a data segment or a readable code
    // segment, else #GP(selector).
    if (!isData(d) && !isReadableCode(d)) return fault(Vector.GP, errorCode, 'SEG.LOAD.5');
    // [SEG.LOAD.6] For data and non-conforming code, both RPL and CPL must be
    // at most DPL, else #GP(selector). Conforming code skips this check.
    if ((isData(d) || (isCode(d) && !isConforming(d))) && (rpl > d.dpl || level > d.dpl)) return fault(Vector.GP, errorCode, 'SEG.LOAD.6');
    // [SEG.LOAD.7] A not-present segment faults #NP(selector).
    if (!d.present) return fault(Vector.NP, errorCode, 'SEG.LOAD.7');
    if (explaining()) {
      applied('SEG.LOAD.5', `${name.toUpperCase()} ${hexNote(selector, 4)}: ${isData(d) ? 'data' : 'readable code'} segment`);
      if (isData(d) || !isConforming(d)) applied('SEG.LOAD.6', `RPL ${rpl} and CPL ${level} ≤ DPL ${d.dpl}`);
      applied('SEG.LOAD.7', 'present');
    }
  }
  const marked = markAccessed(fetched.value.state, fetched.value);
  if (marked.kind !== 'ok') return marked;
  return { kind: 'ok', value: update(marked.value, { segments: { ...marked.value.segments, [name]: loadedCache(selector, d) } }) };
}

/**
 * [PRIV.RET.3] After a return to an outer ring, each of ES, DS, FS, GS that
 * holds a data or non-conforming code segment with DPL < the new CPL is
 * loaded with a null selector (it would not be loadable at that CPL).
 */
export function nullInaccessibleSegments(state: MachineState): MachineState {
  const level = cpl(state);
  let segments = state.segments;
  for (const name of ['es', 'ds', 'fs', 'gs'] as const) {
    const s = segments[name];
    if (!s.valid) continue;
    const code = (s.attributes & 0x18) === 0x18;
    const conforming = code && (s.attributes & 4) !== 0;
    const dpl = (s.attributes >>> 5) & 3;
    if (!conforming && dpl < level) segments = { ...segments, [name]: NULL_SEGMENT };
  }
  if (segments !== state.segments && explaining()) {
    const nulled = (['es', 'ds', 'fs', 'gs'] as const).filter((n) => segments[n] !== state.segments[n]);
    applied('PRIV.RET.3', `${nulled.map((n) => n.toUpperCase()).join(', ')} nulled: DPL below the new CPL ${level}`);
  }
  return segments === state.segments ? state : update(state, { segments });
}
