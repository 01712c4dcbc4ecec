// Every decision the monitor makes that a property is meant to guard, in one
// record. The monitor is always run with a VmmRules value; the defaults are
// the specified monitor, and a mutant (properties/vmm/mutants.ts) replaces a
// single rule to show that some property notices.
import { defaultDescriptorRules, type DescriptorRules } from './check';
import { defaultShadowRules, type ShadowRules } from './shadow';

export interface VmmRules {
  readonly descriptors: DescriptorRules;
  readonly shadow: ShadowRules;
  /** Does a reflected #PF load the guest's virtual CR2? */
  readonly virtualCr2OnPageFault: boolean;
  /** The virtual IF an emulated STI leaves (true), CLI (false). */
  readonly stiSetsIf: boolean;
  /** Does the direct gate for a guest vector require a DPL-1 target? */
  readonly directGateNeedsRing1: boolean;
}

export const defaultRules: VmmRules = {
  descriptors: defaultDescriptorRules,
  shadow: defaultShadowRules,
  virtualCr2OnPageFault: true,
  stiSetsIf: true,
  directGateNeedsRing1: true,
};
