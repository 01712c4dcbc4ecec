// The benchmark kernels of guests/bench: how to build each at a given size,
// and the line it must print at that size (bench/reference.ts).
import { fileURLToPath } from 'node:url';
import { aluExpected, sieveExpected, syscallExpected } from './reference';
import { assembleFile } from '../properties/assemble-file';

export const GUESTS_DIR = fileURLToPath(new URL('../guests/bench/', import.meta.url));

/** One benchmark kernel. `work` is the size knob: ALU iterations, sieve
 * bytes, or system-call rounds. */
export interface Kernel {
  readonly name: 'alu' | 'sieve' | 'syscall';
  readonly source: string;
  readonly describe: string;
  /** The -D defines that build the kernel with this much work. */
  defines(work: number): Record<string, string>;
  expected(work: number): string;
}

const SYSCALL_PAGES = 16;

export const KERNELS: readonly Kernel[] = [
  {
    name: 'alu', source: 'alu.asm', describe: 'register-only ALU loop',
    defines: (n) => ({ ALU_ITERATIONS: String(n) }),
    expected: aluExpected,
  },
  {
    name: 'sieve', source: 'sieve.asm', describe: 'sieve of Eratosthenes + CRC32',
    defines: (n) => ({ SIEVE_SIZE: String(n) }),
    expected: sieveExpected,
  },
  {
    name: 'syscall', source: 'syscall.asm', describe: 'int 0x80 from ring 3 + demand page faults',
    defines: (n) => ({ SYSCALL_ROUNDS: String(n), SYSCALL_PAGES: String(SYSCALL_PAGES) }),
    expected: (n) => syscallExpected(n, SYSCALL_PAGES),
  },
];

/** How much work each kernel does per class of machine. The model is a
 * readable interpreter and gets small sizes; impl, v86 and QEMU get sizes
 * that run long enough on impl (seconds; tens of millions of instructions)
 * to measure, and the same image runs on v86 and QEMU.
 * MIPS make the two comparable. */
export interface Sizes { readonly model: number; readonly fast: number }

/** `long`: the sizes of issue 17, runs of seconds where v86's JIT is warm
 * (alu 40 M iterations = 540 M instructions, sieve 8 MiB = about 185 M,
 * syscall 45,000 rounds = about 32 M). */
export const SIZES: Readonly<Record<Kernel['name'], { readonly quick: Sizes; readonly full: Sizes; readonly long: Sizes }>> = {
  alu: { quick: { model: 2_000, fast: 1_000_000 }, full: { model: 20_000, fast: 4_000_000 }, long: { model: 20_000, fast: 40_000_000 } },
  sieve: { quick: { model: 4_096, fast: 262_144 }, full: { model: 16_384, fast: 1_048_576 }, long: { model: 16_384, fast: 8_388_608 } },
  syscall: { quick: { model: 20, fast: 2_000 }, full: { model: 60, fast: 5_000 }, long: { model: 60, fast: 45_000 } },
};

/** Assembles a kernel with mesovirt's own assembler into a flat Multiboot image. */
export function buildKernel(kernel: Kernel, work: number): Uint8Array {
  return assembleFile(GUESTS_DIR + kernel.source, { format: 'bin', defines: kernel.defines(work) });
}

export function kernelNamed(name: string): Kernel {
  const k = KERNELS.find((x) => x.name === name);
  if (k === undefined) throw new Error(`--only: no benchmark kernel '${name}' (there are ${KERNELS.map((x) => x.name).join(', ')})`);
  return k;
}
