// `mesovirt gencases`: generate CPU case files by running instruction
// sequences on the host CPU (properties/oracles/hostcpu).
import type { Command } from 'commander';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodeCase, type CpuCase } from '../../properties/cases/codec';
import { FAMILIES, generateCases } from '../../properties/oracles/hostcpu/generate';

function parseInteger(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${what} must be a non-negative integer, got '${text}'`);
  return n;
}

/** Write a file whole or not at all: a temp file in the same folder, renamed. */
function writeWhole(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

const lines = (cases: readonly CpuCase[]): string => cases.map((c) => encodeCase(c) + '\n').join('');

export function register(program: Command): void {
  program
    .command('gencases')
    .description('generate CPU case files (JSONL) by running instruction sequences on the host CPU')
    .requiredOption('-o, --out <path>', 'a .jsonl file for all cases, or a folder for one file per family')
    .option('--seed <n>', 'random seed (the same seed gives the same cases)', '1')
    .option('--count <n>', 'cases drawn per family', '100')
    .option('--families <list>', `comma-separated families (default all: ${FAMILIES.map((f) => f.name).join(',')})`)
    .action((opts: { out: string; seed: string; count: string; families?: string }) => {
      const seed = parseInteger(opts.seed, '--seed');
      const count = parseInteger(opts.count, '--count');
      const families = opts.families?.split(',').map((s) => s.trim()).filter((s) => s !== '');
      const { cases, dropped } = generateCases({ seed, countPerFamily: count, families });
      if (opts.out.endsWith('.jsonl')) {
        writeWhole(opts.out, lines(cases));
      } else {
        const byFamily = new Map<string, CpuCase[]>();
        for (const c of cases) {
          const family = c.name.slice(0, c.name.indexOf('/'));
          byFamily.set(family, [...(byFamily.get(family) ?? []), c]);
        }
        for (const [family, list] of byFamily) writeWhole(join(opts.out, `${family}.jsonl`), lines(list));
      }
      for (const d of dropped) process.stderr.write(`dropped ${d.name}: ${d.reason}\n`);
      process.stdout.write(`seed ${seed}: wrote ${cases.length} cases to ${opts.out} (${dropped.length} dropped)\n`);
    });
}
