// `mesovirt bench-impl [--runs N] [--only alu|sieve|syscall]`: impl alone on
// the guests/bench kernels at their full sizes, with the translated-block
// counters (impl/blocks.ts): blocks compiled, blocks run (a block that loops
// on itself counts once per entry), and bail-outs (a fault or a store to
// code inside a block). `mesovirt bench` gives the comparison with v86 and
// QEMU; this verb is for profiling impl.
import type { Command } from 'commander';
import { benchImplKernels } from '../../bench/impl';
import { kernelNamed } from '../../bench/kernels';

export function register(program: Command): void {
  program
    .command('bench-impl')
    .description('impl alone on the bench kernels: MIPS (min/median/max) and translated-block counters')
    .option('--runs <n>', 'timed runs per kernel', '5')
    .option('--only <name>', 'one kernel: alu, sieve or syscall')
    .action(async (options: { runs: string; only?: string }) => {
      const runs = Number(options.runs);
      if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got '${options.runs}'`);
      if (options.only !== undefined) kernelNamed(options.only);
      const rows = await benchImplKernels(runs, options.only);
      console.log('kernel   instructions  MIPS min / median / max  blocks compiled  runs      bail-outs  answer');
      for (const r of rows) {
        const m = r.mips;
        console.log(`${r.kernel.padEnd(8)} ${String(r.instructions).padEnd(13)} ${`${m.min.toFixed(1)} / ${m.median.toFixed(1)} / ${m.max.toFixed(1)}`.padEnd(24)} ${String(r.blocks.compiled).padEnd(16)} ${String(r.blocks.runs).padEnd(9)} ${String(r.blocks.bailouts).padEnd(10)} ${r.correct ? 'right' : 'WRONG'}`);
      }
    });
}
