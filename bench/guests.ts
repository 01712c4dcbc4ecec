// `mesovirt bench guests`: every microbenchmark in every configuration
// (native, meso under each memory mode, para), counted, costed and checked.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { costOf, COST, MONITOR_WORK } from './guests-cost';
import { patchAgainstNative } from './guests-patch';
import { CONFIGURATIONS, configurationName, MICROBENCHMARKS, runMicrobenchmark, TEACH, type Microbenchmark } from './guests-run';
import { guestChartSvg, type GuestResults, type GuestRow } from './guests-report';

export const RESULTS_DIR = join(import.meta.dirname, 'guests-results');

export function runGuestBench(only: readonly Microbenchmark[] = MICROBENCHMARKS, progress?: (task: string) => void, machine: 'model' | 'impl' = 'impl'): GuestResults {
  const t = performance.now();
  const rows: GuestRow[] = [];
  for (const bench of only) {
    let nativeReport: { iterations: number; checksum: number } | null = null;
    for (const c of CONFIGURATIONS) {
      progress?.(`${bench} ${configurationName(c)}`);
      const r = runMicrobenchmark(bench, c, machine);
      if (c.kind === 'native') nativeReport = r.report;
      const { console: _console, ...counts } = r;
      const correct = r.report !== null && nativeReport !== null && r.report.checksum === nativeReport.checksum && r.report.iterations === nativeReport.iterations && r.end === 'exit 1';
      rows.push({ bench, configuration: configurationName(c), counts, cost: costOf(r), correct });
    }
  }
  const main = join(TEACH, 'teach.asm');
  return {
    date: new Date().toISOString(),
    machine,
    rows,
    patch: { meso: patchAgainstNative(main, ['MESO']), para: patchAgainstNative(main, ['PARA']) },
    costModel: { figures: COST, monitorWork: MONITOR_WORK },
    totalWallMs: performance.now() - t,
  };
}

/** Write latest.json and latest.svg (each through a temporary file and a rename). */
export function saveGuestResults(r: GuestResults, dir = RESULTS_DIR): { json: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    return path;
  };
  return { json: write('latest.json', `${JSON.stringify(r, null, 2)}\n`), svg: write('latest.svg', guestChartSvg(r)) };
}
