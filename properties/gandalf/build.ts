// Building gandalf (gandalf/gandalf.asm) with our own assembler, and booting
// it with a guest as its Multiboot module on either machine.
import { join } from 'node:path';
import type { Machine } from '../../model/machine';
import type { MemoryModeName } from '../../model/vmm/memory/types';
import { bootImage, createMachine, type MachineKind } from '../machines';
import { assembleFile } from '../assemble-file';

export const GANDALF_DIR = join(import.meta.dirname, '..', '..', 'gandalf');
/** Machine memory gandalf runs in (it maps machine 0 up to its partition's end, 20 MiB; gandalf/config.inc). */
export const GANDALF_MEMORY = 64 * 1024 * 1024;

/** The -D defines that build gandalf for a memory mode (gandalf/gandalf.asm). */
export function modeDefines(mode: MemoryModeName): Record<string, string> {
  return mode === 'shadow-multi' ? { MEMORY_MULTI: '' } : mode === 'direct' ? { MEMORY_DIRECT: '' } : {};
}

/** Bytes of a file, for `incbin` (-DGUEST=path). */

/** The mutants of gandalf, each a -D define of gandalf/*.inc (see GANDALF_MUTANTS in mutants.ts). */
const cache = new Map<string, Uint8Array>();

/** gandalf.bin, assembled by our assembler with the given defines (cached). */
export function buildGandalf(defines: Record<string, string> = {}): Uint8Array {
  const key = JSON.stringify(Object.entries(defines).sort());
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const r = assembleFile(join(GANDALF_DIR, 'gandalf.asm'), { format: 'bin', defines });
  cache.set(key, r);
  return r;
}

/** A machine with gandalf loaded and `guests` as its modules, at gandalf's entry. */
export function bootGandalf(guests: readonly Uint8Array[], options: { machine?: MachineKind; defines?: Record<string, string> } = {}): Machine {
  const machine = createMachine(options.machine ?? 'impl', GANDALF_MEMORY);
  bootImage(machine, buildGandalf(options.defines), 'gandalf.bin', { modules: guests.map((bytes, i) => ({ name: `guest${i}.bin`, bytes })) });
  return machine;
}
