// `mesovirt check`: a long differential campaign (random DIFF cases until a
// step budget is compared), one shard of it with --shard I/N, results as
// JSON with --json, and `check --merge a.json b.json …` to add shards up.
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { readFileSync } from 'node:fs';
import { DEFAULT_SEED } from '../../properties/seed';
import { mergeResults, runCampaign, type CampaignResult, type Coverage, type Shard } from '../../properties/diff/campaign';
import type { MachinePair } from '../../properties/diff/scenario';
import { parseCampaignResult } from '../../properties/replay/format';
import { DEFAULT_REPLAY_DIR, writeFileAtomic } from '../../properties/replay/report';
import { runJobs, sendToParent } from './check-jobs';

function parseInteger(text: string, option: string, min: number): number {
  const cleaned = text.replace(/_/g, '');
  const n = /^0x[0-9a-f]+$/i.test(cleaned) ? parseInt(cleaned, 16) : /^-?\d+$/.test(cleaned) ? Number(cleaned) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${option} must be an integer ≥ ${min}, got '${text}'`);
  return n;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (m === null) throw new Error(`--shard must be I/N (e.g. 0/4), got '${text}'`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index >= count) throw new Error(`--shard ${text}: need 0 ≤ I < N`);
  return { index, count };
}

export function parsePair(text: string): MachinePair {
  const m = /^(model|impl):(model|impl)$/.exec(text);
  if (m === null) throw new Error(`--machine-pair must be A:B with A and B each model or impl, got '${text}'`);
  return [m[1] as 'model' | 'impl', m[2] as 'model' | 'impl'];
}

const percent = (n: number, of: number): string => `${((100 * n) / Math.max(of, 1)).toFixed(n / Math.max(of, 1) < 0.01 ? 2 : 1)}%`;
const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  0: '#DE', 1: '#DB', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF', 10: '#TS', 11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF', 17: '#AC',
};

/** What a campaign compared, in four lines. */
export function describeCoverage(c: Coverage, steps: number, cases: number): string[] {
  const byCount = (t: Readonly<Record<string, number>>): [string, number][] => Object.entries(t).sort((a, b) => b[1] - a[1]);
  const eventName = (key: string): string => {
    const m = /^exception (\d+)$/.exec(key);
    return m === null ? key : EXCEPTION_NAMES[Number(m[1])] ?? `vector ${m[1]}`;
  };
  const drawn = byCount(c.mnemonics);
  const total = drawn.reduce((a, [, n]) => a + n, 0);
  return [
    // Rare events by count: a percentage would round them to 0.00%.
    `  steps by event: ${byCount(c.events).map(([k, n]) => `${eventName(k)} ${n / Math.max(steps, 1) < 0.0001 ? `×${n}` : percent(n, steps)}`).join(', ')}`,
    `  cases: ${['cpl 0', 'cpl 1', 'cpl 3', 'paging on'].map((k) => `${k} ${percent(c.cases[k] ?? 0, cases)}`).join(', ')}`,
    `  instructions drawn: ${total}, ${drawn.length} mnemonics; fewest: ${drawn.slice(-5).reverse().map(([k, n]) => `${k} ×${n}`).join(', ')}`,
  ];
}

export function describeResult(r: CampaignResult): string {
  const shardText = r.shards.length === r.shardCount ? (r.shardCount === 1 ? 'whole campaign' : `all ${r.shardCount} shards`) : `shard${r.shards.length > 1 ? 's' : ''} ${r.shards.join(',')} of ${r.shardCount}`;
  return [
    `check: ${r.machines.join(' vs ')}, seed ${r.seed}, ${shardText}`,
    `  ${r.steps} compared steps in ${r.cases} cases (budget ${r.stepBudget})`,
    ...(r.streamSteps === undefined ? [] : [`  ${r.streamSteps} of them inside the drawn instruction streams (${percent(r.streamSteps, r.steps)}; the rest outside them: handlers, jump and far-transfer targets)`]),
    ...(r.coverage === undefined ? [] : describeCoverage(r.coverage, r.steps, r.cases)),
    `  known discrepancies: ${Object.keys(r.known).length === 0 ? 'none' : Object.entries(r.known).map(([id, n]) => `${id} ×${n}`).join(', ')}`,
    `  failures: ${r.failures.length === 0 ? 'none' : ''}`,
    ...r.failures.map((f) => `    case ${f.case}: ${f.summary}\n      replay: ${f.replay}`),
  ].join('\n');
}

function writeJson(path: string, r: CampaignResult): void {
  writeFileAtomic(path, `${JSON.stringify(r, null, 1)}\n`);
}

export function register(program: Command): void {
  program
    .command('check')
    .description('differential campaign: random DIFF cases on two machines in lock step until N steps are compared')
    .option('--steps <n>', 'compared steps to reach (this shard\'s share is N / shards)', '1000000')
    .option('--seed <s>', 'campaign seed', String(DEFAULT_SEED))
    .option('--shard <I/N>', 'run only cases k with k mod N = I', '0/1')
    .option('--json <out>', 'write the result (steps, cases, seed, failures, known hits) as JSON')
    .option('--machine-pair <a:b>', 'the reference machine and the one checked against it', 'model:impl')
    .option('--replay-dir <dir>', 'where replay files of failures go', DEFAULT_REPLAY_DIR)
    .option('--max-failures <n>', 'stop after this many failures', '5')
    .option('--max-seconds <s>', 'stop drawing cases after this long even if the budget is not reached')
    .option('--jobs <j>', 'run the campaign as J shards in J processes at once (one per core), merged at the end', '1')
    .option('--merge <files...>', 'add up the --json results of several shards (no campaign is run)')
    .option('--no-progress', 'no progress bar')
    .addOption(new Option('--report-to-parent', 'progress and failures go to the parent process (used by --jobs)').hideHelp())
    .action(async (opts: { steps: string; seed: string; shard: string; json?: string; machinePair: string; replayDir: string; maxFailures: string; maxSeconds?: string; jobs: string; merge?: string[]; progress: boolean; reportToParent?: boolean }) => {
      if (opts.merge !== undefined) {
        const merged = mergeResults(opts.merge.map((f) => {
          let text: string;
          try { text = readFileSync(f, 'utf8'); } catch { throw new Error(`${f}: cannot read the result file`); }
          return parseCampaignResult(text, f);
        }));
        if (opts.json !== undefined) writeJson(opts.json, merged);
        process.stdout.write(`${describeResult(merged)}\n`);
        if (merged.shards.length !== merged.shardCount) process.stdout.write(`  note: shards ${[...Array(merged.shardCount).keys()].filter((s) => !merged.shards.includes(s)).join(',')} missing\n`);
        process.exitCode = merged.failures.length > 0 ? 1 : 0;
        return;
      }
      const steps = parseInteger(opts.steps, '--steps', 1);
      const seed = parseInteger(opts.seed, '--seed', -0x80000000) | 0;
      const shard = parseShard(opts.shard);
      const machines = parsePair(opts.machinePair);
      const jobs = parseInteger(opts.jobs, '--jobs', 1);
      if (jobs > 1 && shard.count > 1) throw new Error('--jobs splits a whole campaign into shards itself; give either --jobs or --shard, not both');
      const maxFailures = parseInteger(opts.maxFailures, '--max-failures', 1);
      const maxSeconds = opts.maxSeconds === undefined ? undefined : parseInteger(opts.maxSeconds, '--max-seconds', 1);
      const share = jobs > 1 ? steps : Math.ceil(steps / shard.count);
      // On a terminal, a progress bar. Elsewhere (a log file, CI) a plain line
      // every 30 s, written from the campaign's own progress calls: the
      // campaign runs synchronously, so cli-progress's timer would never fire.
      const bar = opts.progress && process.stderr.isTTY
        ? new cliProgress.SingleBar({ format: 'check [{bar}] {percentage}% | {value}/{total} steps | {cases} cases | {failures} failures | {rate} steps/s | ETA {eta_formatted}', stream: process.stderr }, cliProgress.Presets.shades_classic)
        : null;
      const start = performance.now();
      let done = 0;
      let lastLine = start;
      const logLine = opts.progress && !process.stderr.isTTY
        ? (): void => {
          if (performance.now() - lastLine < 30_000) return;
          lastLine = performance.now();
          process.stderr.write(`check: ${done}/${share} steps (${Math.floor((100 * done) / share)}%), ${payload.cases} cases, ${payload.failures} failures, ${payload.rate} steps/s\n`);
        }
        : (): void => {};
      let payload = { cases: 0, failures: 0, rate: 0 };
      bar?.start(share, 0, { cases: 0, failures: 0, rate: 0 });
      const onProgress = (s: number, cases: number, failures: number): void => {
        if (opts.reportToParent === true) sendToParent({ kind: 'progress', steps: s, cases, failures });
        done = Math.min(s, share);
        payload = { cases, failures, rate: Math.round(s / ((performance.now() - start) / 1000)) };
        bar?.update(done, payload);
        logLine();
      };
      const onFailure = (report: string): void => {
        if (opts.reportToParent === true) { sendToParent({ kind: 'failure', report }); return; }
        bar?.stop(); process.stdout.write(`${report}\n`); bar?.start(share, done, payload);
      };
      const result = jobs > 1
        ? await runJobs({ jobs, steps, seed, machines, replayDir: opts.replayDir, maxFailures, maxSeconds, onProgress, onFailure })
        : runCampaign({
          steps, seed, shard, machines, replayDir: opts.replayDir, maxFailures,
          deadline: maxSeconds === undefined ? undefined : Date.now() + 1000 * maxSeconds,
          onProgress, onFailure,
        });
      bar?.stop();
      const seconds = (performance.now() - start) / 1000;
      if (opts.json !== undefined) writeJson(opts.json, result);
      const inStream = result.streamSteps === undefined ? '' : `, ${Math.round(result.streamSteps / seconds)} of them in drawn streams`;
      process.stdout.write(`${describeResult(result)}\n  ${seconds.toFixed(1)} s, ${Math.round(result.steps / seconds)} compared steps/s${inStream}\n`);
      process.exitCode = result.failures.length > 0 ? 1 : 0;
    });
}
