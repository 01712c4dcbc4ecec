// Routing the three memory events of the monitor to the memory mode in
// force. Single-shadow keeps its original code path (model/vmm/shadow.ts):
// these functions return null for it and the caller goes on as before.
import type { TrapFrame } from '../frame';
import type { VirtualCpu, World } from '../state';
import { multiInvlpg, multiPageFault, multiPagingWrite } from './shadow-multi';
import { directInvlpg, directPageFault, directPagingWrite } from './direct';

export type ModeFault =
  /** The mode's tables now allow the access: the guest retries. */
  | { readonly kind: 'filled'; readonly world: World }
  /** The monitor emulated the instruction: return with this frame, or, when
   * `trap` (the guest single-steps, MEM.DIRECT.6), deliver the guest's #DB first. */
  | { readonly kind: 'resume'; readonly world: World; readonly frame: TrapFrame; readonly trap?: boolean }
  | { readonly kind: 'reflect'; readonly errorCode: number; readonly address: number }
  | { readonly kind: 'stop'; readonly reason: string };

/** [MEM.MODE.1] A page fault the guest caused, by memory mode (null: single-shadow). */
export function modePageFault(world: World, frame: TrapFrame, errorCode: number): ModeFault | null {
  const m = world.vmm.memory;
  if (m === undefined || m.kind === 'shadow-single') return null;
  return m.kind === 'shadow-multi'
    ? multiPageFault(world, m, world.machine.cr2, errorCode)
    : directPageFault(world, m, frame, world.machine.cr2, errorCode);
}

/** [MEM.MODE.2] After the guest wrote CR0, CR3 or CR4 (the virtual CPU holds the new values; a CR3
 * write of the same value counts, as it flushes the TLB). A string stops the guest. */
export function modePagingWrite(world: World, previous: VirtualCpu): World | string | null {
  const m = world.vmm.memory;
  if (m === undefined || m.kind === 'shadow-single') return null;
  return m.kind === 'shadow-multi' ? multiPagingWrite(world, m, previous) : directPagingWrite(world, m, previous);
}

/** [MEM.MODE.3] A guest INVLPG (null: single-shadow). */
export function modeInvlpg(world: World, linear: number): World | null {
  const m = world.vmm.memory;
  if (m === undefined || m.kind === 'shadow-single') return null;
  return m.kind === 'shadow-multi' ? multiInvlpg(world, m, linear) : directInvlpg(world, linear);
}
