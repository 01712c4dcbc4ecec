// The conformance kernels: NASM-syntax sources in guests/conformance, built
// by our own assembler into flat Multiboot images (a.out-kludge header), so
// the same bytes boot on mesovirt, QEMU (-kernel) and Bochs (floppy loader).
import { assembleFile } from '../assemble-file';
import { readFileSync,  } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONFORMANCE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'guests', 'conformance');

/** Every kernel, in the order the suite runs them (one area each). */
export const KERNELS = ['segload', 'limits', 'io', 'sensitive', 'gates', 'exceptions', 'paging', 'shutdown'] as const;
export type KernelName = (typeof KERNELS)[number];

export function isKernelName(name: string): name is KernelName {
  return (KERNELS as readonly string[]).includes(name);
}

/** Assemble one kernel to a flat image; a source error is thrown with file:line:col. */
export function buildKernel(name: KernelName): Uint8Array {
  return assembleFile(join(CONFORMANCE_DIR, `${name}.asm`), { format: 'bin' }, `conformance kernel '${name}'`);
}

/** The expected transcript (the manual's answer; see guests/conformance/README.md). */
export function expectedTranscript(name: KernelName): string {
  return readFileSync(join(CONFORMANCE_DIR, 'expected', `${name}.log`), 'utf8');
}
