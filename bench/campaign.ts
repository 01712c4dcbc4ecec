// Throughput of the differential checks (issue 17): compared steps per
// second of a random campaign (properties/diff/campaign.ts) and of model and
// impl in lock step over every guest (properties/diff/guests.ts).
//
//   npm run bench:campaign [-- --steps N] [--runs R] [--jobs-steps M] [--only campaign|guests|jobs]
//
// - campaign: runCampaign in this process, N steps (default 100,000) from the
//   default seed, R timed runs (default 3) after one warm-up run; steps/s best
//   and median. Case drawing, state building, both machines and the
//   comparison are all inside the figure; start-up is not.
// - jobs: `mesovirt check --steps M --jobs 2` as a child process (default
//   M = 600,000), wall time of the whole command, start-up included, once.
// - guests: every guest of LOCKSTEP_GUESTS in lock step, R runs after a
//   warm-up, the images assembled beforehand; steps/s of all guests together
//   (steps over summed time), best and median, and each guest's own median.
//
// Results go to bench/results/campaign-<timestamp>.json (written whole).
// Nothing here is asserted in a test: times on a shared machine are noisy,
// and the figures are only read side by side, from one run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCampaign } from '../properties/diff/campaign';
import { LOCKSTEP_GUESTS, lockstepGuest } from '../properties/diff/guests';
import { DEFAULT_SEED } from '../properties/seed';
import { DEFAULT_REPLAY_DIR } from '../properties/replay/report';
import { perSecond, summarize } from './measure';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Rate { readonly runs: number; readonly steps: number; readonly bestPerSecond: number; readonly medianPerSecond: number }

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(n) || n < 1) {
    process.stderr.write(`bench:campaign: ${name} needs a positive integer, got '${process.argv[i + 1] ?? ''}'\n`);
    process.exit(2);
  }
  return n;
}

const steps = argument('--steps', 100_000);
const runs = argument('--runs', 3);
const jobsSteps = argument('--jobs-steps', 600_000);
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt < 0 ? null : process.argv[onlyAt + 1] ?? '';
if (only !== null && !['campaign', 'guests', 'jobs'].includes(only)) {
  process.stderr.write(`bench:campaign: --only takes campaign, guests or jobs, got '${only}'\n`);
  process.exit(2);
}
const wanted = (part: string): boolean => only === null || only === part;

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

function benchCampaign(): Rate & { readonly cpu: Rate } {
  const once = (): { steps: number; ms: number; cpuMs: number } => {
    const t = timed(() => runCampaign({ steps, seed: DEFAULT_SEED, shard: { index: 0, count: 1 }, machines: ['model', 'impl'], replayDir: DEFAULT_REPLAY_DIR, maxFailures: 1 }));
    const r = t.value;
    if (r.failures.length > 0) throw new Error(`campaign failed: ${r.failures[0]!.summary} (replay ${r.failures[0]!.replay})`);
    return { steps: r.steps, ms: t.ms, cpuMs: t.cpuMs };
  };
  once();
  const samples = Array.from({ length: runs }, once);
  return { ...rates(samples.map((s) => s.steps), samples.map((s) => s.ms)), cpu: rates(samples.map((s) => s.steps), samples.map((s) => s.cpuMs)) };
}

function benchJobs(): { steps: number; seconds: number; perSecond: number } {
  const start = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'mesovirt.js'), 'check', '--steps', String(jobsSteps), '--jobs', '2', '--no-progress',
    '--replay-dir', DEFAULT_REPLAY_DIR], { encoding: 'utf8' });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`check --jobs 2 exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  const m = /(\d+) compared steps/.exec(r.stdout);
  const compared = m === null ? jobsSteps : Number(m[1]);
  return { steps: compared, seconds: ms / 1000, perSecond: Math.round(perSecond(compared, ms)) };
}

function benchGuests(): { all: Rate; guests: { name: string; steps: number; medianPerSecond: number }[] } {
  // Built once: assembling the images is not lock step.
  const images = LOCKSTEP_GUESTS.map((g) => g.build());
  const perGuest = LOCKSTEP_GUESTS.map(() => [] as number[]);
  const counts = LOCKSTEP_GUESTS.map(() => 0);
  const totals: number[] = [], totalMs: number[] = [];
  for (let run = 0; run <= runs; run++) {
    let all = 0, allMs = 0;
    LOCKSTEP_GUESTS.forEach((g, i) => {
      const start = performance.now();
      const r = lockstepGuest(g, ['model', 'impl'], images[i]);
      const ms = performance.now() - start;
      if (r.divergence !== null || r.memory.length > 0) throw new Error(`${g.name}: model and impl differ`);
      if (run === 0) return; // warm-up
      perGuest[i]!.push(perSecond(r.steps, ms));
      counts[i] = r.steps;
      all += r.steps; allMs += ms;
    });
    if (run > 0) { totals.push(all); totalMs.push(allMs); }
  }
  return {
    all: rates(totals, totalMs),
    guests: LOCKSTEP_GUESTS.map((g, i) => ({ name: g.name, steps: counts[i]!, medianPerSecond: Math.round(-summarize(perGuest[i]!.map((r) => -r)).medianMs) })),
  };
}

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const loadBefore = load();
const campaign = wanted('campaign') ? benchCampaign() : null;
if (campaign !== null) process.stdout.write(`campaign (in process, ${campaign.steps} steps, ${campaign.runs} runs): best ${campaign.bestPerSecond} steps/s, median ${campaign.medianPerSecond}; per CPU second: best ${campaign.cpu.bestPerSecond}, median ${campaign.cpu.medianPerSecond}\n`);
const guests = wanted('guests') ? benchGuests() : null;
if (guests !== null) {
  process.stdout.write(`guests in lock step (${guests.all.steps} steps per run, ${guests.all.runs} runs): best ${guests.all.bestPerSecond} steps/s, median ${guests.all.medianPerSecond}\n`);
  for (const g of guests.guests) process.stdout.write(`  ${g.name.padEnd(34)} ${String(g.steps).padStart(9)} steps  ${String(g.medianPerSecond).padStart(8)} steps/s (median)\n`);
}
const jobs = wanted('jobs') ? benchJobs() : null;
if (jobs !== null) process.stdout.write(`check --steps ${jobsSteps} --jobs 2 (whole command, start-up included): ${jobs.steps} steps in ${jobs.seconds.toFixed(1)} s, ${jobs.perSecond} steps/s\n`);
const loadAfter = load();
process.stdout.write(`load average before ${loadBefore}, after ${loadAfter} (${cpus().length} CPUs)\n`);

const results = {
  format: 'mesovirt-bench-campaign/1', date: new Date().toISOString(), cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length,
  loadBefore, loadAfter, node: process.version, campaign, guests, jobs,
};
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const path = join(dir, `campaign-${results.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(`${path}.tmp`, `${JSON.stringify(results, null, 1)}\n`);
renameSync(`${path}.tmp`, path);
process.stdout.write(`results: ${path}\n`);
