// Shared pieces of every privilege transfer: the inner-ring stack taken from
// the TSS, and loading CS with a new CPL.
import type { MachineState, SegmentRegister } from './state';
import { readLinear } from './context';
import { fetchDescriptor, isWritableData, loadedCache, markAccessed, parseDescriptor, type SegmentDescriptor } from './descriptors';
import { fault, Vector, type Result } from './outcome';
import { applied, explaining, hexNote } from './applied';

/**
 * [PRIV.TSS.1] The stack for ring n (0..2) is read from the current 32-bit
 * TSS: ESPn at offset 4 + 8n, SSn at offset 8 + 8n. If those bytes lie
 * beyond TR's limit: #TS(TR selector). The new SS must be non-null (#TS(EXT)),
 * have RPL = n, be a writable data segment with DPL = n (#TS(SS selector)),
 * and be present (#SS(SS selector)). These reads are supervisor accesses.
 */
export function innerStack(state: MachineState, ring: number, ext: number): Result<{ ss: SegmentRegister; esp: number; state: MachineState }> {
  const offset = 4 + 8 * ring;
  if (!state.tr.valid || offset + 5 > state.tr.limit) return fault(Vector.TS, (state.tr.selector & 0xfffc) | ext, 'PRIV.TSS.1');
  const esp = readLinear(state, state.tr.base + offset, 4, false);
  if (esp.kind !== 'ok') return esp;
  const ssRead = readLinear(esp.value.state, state.tr.base + offset + 4, 2, false);
  if (ssRead.kind !== 'ok') return ssRead;
  const selector = ssRead.value.value;
  const s = ssRead.value.state;
  if ((selector & 0xfffc) === 0) return fault(Vector.TS, ext, 'PRIV.TSS.1');
  const fetched = fetchDescriptor(s, selector, Vector.TS, ext);
  if (fetched.kind !== 'ok') return fetched;
  const d = parseDescriptor(fetched.value.low, fetched.value.high);
  const code = (selector & 0xfffc) | ext;
  if ((selector & 3) !== ring || d.dpl !== ring || !isWritableData(d)) return fault(Vector.TS, code, 'PRIV.TSS.1');
  if (!d.present) return fault(Vector.SS, code, 'PRIV.TSS.1');
  if (explaining()) applied('PRIV.TSS.1', `ring ${ring} stack from the TSS: SS${ring}:ESP${ring} = ${hexNote(selector, 4)}:${hexNote(esp.value.value)}`);
  const marked = markAccessed(fetched.value.state, fetched.value);
  if (marked.kind !== 'ok') return marked;
  return { kind: 'ok', value: { ss: loadedCache(selector, d), esp: esp.value.value, state: marked.value } };
}

/** [PRIV.CPL.1] Loading CS sets its RPL to the new CPL (for a conforming
 * segment the CPL does not change, so RPL becomes the old CPL). */
export function codeCache(selector: number, d: SegmentDescriptor, newCpl: number): SegmentRegister {
  return loadedCache((selector & 0xfffc) | newCpl, d);
}

/** [PRIV.EIP.1] A transfer whose new EIP lies beyond the new CS limit
 * faults #GP(0) (#GP(EXT) during event delivery). */
export function eipWithin(cs: SegmentRegister, eip: number): boolean {
  return eip >>> 0 <= cs.limit;
}
