// The checks a guest descriptor passes on its way into the real GDT or LDT.
// The guest's own tables are never used by the processor: LGDT and LLDT
// trap, and the monitor copies each entry through `checkDescriptor` into
// its real tables, so that whatever the guest can load keeps it in its place.
import { match, P } from 'ts-pattern';
import {
  endsBelowBase as endsBelow, field, fitBelowBase, isCallGate, isNull, withLimitField, NULL_DESCRIPTOR, type RawDescriptor,
} from './descriptors';
import { Slot } from './config';

export type DescriptorDecision =
  | { readonly kind: 'install'; readonly descriptor: RawDescriptor; readonly adjusted: boolean }
  | { readonly kind: 'refuse'; readonly reason: string };

export interface DescriptorContext {
  readonly vmmBase: number;
  readonly table: 'gdt' | 'ldt';
  readonly index: number;
  /** The guest's descriptor a selector names (a gate's target), or null
   * when the selector is null or outside the guest's tables. */
  readonly lookup: (selector: number) => RawDescriptor | null;
}

/** The descriptor rules the monitor is built from; mutants replace one. */
export interface DescriptorRules {
  /** May a guest code or data segment have this DPL? */
  readonly segmentDplAllowed: (dpl: number) => boolean;
  /** The limit field that keeps a segment below the VMM base, or null. */
  readonly fitBelowBase: (d: RawDescriptor, vmmBase: number) => number | null;
  /** May a call gate lead to this target (already looked up)? */
  readonly gateTargetAllowed: (targetSelector: number, target: RawDescriptor | null) => boolean;
}

export const defaultDescriptorRules: DescriptorRules = {
  // [VMM.DESC.2] A guest code or data segment with DPL 0 is refused: ring 0
  // belongs to the monitor. (Xen instead raises DPL 0 to 1; we refuse, so
  // that the guest's tables say what the hardware enforces.)
  segmentDplAllowed: (dpl) => dpl >= 1,
  fitBelowBase,
  // [VMM.DESC.6] A call gate is kept only when its target selector names a
  // guest code segment of DPL 1..3 outside the monitor's reserved slots: a
  // gate can never lead to ring 0.
  gateTargetAllowed: (selector, target) => {
    const inGdt = (selector & 4) === 0;
    if (inGdt && (selector >>> 3) >= Slot.firstReserved) return false;
    return target !== null && field.codeOrData(target) && field.isCode(target) && field.dpl(target) >= 1;
  },
};

const refuse = (reason: string): DescriptorDecision => ({ kind: 'refuse', reason });

/**
 * [VMM.DESC.1] Decide what the real table holds for one guest entry: the
 * entry itself, the entry with its limit adjusted, or (refused) a null
 * descriptor, which makes a later load of its selector fault #GP in the
 * guest exactly as a bad descriptor would. Refusals are recorded by the
 * caller; the guest is not stopped.
 */
export function checkDescriptor(d: RawDescriptor, ctx: DescriptorContext, rules: DescriptorRules = defaultDescriptorRules): DescriptorDecision {
  if (isNull(d)) return { kind: 'install', descriptor: NULL_DESCRIPTOR, adjusted: false };
  // [VMM.DESC.7] The GDT slots from 504 up are the monitor's.
  if (ctx.table === 'gdt' && ctx.index >= Slot.firstReserved) return refuse(`GDT entry ${ctx.index} is reserved for the monitor`);
  if (field.codeOrData(d)) return checkSegment(d, ctx, rules);
  return match(field.type(d))
    .with(P.union(0x4, 0xc), () => checkCallGate(d, ctx, rules))
    // [VMM.DESC.5] TSS and LDT descriptors are not copied: the guest's LTR
    // and LLDT trap and the monitor reads them from the guest's own table;
    // task, interrupt and trap gates have no business in a GDT or LDT here.
    .otherwise((type) => refuse(`system descriptor type ${type} is not installed`));
}

// [SENS.SEGREG.2] What MOV Sreg and POP Sreg at ring 1 can load: only what
// passed here (DPL >= 1, limit below the VMM base); a refused entry is null
// in the real table and its load faults #GP(selector) in the guest.
function checkSegment(d: RawDescriptor, ctx: DescriptorContext, rules: DescriptorRules): DescriptorDecision {
  if (!rules.segmentDplAllowed(field.dpl(d))) return refuse(`${ctx.table.toUpperCase()} entry ${ctx.index}: DPL ${field.dpl(d)} is the monitor's`);
  const limitField = rules.fitBelowBase(d, ctx.vmmBase);
  if (limitField === null) return refuse(`${ctx.table.toUpperCase()} entry ${ctx.index}: no limit keeps it below the VMM base`);
  const adjusted = limitField !== field.limitField(d);
  const fitted = adjusted ? withLimitField(d, limitField) : d;
  // The accessed bit is set in the copy, so the processor never writes the
  // real table when the guest loads the segment (VMM memory stays the VMM's).
  return { kind: 'install', descriptor: { low: fitted.low, high: (fitted.high | 0x100) >>> 0 }, adjusted };
}

// [SENS.FAR.1] Far JMP and CALL at ring 1 reach the guest's own code
// segments (copied at their indices) and call gates checked here; a TSS
// descriptor is never copied to a guest slot, so a task switch faults.
function checkCallGate(d: RawDescriptor, ctx: DescriptorContext, rules: DescriptorRules): DescriptorDecision {
  const target = field.gateSelector(d);
  if (!isCallGate(d) || !rules.gateTargetAllowed(target, ctx.lookup(target))) {
    return refuse(`${ctx.table.toUpperCase()} entry ${ctx.index}: call gate to selector 0x${target.toString(16)} is refused`);
  }
  return { kind: 'install', descriptor: d, adjusted: false };
}

/**
 * [VMM.SEG] What the invariant demands of an entry of the real GDT/LDT that
 * the guest can name (any non-reserved slot): null, or a code/data segment
 * of DPL >= 1 ending below the VMM base, or a call gate whose target (in the
 * real tables) is such a code segment. `lookupReal` resolves a selector in
 * the real tables.
 */
export function realEntrySafe(d: RawDescriptor, vmmBase: number, lookupReal: (selector: number) => RawDescriptor | null): string | null {
  if (isNull(d)) return null;
  if (field.codeOrData(d)) {
    if (field.dpl(d) < 1) return 'DPL 0 segment';
    if (!endsBelow(d, vmmBase)) return 'segment reaches the VMM base';
    return null;
  }
  if (isCallGate(d)) {
    const target = lookupReal(field.gateSelector(d));
    if (target === null || isNull(target) || !field.codeOrData(target)) return null; // using it faults
    if (field.dpl(target) < 1) return 'call gate to ring 0';
    return endsBelow(target, vmmBase) ? null : 'call gate to a segment reaching the VMM base';
  }
  return `system descriptor type ${field.type(d)} in a guest slot`;
}
