// Starting a guest in a chosen memory mode: the monitor boots it as always
// (VMM.BOOT.1/2: the guest's paging is off, the real CR3 is the monitor's
// directory) and records the mode; the mode takes over at the guest's
// first page fault or paging-register write.
import { bootGuest, type Boot } from '../boot';
import { DEFAULT_CONFIG, type VmmConfig } from '../config';
import { defaultRules, type VmmRules } from '../rules';
import { DIRECT_CONFIG } from './direct';
import { initialMemoryState, type DirectRules, type MemoryModeName, type MultiShadowRules } from './types';

export interface ModeRules { readonly multi?: MultiShadowRules; readonly direct?: DirectRules }

/** The default layout of a mode: direct needs the identity partition (MEM.DIRECT.1). */
export const configFor = (mode: MemoryModeName): VmmConfig => (mode === 'direct' ? DIRECT_CONFIG : DEFAULT_CONFIG);

export function bootInMode(
  image: Uint8Array, mode: MemoryModeName, config: VmmConfig = configFor(mode), rules: VmmRules = defaultRules, modeRules: ModeRules = {},
): Boot {
  if (mode === 'direct' && config.partitionBase !== 0) {
    return { kind: 'error', message: `direct memory mode needs the partition at machine 0 (guest-physical = machine), got base 0x${config.partitionBase.toString(16)}` };
  }
  const b = bootGuest(image, config, rules);
  if (b.kind === 'error') return b;
  return { kind: 'ok', world: { ...b.world, vmm: { ...b.world.vmm, memory: initialMemoryState(mode, modeRules) } } };
}

export function parseMemoryMode(text: string): MemoryModeName {
  if (text === 'shadow-single' || text === 'shadow-multi' || text === 'direct') return text;
  throw new Error(`--memory must be shadow-single, shadow-multi or direct, got '${text}'`);
}
