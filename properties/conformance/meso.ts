// The meso build of a conformance kernel (-D MESO: the harness runs in ring
// 1, its descriptors DPL 1, its selectors RPL 1, no PIC or Bochs ports)
// booted under the monitor (model/vmm), and what it prints.
import { assembleFile } from '../assemble-file';
import { join } from 'node:path';
import { bootGuest } from '../../model/vmm/boot';
import { runWorld } from '../../model/vmm/run';
import { CONFORMANCE_DIR, type KernelName } from './kernels';
import type { Transcript } from './machines';

export function buildMesoKernel(name: KernelName): Uint8Array {
  return assembleFile(join(CONFORMANCE_DIR, `${name}.asm`), { format: 'bin', defines: { MESO: '1' } }, `the meso build of '${name}'`);
}

/** Run the meso build under the monitor; the ending is runWorld's. */
export function runMeso(name: KernelName, maxSteps: number): Transcript {
  const boot = bootGuest(buildMesoKernel(name));
  if (boot.kind === 'error') throw new Error(`meso build of '${name}' does not boot: ${boot.message}`);
  const run = runWorld(boot.world, maxSteps);
  return { text: run.console, ending: run.end };
}
