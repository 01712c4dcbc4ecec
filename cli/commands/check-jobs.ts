// `mesovirt check --jobs J`: one campaign run as J shards in J child
// processes (one per core), merged when all are done. Each child is the same
// command with `--shard j/J --json <temp>`; it reports its progress and its
// failures to the parent over the IPC channel, so the parent can keep one
// progress bar for the whole campaign and print each failure once.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeResults, type CampaignResult } from '../../properties/diff/campaign';
import type { MachinePair } from '../../properties/diff/scenario';
import { parseCampaignResult } from '../../properties/replay/format';

export interface JobsOptions {
  readonly jobs: number;
  readonly steps: number;
  readonly seed: number;
  readonly machines: MachinePair;
  readonly replayDir: string;
  readonly maxFailures: number;
  readonly maxSeconds?: number;
  readonly onProgress: (steps: number, cases: number, failures: number) => void;
  readonly onFailure: (report: string) => void;
}

/** What a child sends its parent. */
export type ChildMessage =
  | { readonly kind: 'progress'; readonly steps: number; readonly cases: number; readonly failures: number }
  | { readonly kind: 'failure'; readonly report: string };

const BIN = resolve(fileURLToPath(new URL('../../bin/mesovirt.js', import.meta.url)));

function childArguments(o: JobsOptions, shard: number, json: string): string[] {
  return [
    'check', '--steps', String(o.steps), '--seed', String(o.seed), '--shard', `${shard}/${o.jobs}`,
    '--machine-pair', o.machines.join(':'), '--replay-dir', o.replayDir, '--max-failures', String(o.maxFailures),
    ...(o.maxSeconds === undefined ? [] : ['--max-seconds', String(o.maxSeconds)]),
    '--json', json, '--no-progress', '--report-to-parent',
  ];
}

/** Run the J shards at once and merge their results. */
export async function runJobs(o: JobsOptions): Promise<CampaignResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-check-'));
  const progress = Array.from({ length: o.jobs }, () => ({ steps: 0, cases: 0, failures: 0 }));
  const report = (): void => o.onProgress(
    progress.reduce((a, p) => a + p.steps, 0), progress.reduce((a, p) => a + p.cases, 0), progress.reduce((a, p) => a + p.failures, 0));
  const children: ChildProcess[] = [];
  // Ctrl-C (or a kill) of the parent stops the shards too.
  const stopChildren = (): void => { for (const c of children) if (c.exitCode === null) c.kill(); };
  process.once('SIGINT', stopChildren).once('SIGTERM', stopChildren);
  try {
    const results = await Promise.all(progress.map((_, shard) => new Promise<CampaignResult>((done, fail) => {
      const json = join(dir, `shard-${shard}.json`);
      const child = fork(BIN, childArguments(o, shard, json), { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      children.push(child);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      child.on('message', (m: ChildMessage) => {
        if (m.kind === 'progress') { progress[shard] = m; report(); } else o.onFailure(m.report);
      });
      child.on('error', fail);
      child.on('exit', (code, signal) => {
        // A child exits 1 when it found failures; anything else without a result is a crash.
        let text: string | null = null;
        try { text = readFileSync(json, 'utf8'); } catch { /* no result written */ }
        if (text !== null && (code === 0 || code === 1)) done(parseCampaignResult(text, json));
        else fail(new Error(`check --jobs: shard ${shard}/${o.jobs} stopped (${signal ?? `exit code ${code}`}) without a result${stderr.trim() === '' ? '' : `:\n${stderr.trim()}`}`));
      });
    })));
    return mergeResults(results);
  } finally {
    // One shard failing ends the campaign: the others are stopped, not orphaned.
    stopChildren();
    process.off('SIGINT', stopChildren).off('SIGTERM', stopChildren);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** In a child: pass progress and failures up to the parent. */
export function sendToParent(m: ChildMessage): void {
  process.send?.(m);
}
