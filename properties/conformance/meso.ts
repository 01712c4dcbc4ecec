// The meso build of a conformance kernel (-D MESO: the harness runs in ring
// 1, its descriptors DPL 1, its selectors RPL 1, no PIC or Bochs ports)
// booted under the monitor (model/vmm), and what it prints.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../../model/isa/asm/assemble';
import { bootGuest } from '../../model/vmm/boot';
import { runWorld } from '../../model/vmm/run';
import { CONFORMANCE_DIR, type KernelName } from './kernels';
import type { Transcript } from './machines';

export function buildMesoKernel(name: KernelName): Uint8Array {
  const read = (path: string): string | null => {
    const full = path.startsWith('/') ? path : join(CONFORMANCE_DIR, path);
    return existsSync(full) ? readFileSync(full, 'utf8') : null;
  };
  const result = assemble(join(CONFORMANCE_DIR, `${name}.asm`), read, { format: 'bin', defines: { MESO: '1' } });
  if (result.kind === 'error') {
    throw new Error(`meso build of '${name}':\n${result.errors.slice(0, 5).map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join('\n')}`);
  }
  return result.bytes;
}

/** Run the meso build under the monitor; the ending is runWorld's. */
export function runMeso(name: KernelName, maxSteps: number): Transcript {
  const boot = bootGuest(buildMesoKernel(name));
  if (boot.kind === 'error') throw new Error(`meso build of '${name}' does not boot: ${boot.message}`);
  const run = runWorld(boot.world, maxSteps);
  return { text: run.console, ending: run.end };
}
