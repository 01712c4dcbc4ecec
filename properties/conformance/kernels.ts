// The conformance kernels: NASM-syntax sources in guests/conformance, built
// by our own assembler into flat Multiboot images (a.out-kludge header), so
// the same bytes boot on mesovirt, QEMU (-kernel) and Bochs (floppy loader).
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble } from '../../model/isa/asm/assemble';

export const CONFORMANCE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'guests', 'conformance');

/** Every kernel, in the order the suite runs them (one area each). */
export const KERNELS = ['segload', 'limits', 'io', 'sensitive', 'gates', 'exceptions', 'paging', 'shutdown'] as const;
export type KernelName = (typeof KERNELS)[number];

export function isKernelName(name: string): name is KernelName {
  return (KERNELS as readonly string[]).includes(name);
}

/** Assemble one kernel to a flat image; a source error is thrown with file:line:col. */
export function buildKernel(name: KernelName): Uint8Array {
  const main = join(CONFORMANCE_DIR, `${name}.asm`);
  const read = (path: string): string | null => {
    const full = path.startsWith('/') ? path : join(CONFORMANCE_DIR, path);
    return existsSync(full) ? readFileSync(full, 'utf8') : null;
  };
  const result = assemble(main, read, { format: 'bin' });
  if (result.kind === 'error') {
    const first = result.errors.slice(0, 5).map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join('\n');
    throw new Error(`conformance kernel '${name}' does not assemble:\n${first}`);
  }
  return result.bytes;
}

/** The expected transcript (the manual's answer; see guests/conformance/README.md). */
export function expectedTranscript(name: KernelName): string {
  return readFileSync(join(CONFORMANCE_DIR, 'expected', `${name}.log`), 'utf8');
}
