// `mesovirt cases FILE...`: check CPU case files (../shared/formats/cpu-case.md)
// on a machine, printing each failing case and `N passed, N failed`.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parseCaseFile, type CpuCase } from '../../properties/cases/codec';
import { checkCases, failureLine } from '../../properties/cases/check';
import { MACHINE_KINDS, createCaseMachine, readExclusions, type MachineKind } from '../../properties/cases/machines';

export function register(program: Command): void {
  program
    .command('cases')
    .description('check CPU case files (JSONL) on a machine')
    .argument('<files...>', 'case files (.jsonl)')
    .option('--machine <kind>', 'model or impl', 'model')
    .option('--excluded <file>', 'exclusion list: [{"name", "reason"}]', 'cases/EXCLUDED.json')
    .action(async (files: string[], opts: { machine: string; excluded: string }) => {
      if (!MACHINE_KINDS.includes(opts.machine as MachineKind)) {
        throw new Error(`--machine must be one of ${MACHINE_KINDS.join(', ')}, got '${opts.machine}'`);
      }
      const cases: CpuCase[] = [];
      for (const file of files) {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (e) {
          throw new Error(`${file}: cannot read: ${(e as Error).message}`);
        }
        const parsed = parseCaseFile(text, file);
        if (parsed.kind === 'invalid') throw new Error(parsed.errors.slice(0, 20).join('\n'));
        cases.push(...parsed.cases);
      }
      const exclusions = readExclusions(opts.excluded);
      const machine = await createCaseMachine(opts.machine as MachineKind);
      const summary = checkCases(machine, cases, exclusions);
      for (const v of summary.verdicts) if (v.differences.length > 0) process.stdout.write(failureLine(v) + '\n');
      if (summary.excluded > 0) process.stdout.write(`${summary.excluded} excluded (see ${opts.excluded})\n`);
      process.stdout.write(`${summary.passed} passed, ${summary.failed} failed\n`);
      if (summary.failed > 0) process.exitCode = 1;
    });
}
