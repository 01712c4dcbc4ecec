// VMM.EQ per memory mode over the paged guests of memory-guests.ts, and
// the known-broken memory modes it (or the NI property) must catch.
import fc from 'fast-check';
import { observeNative } from './equivalence';
import { bootInMode, type ModeRules } from '../../model/vmm/memory/boot';
import type { MemoryModeName } from '../../model/vmm/memory/types';
import { runWorld } from '../../model/vmm/run';
import { pagedImage, pagedProgram } from './memory-guests';

const STEPS = 4000;

/** Console and end of a paged guest natively and under the monitor in `mode`. */
export function pagedRun(ops: Parameters<typeof pagedImage>[0], mode: MemoryModeName, modeRules: ModeRules = {}) {
  const image = pagedImage(ops);
  const native = observeNative(image, STEPS, false);
  const boot = bootInMode(image, mode, undefined, undefined, modeRules);
  if (boot.kind !== 'ok') throw new Error(boot.message);
  const guest = runWorld(boot.world, STEPS * 3);
  return { native, guest };
}

/** [VMM.EQ] [MEM.EQ.1] In every memory mode, a paged guest prints what it prints natively and ends the same way. */
export const modeEquivalence = (mode: MemoryModeName, modeRules: ModeRules = {}) =>
  fc.property(pagedProgram, (ops) => {
    const { native, guest } = pagedRun(ops, mode, modeRules);
    if (guest.console !== native.console || guest.end !== native.end) {
      throw new Error(`[VMM.EQ] ${mode}: native printed ${JSON.stringify(native.console)} (${native.end}), the guest ${JSON.stringify(guest.console)} (${guest.end})`);
    }
  });

export interface MemoryMutant {
  readonly name: string;
  readonly mode: MemoryModeName;
  readonly modeRules: ModeRules;
  readonly killedBy: 'VMM.EQ' | 'VMM.RES' | 'VMM.NI';
}

export const MEMORY_MUTANTS: readonly MemoryMutant[] = [
  { name: 'stale shadow after a guest page-table write', mode: 'shadow-multi', modeRules: { multi: { dropOnTableWrite: false } }, killedBy: 'VMM.EQ' },
  { name: 'guest page-table page left writable', mode: 'direct', modeRules: { direct: { protectTables: false } }, killedBy: 'VMM.RES' },
];
