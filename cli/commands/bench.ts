// `mesovirt bench [--quick] [--only NAME] [--runs N]`: the benchmark kernels
// of guests/bench on the model, impl, v86 and QEMU in one run; prints a table
// and writes bench/results/<timestamp>.json and latest.json. Missing optional
// machines are reported as missing; a wrong checksum makes the exit status 1.
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { runBench } from '../../bench/suite';
import { anyWrong, formatResults, saveResults } from '../../bench/report';
import { kernelNamed, type Kernel } from '../../bench/kernels';

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark the guests/bench kernels on model, impl, v86 and QEMU; print a table and write bench/results/*.json')
    .option('--quick', 'small sizes and one run each (a smoke test, not a measurement)')
    .option('--long', 'the sizes of issue 17 (alu 540 M, sieve 185 M, syscall 32 M instructions): runs of seconds, v86 warm')
    .option('--only <name>', 'one kernel: alu, sieve or syscall')
    .option('--runs <n>', 'timed runs per figure (default 3, or 1 with --quick)')
    .action(async (opts: { quick?: boolean; long?: boolean; only?: string; runs?: string }) => {
      const quick = opts.quick === true;
      const only: Kernel['name'] | null = opts.only === undefined ? null : kernelNamed(opts.only).name;
      const runs = opts.runs === undefined ? (quick ? 1 : 3) : Number(opts.runs);
      if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got '${opts.runs}'`);
      const kernels = only === null ? 3 : 1;
      const tasks = 1 + kernels * 5 + 2; // start-up, per kernel (model, impl, v86, qemu, qemu -icount), decoder, differential
      const bar = new cliProgress.SingleBar({
        format: 'bench [{bar}] {value}/{total} {task}', stream: process.stderr, hideCursor: true, clearOnComplete: true,
      }, cliProgress.Presets.shades_classic);
      bar.start(tasks, 0, { task: '' });
      let done = -1;
      const results = await runBench({
        quick, long: opts.long === true, only, runs,
        progress: (task) => { done++; bar.update(Math.max(done, 0), { task }); },
      }).finally(() => bar.stop());
      process.stdout.write(`${formatResults(results)}\n`);
      // Memory modes of the monitor on the teaching kernel (bench/memory-modes.ts).
      const modes = await import('../../bench/memory-modes');
      process.stdout.write(`\n${modes.formatMemoryModes(modes.benchMemoryModes())}\n`);
      const path = saveResults(results);
      process.stdout.write(`results: ${path} (and bench/results/latest.json)\n`);
      if (anyWrong(results)) {
        process.stderr.write('mesovirt bench: some machine printed a wrong checksum or diverged (see the table)\n');
        process.exitCode = 1;
      }
    });
}
