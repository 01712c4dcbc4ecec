// `mesovirt bench linux [--model-seconds S]`: boot the committed Linux guest
// (guests/linux) on impl, QEMU TCG and the model (within a time limit), and
// print boot time, instructions and init's microbenchmark table
// (instructions per operation: on our machines RDTSC counts instructions, on
// QEMU -icount shift=0 makes it do the same). Writes bench/results/linux-latest.json.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { bootLinux, bootLinuxOnQemu, microbenchmarks } from '../../properties/linux';
import { hasTool } from '../../properties/tools';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');

export function register(program: Command): void {
  const bench = program.commands.find((c) => c.name() === 'bench');
  if (bench === undefined) throw new Error('bench-linux must be registered after bench');
  bench
    .command('linux')
    .description('boot guests/linux on impl, QEMU TCG and the model (time-limited); boot time, instructions, microbenchmarks')
    .option('--model-seconds <s>', 'stop the model after this many seconds (0: skip it)', '120')
    .action((opts: { modelSeconds: string }) => {
      const modelSeconds = Number(opts.modelSeconds);
      if (!Number.isFinite(modelSeconds) || modelSeconds < 0) throw new Error(`--model-seconds must be a number of seconds, got '${opts.modelSeconds}'`);
      const say = (s: string): void => void process.stdout.write(`${s}\n`);
      const note = (s: string): void => void process.stderr.write(`bench linux: ${s}\n`);
      note('impl...');
      const impl = bootLinux('impl');
      const qemu = hasTool('qemu-system-i386') ? (note('QEMU TCG...'), bootLinuxOnQemu()) : null;
      const model = modelSeconds > 0 ? (note(`model (at most ${modelSeconds} s)...`), bootLinux('model', 200_000_000, undefined, modelSeconds)) : null;
      const verdict = (c: string): string => /^init: \d+ passed, \d+ failed/m.exec(c)?.[0] ?? 'no verdict';
      const mips = (n: number, s: number): string => (n / s / 1e6).toFixed(2);
      say('machine   boot to exit   instructions    MIPS   init');
      say(`impl      ${impl.seconds.toFixed(1).padStart(9)} s   ${impl.instructions.toLocaleString('en').padStart(12)}  ${mips(impl.instructions, impl.seconds).padStart(6)}   ${verdict(impl.console)}, exit ${impl.exitCode}`);
      if (qemu !== null) say(`QEMU TCG  ${qemu.seconds.toFixed(1).padStart(9)} s   ${'(icount)'.padStart(12)}  ${''.padStart(6)}   ${verdict(qemu.console)}, exit ${qemu.exitCode}`);
      else say('QEMU TCG  not installed');
      if (model !== null) {
        const finished = model.exitCode !== null;
        say(`model     ${model.seconds.toFixed(1).padStart(9)} s   ${model.instructions.toLocaleString('en').padStart(12)}  ${mips(model.instructions, model.seconds).padStart(6)}   ${finished ? `${verdict(model.console)}, exit ${model.exitCode}` : `stopped at the ${modelSeconds} s limit`}`);
      }
      const ours = microbenchmarks(impl.console), theirs = microbenchmarks(qemu?.console ?? '');
      say('');
      say('microbenchmark   impl (instr/op)   QEMU -icount (instr/op)');
      const names = [...new Set([...ours.keys(), ...theirs.keys()])];
      if (names.length === 0) say('(none: init found no TSC in CPUID and skipped them)');
      for (const n of names) say(`${n.padEnd(16)} ${String(ours.get(n) ?? '-').padStart(15)}   ${String(theirs.get(n) ?? '-').padStart(23)}`);
      const result = {
        date: new Date().toISOString(),
        impl: { seconds: impl.seconds, instructions: impl.instructions, exitCode: impl.exitCode, microbenchmarks: Object.fromEntries(ours) },
        qemu: qemu === null ? null : { seconds: qemu.seconds, exitCode: qemu.exitCode, microbenchmarks: Object.fromEntries(theirs) },
        model: model === null ? null : { seconds: model.seconds, instructions: model.instructions, exitCode: model.exitCode },
      };
      mkdirSync(RESULTS, { recursive: true });
      const path = join(RESULTS, 'linux-latest.json');
      writeFileSync(`${path}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
      renameSync(`${path}.tmp`, path);
      say(`\nresults: ${path}`);
      if (impl.exitCode !== 1) process.exitCode = 1;
    });
}
