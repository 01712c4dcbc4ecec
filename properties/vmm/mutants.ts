// Known-broken monitors: each replaces one rule of the default VmmRules.
// The suite must fail on every one of them (test/vmm/invariants.test.ts).
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import { field, fitBelowBase } from '../../model/vmm/descriptors';

export interface Mutant { readonly name: string; readonly rules: VmmRules; readonly killedBy: string }

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
];
