// Starting a para guest: the mesovirtual boot (model/vmm/boot.ts), plus the
// hypercall gate and the para state.
import { writePhysical } from '../../cpu/memory';
import { IF } from '../../cpu/eflags';
import { bootGuest, type Boot } from '../boot';
import { DEFAULT_CONFIG, Frame, frameMachine, type VmmConfig } from '../config';
import { defaultRules, type VmmRules } from '../rules';
import { defaultParaRules, HYPERCALL_VECTOR, initialParaState, type ParaRules } from './interface';
import { hypercallGate } from './hypercalls';
import { bootInMode } from '../memory/boot';

/** [PARA.BOOT.2] The memory modes a para guest can run in: single-shadow
 * (the default) and direct, where the validated tables are the real ones
 * (Xen's arrangement). Multiple shadows are not offered: they learn of table
 * changes from write faults, and a para guest's tables change only inside
 * the monitor. */
export type ParaMemoryMode = 'shadow-single' | 'direct';
export const PARA_MEMORY_MODES: readonly ParaMemoryMode[] = ['shadow-single', 'direct'];

/**
 * [PARA.BOOT.1] A para guest boots as a meso guest (ring 1, boot segments
 * below the VMM base, Multiboot registers) with three differences: the real
 * IDT has the hypercall gate; the real IF is 1 from the start (the virtual
 * IF, in the shared page, is what the guest controls, and it reads 0 until
 * the guest registers its page); the monitor keeps para state beside its own.
 */
export function bootParaGuest(
  image: Uint8Array, config: VmmConfig = DEFAULT_CONFIG, rules: VmmRules = defaultRules, paraRules: ParaRules = defaultParaRules, mode?: ParaMemoryMode,
): Boot {
  const b = mode === undefined ? bootGuest(image, config, rules) : bootInMode(image, mode, config, rules);
  if (b.kind !== 'ok') return b;
  const { machine, vmm } = b.world;
  const gate = hypercallGate(config, paraRules.hypercallFromRing3 ? 3 : 1);
  const at = frameMachine(config, Frame.idt) + 8 * HYPERCALL_VECTOR;
  const memory = writePhysical(writePhysical(machine.memory, at, 4, gate.low), at + 4, 4, gate.high);
  return {
    kind: 'ok',
    world: { machine: { ...machine, memory, eflags: (machine.eflags | IF) >>> 0 }, vmm: { ...vmm, para: initialParaState(paraRules) } },
  };
}
