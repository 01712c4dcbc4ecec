// Throughput of the differential checks (issue 17): compared steps per
// second of a random campaign (properties/diff/campaign.ts) and of model and
// impl in lock step over every guest (properties/diff/guests.ts).
//
//   npm run bench:campaign [-- --steps N] [--seed S] [--runs R] [--jobs-steps M] [--only campaign|guests|jobs] [--against DIR]
//
// - campaign: runCampaign in this process, N steps (default 100,000) from
//   seed S (default: the project's), R timed runs (default 3) after one warm-up run; steps/s best
//   and median, by wall time and by this process's CPU time; the same for
//   the steps inside the cases' drawn streams (DIFF.CASE.3). A failure is
//   reported and written unshrunk, and the run goes on. Case drawing,
//   state building, both machines and the comparison are all inside the
//   figure; start-up is not.
// - guests: every guest of LOCKSTEP_GUESTS in lock step, R runs after a
//   warm-up, the images assembled beforehand; steps/s of all guests together
//   (steps over summed time), best and median, and each guest's own median.
// - jobs: `mesovirt check --steps M --jobs 2` as a child process (default
//   M = 600,000), wall time of the whole command, start-up included, once.
// - --against DIR: another checkout of the project (an older commit, say)
//   measured in this same process, its runs alternating with this tree's,
//   so that both see the same load; the ratio of the medians is printed.
//   (Its lockstepGuest must take the image as third argument, or its guest
//   figure includes assembling.)
//
// Results go to bench/results/campaign-<timestamp>.json (written whole).
// Nothing here is asserted in a test: times on a shared machine are noisy,
// and the figures are only read side by side, from one run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_SEED } from '../properties/seed';
import { DEFAULT_REPLAY_DIR } from '../properties/replay/report';
import { perSecond, summarize } from './measure';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Rate { readonly runs: number; readonly steps: number; readonly bestPerSecond: number; readonly medianPerSecond: number }
interface Figures { readonly wall: Rate; readonly cpu: Rate }

function fail(message: string): never {
  process.stderr.write(`bench:campaign: ${message}\n`);
  process.exit(2);
}

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(n) || n < 1) fail(`${name} needs a positive integer, got '${process.argv[i + 1] ?? ''}'`);
  return n;
}

const steps = argument('--steps', 100_000);
const seedAt = process.argv.indexOf('--seed');
const seed = seedAt < 0 ? DEFAULT_SEED : Number(process.argv[seedAt + 1]);
if (!Number.isSafeInteger(seed)) fail(`--seed needs an integer, got '${process.argv[seedAt + 1] ?? ''}'`);
const runs = argument('--runs', 3);
const jobsSteps = argument('--jobs-steps', 600_000);
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt < 0 ? null : process.argv[onlyAt + 1] ?? '';
if (only !== null && !['campaign', 'guests', 'jobs'].includes(only)) fail(`--only takes campaign, guests or jobs, got '${only}'`);
const againstAt = process.argv.indexOf('--against');
const against = againstAt < 0 ? null : resolve(process.argv[againstAt + 1] ?? '');
if (against !== null && !existsSync(join(against, 'properties', 'diff', 'campaign.ts'))) fail(`--against ${against}: not a checkout of the project (no properties/diff/campaign.ts)`);
const wanted = (part: string): boolean => only === null || only === part;

/** One tree's differential code: this one, or the --against checkout. */
interface Tree {
  readonly name: string;
  readonly campaign: typeof import('../properties/diff/campaign');
  readonly guests: typeof import('../properties/diff/guests');
}

async function loadTree(root: string, name: string): Promise<Tree> {
  const load = (path: string): Promise<unknown> => import(pathToFileURL(join(root, path)).href);
  return {
    name,
    campaign: await load('properties/diff/campaign.ts') as Tree['campaign'],
    guests: await load('properties/diff/guests.ts') as Tree['guests'],
  };
}

/** Rates from runs that each compared `counts[i]` steps in `ms[i]`. */
function rates(counts: readonly number[], ms: readonly number[]): Rate {
  const perRun = counts.map((n, i) => perSecond(n, ms[i]!));
  const t = summarize(perRun.map((r) => -r)); // fastest first
  return { runs: counts.length, steps: counts[0]!, bestPerSecond: Math.round(-t.minMs), medianPerSecond: Math.round(-t.medianMs) };
}

/** Wall time, and the CPU time of this process (all its threads: the
 * collector's too), which a loaded machine disturbs less. */
function timed<T>(work: () => T): { value: T; ms: number; cpuMs: number } {
  const cpu = process.cpuUsage(), start = performance.now();
  const value = work();
  const ms = performance.now() - start, used = process.cpuUsage(cpu);
  return { value, ms, cpuMs: (used.user + used.system) / 1000 };
}

const failuresSeen = new Set<string>();
const say = (line: string): void => { process.stdout.write(`${line}\n`); };

/** `streamSteps`: of the steps, those inside the cases' drawn streams
 * (DIFF.CASE.3); absent for a tree from before that count. */
interface Sample { readonly steps: number; readonly ms: number; readonly cpuMs: number; readonly streamSteps?: number }

const figures = (samples: readonly Sample[]): Figures => ({
  wall: rates(samples.map((s) => s.steps), samples.map((s) => s.ms)),
  cpu: rates(samples.map((s) => s.steps), samples.map((s) => s.cpuMs)),
});

function campaignRun(tree: Tree): Sample {
  // Failures are counted, written unshrunk (shrinking runs many more cases) and reported.
  const t = timed(() => tree.campaign.runCampaign({ steps, seed, shard: { index: 0, count: 1 }, machines: ['model', 'impl'], replayDir: DEFAULT_REPLAY_DIR, maxFailures: 1_000_000, shrink: false }));
  const r = t.value;
  for (const f of r.failures) if (!failuresSeen.has(`${tree.name} ${f.case}`)) { failuresSeen.add(`${tree.name} ${f.case}`); say(`  (${tree.name}: case ${f.case} failed: ${f.summary}; replay ${f.replay})`); }
  return { steps: r.steps, ms: t.ms, cpuMs: t.cpuMs, ...(r.streamSteps === undefined ? {} : { streamSteps: r.streamSteps }) };
}

/** The same runs counted by their steps inside the drawn streams only. */
const streamFigures = (samples: readonly Sample[]): Figures | null =>
  samples.every((x) => x.streamSteps !== undefined) ? figures(samples.map((x) => ({ ...x, steps: x.streamSteps! }))) : null;

/** All guests once; per guest its rate, and the whole. */
function guestsRun(tree: Tree, images: readonly Uint8Array[]): { all: Sample; perGuest: number[] } {
  const perGuest: number[] = [];
  let all = 0, ms = 0, cpuMs = 0;
  tree.guests.LOCKSTEP_GUESTS.forEach((g, i) => {
    const t = timed(() => tree.guests.lockstepGuest(g, ['model', 'impl'], images[i]));
    const r = t.value;
    if (r.divergence !== null || r.memory.length > 0) throw new Error(`${tree.name}: ${g.name}: model and impl differ`);
    perGuest.push(perSecond(r.steps, t.ms));
    all += r.steps; ms += t.ms; cpuMs += t.cpuMs;
  });
  return { all: { steps: all, ms, cpuMs }, perGuest };
}

/** `runs` timed runs of each tree after a warm-up of each, the trees alternating run by run. */
function alternate<T>(trees: readonly Tree[], run: (tree: Tree) => T): T[][] {
  for (const tree of trees) run(tree);
  const out = trees.map(() => [] as T[]);
  for (let i = 0; i < runs; i++) trees.forEach((tree, k) => out[k]!.push(run(tree)));
  return out;
}

function benchJobs(): { steps: number; streamSteps: number | null; seconds: number; perSecond: number; streamPerSecond: number | null } {
  const start = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'mesovirt.js'), 'check', '--steps', String(jobsSteps), '--seed', String(seed), '--jobs', '2', '--no-progress',
    '--replay-dir', DEFAULT_REPLAY_DIR], { encoding: 'utf8' });
  const ms = performance.now() - start;
  if (r.status === 1) fail(`check --jobs 2 at seed ${seed} found failures (shrunk, so no throughput figure); try another --seed:\n${r.stdout}`);
  if (r.status !== 0) throw new Error(`check --jobs 2 exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  const m = /(\d+) compared steps/.exec(r.stdout);
  const compared = m === null ? jobsSteps : Number(m[1]);
  const inside = /(\d+) of them inside the drawn instruction streams/.exec(r.stdout);
  const streamSteps = inside === null ? null : Number(inside[1]);
  return { steps: compared, streamSteps, seconds: ms / 1000, perSecond: Math.round(perSecond(compared, ms)), streamPerSecond: streamSteps === null ? null : Math.round(perSecond(streamSteps, ms)) };
}

const describe = (f: Figures): string => `best ${f.wall.bestPerSecond} steps/s, median ${f.wall.medianPerSecond}; per CPU second best ${f.cpu.bestPerSecond}, median ${f.cpu.medianPerSecond}`;
const ratio = (a: Figures, b: Figures): string => `this/against, medians: ${(a.wall.medianPerSecond / b.wall.medianPerSecond).toFixed(2)}x by wall time, ${(a.cpu.medianPerSecond / b.cpu.medianPerSecond).toFixed(2)}x by CPU time`;

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const loadBefore = load();
const trees = [await loadTree(ROOT, 'this tree'), ...(against === null ? [] : [await loadTree(against, against)])];

let campaign: { tree: string; figures: Figures; inStreams: Figures | null }[] | null = null;
if (wanted('campaign')) {
  const samples = alternate(trees, campaignRun);
  campaign = trees.map((t, k) => ({ tree: t.name, figures: figures(samples[k]!), inStreams: streamFigures(samples[k]!) }));
  for (const c of campaign) {
    say(`campaign (${c.tree}; in process, ${c.figures.wall.steps} steps, ${runs} runs): ${describe(c.figures)}`);
    if (c.inStreams !== null) say(`  of which inside the drawn streams (${c.inStreams.wall.steps} steps): ${describe(c.inStreams)}`);
  }
  if (campaign.length === 2) say(`  campaign ${ratio(campaign[0]!.figures, campaign[1]!.figures)}`);
}

let guests: { tree: string; figures: Figures; guests: { name: string; steps: number; medianPerSecond: number }[] }[] | null = null;
if (wanted('guests')) {
  // Built once: assembling the images is not lock step.
  const images = trees[0]!.guests.LOCKSTEP_GUESTS.map((g) => g.build());
  const samples = alternate(trees, (tree) => guestsRun(tree, images));
  guests = trees.map((t, k) => ({
    tree: t.name,
    figures: figures(samples[k]!.map((s) => s.all)),
    guests: t.guests.LOCKSTEP_GUESTS.map((g, i) => ({
      name: g.name, steps: 0, medianPerSecond: Math.round(-summarize(samples[k]!.map((s) => -s.perGuest[i]!)).medianMs),
    })),
  }));
  for (const g of guests) {
    say(`guests in lock step (${g.tree}; ${g.figures.wall.steps} steps per run, ${runs} runs): ${describe(g.figures)}`);
    for (const x of g.guests) say(`  ${x.name.padEnd(34)} ${String(x.medianPerSecond).padStart(8)} steps/s (median, wall)`);
  }
  if (guests.length === 2) say(`  guests ${ratio(guests[0]!.figures, guests[1]!.figures)}`);
}

const jobs = wanted('jobs') ? benchJobs() : null;
if (jobs !== null) say(`check --steps ${jobsSteps} --jobs 2 (this tree, whole command, start-up included): ${jobs.steps} steps in ${jobs.seconds.toFixed(1)} s, ${jobs.perSecond} steps/s${jobs.streamSteps === null ? '' : `; ${jobs.streamSteps} inside the drawn streams, ${jobs.streamPerSecond} steps/s`}`);
const loadAfter = load();
say(`load average before ${loadBefore}, after ${loadAfter} (${cpus().length} CPUs)`);

const results = {
  format: 'mesovirt-bench-campaign/3', date: new Date().toISOString(), cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length,
  loadBefore, loadAfter, node: process.version, seed, runs, campaign, guests, jobs,
};
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const path = join(dir, `campaign-${results.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(`${path}.tmp`, `${JSON.stringify(results, null, 1)}\n`);
renameSync(`${path}.tmp`, path);
say(`results: ${path}`);
