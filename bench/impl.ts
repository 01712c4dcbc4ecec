// impl speed on a CPU-bound guest loop: a flat image (built by our own
// assembler) that runs an ALU loop and exits through port 0xF4; each run
// boots a fresh machine and steps it to the exit.
import { assembleText } from '../model/isa/asm/assemble';
import { ImplMachine } from '../impl/machine';
import { type Timing, perSecond, timeRuns } from './measure';
import { flatEntryState } from '../properties/machines';

export interface ImplBenchResult {
  readonly name: 'impl';
  readonly instructionsRetired: number;
  readonly timing: Timing;
  /** From the median run time, and from the fastest run. */
  readonly instructionsPerSecond: { readonly median: number; readonly best: number };
  readonly checksum: number;
}

/** A loop of `iterations` rounds of a few ALU instructions, then exit with the checksum's low byte. */
export function loopSource(iterations: number): string {
  return `bits 32
org 0x100000
  mov ecx, ${iterations}
  xor eax, eax
  mov ebx, 0x12345678
.loop:
  add eax, ebx
  rol ebx, 3
  xor eax, ecx
  dec ecx
  jnz .loop
  mov [result], eax
  mov dx, 0xf4
  out dx, al
  hlt
result: dd 0
`;
}

function loopImage(iterations: number): Uint8Array {
  const r = assembleText({ 'loop.asm': loopSource(iterations) }, 'loop.asm', { format: 'bin' });
  if (r.kind !== 'ok') throw new Error(`bench loop does not assemble: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.bytes;
}

/** Boot the loop at 0x100000 in flat ring 0 and run it to the exit; returns [retired, eax]. */
export function runLoopOnImpl(image: Uint8Array): [number, number] {
  const m = new ImplMachine(4 << 20);
  m.writePhysical(0x100000, image);
  m.setState(flatEntryState(0x100000, 0x90000));
  const event = m.run(Number.MAX_SAFE_INTEGER);
  if (event.kind !== 'exit') throw new Error(`bench loop stopped with ${JSON.stringify(event)}`);
  const s = m.state();
  return [s.instructionCount, s.regs.eax];
}

/** Run the loop (about 5 * iterations instructions) `runs` times after a warm-up. */
export async function benchImpl(runs = 5, iterations = 2_000_000): Promise<ImplBenchResult> {
  const image = loopImage(iterations);
  let retired = 0, checksum = 0;
  const timing = await timeRuns(Math.max(5, runs), () => { [retired, checksum] = runLoopOnImpl(image); });
  return {
    name: 'impl',
    instructionsRetired: retired,
    timing,
    instructionsPerSecond: { median: perSecond(retired, timing.medianMs), best: perSecond(retired, timing.minMs) },
    checksum,
  };
}

/** impl on the guests/bench kernels at their full sizes: MIPS over `runs`
 * runs (each on a fresh machine, timing the run only) and the translated-
 * block counters of the last run (blocks compiled, blocks run, blocks left
 * early on a fault or a store to code). */
export interface ImplKernelResult {
  readonly kernel: string;
  readonly instructions: number;
  readonly mips: { readonly min: number; readonly median: number; readonly max: number };
  readonly blocks: { compiled: number; runs: number; bailouts: number };
  readonly correct: boolean;
}

export async function benchImplKernels(runs = 5, only?: string): Promise<ImplKernelResult[]> {
  const { KERNELS, SIZES, buildKernel } = await import('./kernels');
  const { bootImage } = await import('./guest-run');
  const results: ImplKernelResult[] = [];
  for (const kernel of KERNELS) {
    if (only !== undefined && kernel.name !== only) continue;
    const work = SIZES[kernel.name].full.fast;
    const image = buildKernel(kernel, work);
    const mips: number[] = [];
    let instructions = 0, correct = true, blocks = { compiled: 0, runs: 0, bailouts: 0 };
    for (let r = 0; r < runs; r++) {
      const m = bootImage('impl', image) as ImplMachine;
      const start = performance.now();
      let event = m.run(Number.MAX_SAFE_INTEGER);
      while (event.kind === 'interrupt' || event.kind === 'exception') event = m.run(Number.MAX_SAFE_INTEGER);
      const ms = performance.now() - start;
      instructions = m.state().instructionCount;
      mips.push(instructions / ms / 1000);
      correct &&= event.kind === 'exit' && Buffer.from(m.consoleOutput()).toString('latin1').includes(kernel.expected(work).trim());
      blocks = m.blockStats();
    }
    mips.sort((a, b) => a - b);
    results.push({
      kernel: kernel.name, instructions, blocks, correct,
      mips: { min: mips[0], median: mips[Math.floor(mips.length / 2)], max: mips[mips.length - 1] },
    });
  }
  return results;
}
