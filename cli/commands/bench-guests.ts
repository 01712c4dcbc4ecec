// `mesovirt bench guests [--bench NAME]`: the lmbench-style microbenchmarks of
// the teaching kernel, native / meso (each memory mode) / para; prints the
// table and writes bench/guests-results/latest.json and latest.svg.
import type { Command } from 'commander';
import { runGuestBench, saveGuestResults } from '../../bench/guests';
import { formatGuestTable } from '../../bench/guests-report';
import { MICROBENCHMARKS, type Microbenchmark } from '../../bench/guests-run';

export function register(program: Command): void {
  const bench = program.commands.find((c) => c.name() === 'bench');
  if (bench === undefined) throw new Error('bench-guests must be registered after bench');
  bench
    .command('guests')
    .description('microbenchmarks in the teaching kernel: native, meso under each memory mode, para; table, JSON and SVG')
    .option('--bench <name>', `one microbenchmark: ${MICROBENCHMARKS.join(', ')}`)
    .option('--machine <kind>', 'the processor: impl (the monitor hosted on it) or model; the counts are the same', 'impl')
    .action((opts: { bench?: string; machine: string }) => {
      if (opts.machine !== 'model' && opts.machine !== 'impl') throw new Error(`--machine must be 'model' or 'impl', got '${opts.machine}'`);
      let only: readonly Microbenchmark[] = MICROBENCHMARKS;
      if (opts.bench !== undefined) {
        if (!(MICROBENCHMARKS as readonly string[]).includes(opts.bench)) throw new Error(`--bench must be one of ${MICROBENCHMARKS.join(', ')}, got '${opts.bench}'`);
        only = [opts.bench as Microbenchmark];
      }
      const results = runGuestBench(only, (task) => process.stderr.write(`bench guests: ${task}\n`), opts.machine);
      process.stdout.write(`${formatGuestTable(results)}\n`);
      const paths = saveGuestResults(results);
      process.stdout.write(`results: ${paths.json}, chart: ${paths.svg}\n`);
      if (results.rows.some((r) => !r.correct)) {
        process.stderr.write('mesovirt bench guests: some run printed a wrong checksum or did not end cleanly\n');
        process.exitCode = 1;
      }
    });
}
