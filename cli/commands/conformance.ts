// `mesovirt conformance`: run the conformance kernels (guests/conformance) on
// the model and/or impl and on the outside oracles, and diff every
// transcript with the expected one (known discrepancies tolerated).
import type { Command } from 'commander';
import { hasTool } from '../../properties/tools';
import { KERNELS, isKernelName, type KernelName } from '../../properties/conformance/kernels';
import { ORACLES, ORACLE_TOOL, type Oracle } from '../../properties/conformance/oracles';
import type { OwnMachine } from '../../properties/conformance/machines';
import { runSuite, suitePassed } from '../../properties/conformance/suite';
import { describeComparison } from '../../properties/conformance/compare';
import { describeRecord, listDiscrepancies, recordKernel } from '../../properties/conformance/record';
import { MachineOrOracle } from '../../properties/conformance/known';

function parseOracles(text: string): Oracle[] {
  if (text === 'none') return [];
  if (text === 'all') {
    const present = ORACLES.filter((o) => hasTool(ORACLE_TOOL[o]));
    for (const o of ORACLES) if (!present.includes(o)) process.stderr.write(`mesovirt: ${ORACLE_TOOL[o]} is not installed; ${o} skipped\n`);
    return present;
  }
  if (text !== 'qemu' && text !== 'bochs') throw new Error(`--oracle must be qemu, bochs, all or none, got '${text}'`);
  if (!hasTool(ORACLE_TOOL[text])) throw new Error(`--oracle ${text}: ${ORACLE_TOOL[text]} is not installed`);
  return [text];
}

function parseMachines(text: string): OwnMachine[] {
  if (text === 'both') return ['model', 'impl'];
  if (text === 'model' || text === 'impl') return [text];
  if (text === 'none') return [];
  throw new Error(`--machine must be model, impl, both or none, got '${text}'`);
}

function parseKernels(text: string | undefined): KernelName[] {
  if (text === undefined) return [...KERNELS];
  return text.split(',').map((k) => {
    if (!isKernelName(k)) throw new Error(`--kernel: unknown kernel '${k}' (known: ${KERNELS.join(', ')})`);
    return k;
  });
}

export function register(program: Command): void {
  program
    .command('conformance')
    .description('run the conformance kernels on our machines and on QEMU/Bochs, and diff each transcript with the expected one')
    .option('--oracle <which>', 'qemu, bochs, all (those installed) or none', 'all')
    .option('--machine <which>', 'model, impl, both or none', 'both')
    .option('--kernel <names>', `comma-separated subset of: ${KERNELS.join(', ')}`)
    .option('--record <oracle>', 'record expected/<kernel>.log on bochs or qemu (OVERRIDES.json applied) and refresh the listed discrepancies')
    .option('--list <machine>', 'list the current differences of --tests on this machine as known discrepancies, with --reason')
    .option('--tests <regex>', 'with --list: the test names to list')
    .option('--reason <text>', 'with --list: why the machine differs, and the manual\'s answer')
    .action(async (opts: { oracle: string; machine: string; kernel?: string; record?: string; list?: string; tests?: string; reason?: string }) => {
      if (opts.record !== undefined) {
        if (opts.record !== 'bochs' && opts.record !== 'qemu') throw new Error(`--record must be bochs or qemu, got '${opts.record}'`);
        if (!hasTool(ORACLE_TOOL[opts.record])) throw new Error(`--record ${opts.record}: ${ORACLE_TOOL[opts.record]} is not installed`);
        if (opts.kernel === undefined) throw new Error('--record needs --kernel (one kernel, or a comma-separated list)');
        const others = ORACLES.filter((o) => hasTool(ORACLE_TOOL[o]));
        for (const k of parseKernels(opts.kernel)) process.stdout.write(`${describeRecord(await recordKernel(k, opts.record, others))}\n`);
        return;
      }
      if (opts.list !== undefined) {
        if (!MachineOrOracle.is(opts.list)) throw new Error(`--list must be model, impl, qemu or bochs, got '${opts.list}'`);
        const kernels = parseKernels(opts.kernel);
        if (kernels.length !== 1 || opts.kernel === undefined) throw new Error('--list needs exactly one --kernel');
        if (opts.tests === undefined || opts.reason === undefined) throw new Error('--list needs --tests <regex> and --reason <text>');
        const added = await listDiscrepancies(kernels[0]!, opts.list, new RegExp(opts.tests), opts.reason);
        process.stdout.write(`listed ${added.length} discrepancies:\n${added.map((d) => `  ${d.got}`).join('\n')}\n`);
        return;
      }
      const result = await runSuite({
        kernels: parseKernels(opts.kernel),
        machines: parseMachines(opts.machine),
        oracles: parseOracles(opts.oracle),
        onResult: (c) => process.stdout.write(`${describeComparison(c)}\n`),
      });
      for (const b of result.badEndings) process.stdout.write(`${b.kernel} on ${b.machine}: ended with '${b.ending}'\n`);
      const passed = suitePassed(result);
      process.stdout.write(passed ? 'conformance: all transcripts match\n' : 'conformance: FAILED\n');
      process.exitCode = passed ? 0 : 1;
    });
}
