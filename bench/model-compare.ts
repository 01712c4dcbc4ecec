// The model on the three bench kernels (its sizes), this tree against
// another checkout of the project, alternated in one process: the way to
// show what a change to model/ did on a shared, noisy machine (bench/README.md,
// "The model's speed"). Both trees are run through their own
// bench/guest-run.ts, the code of the bench's `model` row.
//
//   npx tsx bench/model-compare.ts <other checkout> [rounds]
//
// Prints MIPS by CPU time and by wall time (best and median over the rounds,
// and this tree's over the other's) and writes bench/results/model-compare.json
// (temporary file, then rename).
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KERNELS, SIZES, buildKernel } from './kernels';
import { runGuest } from './guest-run';
import { summarize } from './measure';

type Run = typeof runGuest;

function fail(message: string): never {
  process.stderr.write(`model-compare: ${message}\n`);
  process.exit(2);
}

const [otherArg, roundsArg = '5'] = process.argv.slice(2);
if (otherArg === undefined) fail('usage: npx tsx bench/model-compare.ts <other checkout> [rounds]');
const otherRunner = resolve(otherArg, 'bench/guest-run.ts');
if (!existsSync(otherRunner)) fail(`${otherArg}: no bench/guest-run.ts there (a checkout of mesovirt, with node_modules, is needed)`);
const rounds = Number(roundsArg);
if (!Number.isInteger(rounds) || rounds < 1) fail(`rounds: a positive integer, not '${roundsArg}'`);

const other = (await import(pathToFileURL(otherRunner).href)) as { runGuest: Run };
const machines: ReadonlyArray<readonly [string, Run]> = [['other', other.runGuest], ['this', runGuest]];

interface Sample { readonly cpuMs: number; readonly wallMs: number; readonly instructions: number }
const samples: Record<string, Record<string, Sample[]>> = {};
for (let round = 0; round < rounds; round++) {
  for (const kernel of KERNELS) {
    const work = SIZES[kernel.name].full.model;
    const image = buildKernel(kernel, work);
    // Alternate which tree goes first, so that neither always runs warmer.
    const order = round % 2 === 0 ? machines : [...machines].reverse();
    for (const [name, run] of order) {
      const cpu = process.cpuUsage();
      const r = run('model', image);
      const used = process.cpuUsage(cpu);
      if (r.output !== kernel.expected(work)) fail(`${name} tree, ${kernel.name}: printed ${JSON.stringify(r.output)}, not ${JSON.stringify(kernel.expected(work))}`);
      ((samples[kernel.name] ??= {})[name] ??= []).push({ cpuMs: (used.user + used.system) / 1000, wallMs: r.ms, instructions: r.instructions });
    }
  }
}

const mips = (instructions: number, ms: number): number => instructions / ms / 1000;
const results: Record<string, unknown> = {};
for (const [kernel, byTree] of Object.entries(samples)) {
  const figures = Object.fromEntries(Object.entries(byTree).map(([tree, s]) => {
    const cpu = summarize(s.map((x) => x.cpuMs)), wall = summarize(s.map((x) => x.wallMs));
    const n = s[0]!.instructions;
    return [tree, {
      instructions: n,
      cpu: { bestMips: mips(n, cpu.minMs), medianMips: mips(n, cpu.medianMs) },
      wall: { bestMips: mips(n, wall.minMs), medianMips: mips(n, wall.medianMs) },
    }];
  })) as Record<string, { instructions: number; cpu: { bestMips: number; medianMips: number }; wall: { bestMips: number; medianMips: number } }>;
  const t = figures.this!, o = figures.other!;
  results[kernel] = { ...figures, ratio: { cpuBest: t.cpu.bestMips / o.cpu.bestMips, cpuMedian: t.cpu.medianMips / o.cpu.medianMips, wallBest: t.wall.bestMips / o.wall.bestMips, wallMedian: t.wall.medianMips / o.wall.medianMips } };
  const f = (x: number): string => x.toFixed(2);
  console.log(`${kernel.padEnd(8)} MIPS by CPU time: other ${f(o.cpu.bestMips)} / ${f(o.cpu.medianMips)}, this ${f(t.cpu.bestMips)} / ${f(t.cpu.medianMips)} (best / median; x${f(t.cpu.bestMips / o.cpu.bestMips)} / x${f(t.cpu.medianMips / o.cpu.medianMips)});`
    + ` by wall time: other ${f(o.wall.bestMips)} / ${f(o.wall.medianMips)}, this ${f(t.wall.bestMips)} / ${f(t.wall.medianMips)}`);
}

const out = new URL('./results/model-compare.json', import.meta.url);
const json = JSON.stringify({ date: new Date().toISOString(), other: otherArg, rounds, results }, null, 2) + '\n';
writeFileSync(new URL('./results/model-compare.json.tmp', import.meta.url), json);
renameSync(new URL('./results/model-compare.json.tmp', import.meta.url), out);
console.log(`wrote ${out.pathname.replace(process.cwd() + '/', '')}`);
