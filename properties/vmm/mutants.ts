// Known-broken monitors: each replaces one rule of the default VmmRules.
// This is the one list of them; for each, `killedBy` names the property
// meant to catch it (an invariant of properties/vmm/invariants.ts over the
// hostile guests, or VMM.EQ over the paged guests of paged-guest.ts). The
// default property run must fail on every one of them, through that
// property (test/vmm/mutants.test.ts).
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import { field, fitBelowBase } from '../../model/vmm/descriptors';

export type KillingProperty = 'VMM.SEG' | 'VMM.RES' | 'VMM.ISO' | 'VMM.RING' | 'VMM.EQ';

export interface Mutant { readonly name: string; readonly rules: VmmRules; readonly killedBy: KillingProperty }

const withDescriptors = (d: Partial<VmmRules['descriptors']>): VmmRules => ({ ...defaultRules, descriptors: { ...defaultRules.descriptors, ...d } });
const withShadow = (s: Partial<VmmRules['shadow']>): VmmRules => ({ ...defaultRules, shadow: { ...defaultRules.shadow, ...s } });

export const MUTANTS: readonly Mutant[] = [
  { name: 'limit not truncated', killedBy: 'VMM.SEG', rules: withDescriptors({ fitBelowBase: (d) => field.limitField(d) }) },
  {
    name: 'expand-down truncated like expand-up', killedBy: 'VMM.SEG',
    rules: withDescriptors({ fitBelowBase: (d, base) => fitBelowBase(field.expandDown(d) ? { low: d.low, high: d.high & ~0x400 } : d, base) }),
  },
  { name: 'DPL 0 accepted', killedBy: 'VMM.SEG', rules: withDescriptors({ segmentDplAllowed: () => true }) },
  { name: 'call gate to ring 0 accepted', killedBy: 'VMM.SEG', rules: withDescriptors({ gateTargetAllowed: () => true }) },
  { name: 'guest frame outside the partition', killedBy: 'VMM.RES', rules: withShadow({ machineFrame: (_c, f) => f }) },
  { name: 'shadow not flushed on a guest CR3 write', killedBy: 'VMM.EQ', rules: withShadow({ flushOnCr3Write: false }) },
  { name: 'shadow entry writable where the guest maps read-only', killedBy: 'VMM.EQ', rules: withShadow({ writable: () => true }) },
  { name: 'CR2 not virtualized on a reflected #PF', killedBy: 'VMM.EQ', rules: { ...defaultRules, virtualCr2OnPageFault: false } },
  { name: 'virtual IF lost on STI', killedBy: 'VMM.EQ', rules: { ...defaultRules, stiSetsIf: false } },
  { name: 'guest INVLPG not applied to the shadow', killedBy: 'VMM.EQ', rules: withShadow({ flushOnInvlpg: false }) },
  { name: 'guest dirty bit not emulated (clean pages mapped writable)', killedBy: 'VMM.EQ', rules: withShadow({ writable: (m) => m.writable }) },
];
