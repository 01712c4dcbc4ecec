// `mesovirt bench guests [--bench NAME]`: the lmbench-style microbenchmarks of
// the teaching kernel, native / meso (each memory mode) / para; prints the
// table and writes bench/guests-results/latest.json and latest.svg.
import type { Command } from 'commander';
import { runGuestBench, saveGuestResults } from '../../bench/guests';
import { formatGuestTable } from '../../bench/guests-report';
import { MICROBENCHMARKS, type Microbenchmark } from '../../bench/guests-run';
import { formatGandalfTable, gandalfRowCorrect, runGandalfGuestBench } from '../../bench/guests-gandalf';
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR } from '../../bench/guests';

export function register(program: Command): void {
  const bench = program.commands.find((c) => c.name() === 'bench');
  if (bench === undefined) throw new Error('bench-guests must be registered after bench');
  bench
    .command('guests')
    .description('microbenchmarks in the teaching kernel: measured under gandalf (native, meso in each memory mode, para single-shadow and direct: instructions on impl, QEMU wall time); then native, meso, para under model/vmm with the cost model as a cross-check; tables, JSON and SVG')
    .option('--bench <name>', `one microbenchmark: ${MICROBENCHMARKS.join(', ')}`)
    .option('--machine <kind>', 'the processor under model/vmm: impl (the monitor hosted on it) or model; the counts are the same', 'impl')
    .option('--qemu-runs <n>', 'QEMU runs per configuration under gandalf (the fastest is reported)', '3')
    .action(async (opts: { bench?: string; machine: string; qemuRuns: string }) => {
      if (opts.machine !== 'model' && opts.machine !== 'impl') throw new Error(`--machine must be 'model' or 'impl', got '${opts.machine}'`);
      let only: readonly Microbenchmark[] = MICROBENCHMARKS;
      if (opts.bench !== undefined) {
        if (!(MICROBENCHMARKS as readonly string[]).includes(opts.bench)) throw new Error(`--bench must be one of ${MICROBENCHMARKS.join(', ')}, got '${opts.bench}'`);
        only = [opts.bench as Microbenchmark];
      }
      const qemuRuns = Number(opts.qemuRuns);
      if (!Number.isInteger(qemuRuns) || qemuRuns < 1) throw new Error(`--qemu-runs must be a positive integer, got '${opts.qemuRuns}'`);
      // Measured: gandalf, the monitor as IA-32 code (bench/guests-gandalf.ts).
      const measured = await runGandalfGuestBench(only, (task) => process.stderr.write(`bench guests: ${task}\n`), qemuRuns);
      process.stdout.write(`MEASURED under gandalf (bench/guests-gandalf.ts)\n${formatGandalfTable(measured)}\n\n`);
      const measuredPath = join(RESULTS_DIR, 'gandalf-latest.json');
      writeFileSync(`${measuredPath}.tmp`, `${JSON.stringify(measured, null, 2)}\n`);
      renameSync(`${measuredPath}.tmp`, measuredPath);
      // The cross-check: model/vmm, its monitor's work priced by the cost model.
      const results = runGuestBench(only, (task) => process.stderr.write(`bench guests: ${task}\n`), opts.machine);
      process.stdout.write(`COST MODEL under model/vmm (bench/guests-cost.ts: guessed monitor work, a cross-check)\n${formatGuestTable(results)}\n`);
      const paths = saveGuestResults(results);
      process.stdout.write(`results: ${paths.json}, chart: ${paths.svg}\n`);
      process.stdout.write(`measured results: ${measuredPath}\n`);
      if (results.rows.some((r) => !r.correct) || measured.rows.some((r) => !gandalfRowCorrect(measured, r))) {
        process.stderr.write('mesovirt bench guests: some run printed a wrong checksum or did not end cleanly\n');
        process.exitCode = 1;
      }
    });
}
