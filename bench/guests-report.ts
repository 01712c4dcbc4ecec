// The results of `mesovirt bench guests`: a table for the terminal, a JSON
// record, and an SVG bar chart (one group of bars per microbenchmark, one
// bar per configuration, the height the estimated cycles).
import { COST, MONITOR_WORK, type Cost } from './guests-cost';
import type { BuildPatch } from './guests-patch';
import type { RunCounts } from './guests-run';

export interface GuestRow {
  readonly bench: string;
  readonly configuration: string;
  readonly counts: Omit<RunCounts, 'console'>;
  readonly cost: Cost;
  /** The checksum agrees with the native run's and the iterations are all done. */
  readonly correct: boolean;
}

export interface GuestResults {
  readonly date: string;
  /** The processor under the monitor (and of the native runs); the counts are the same on both (test/bench-guests.test.ts). */
  readonly machine: 'model' | 'impl';
  readonly rows: readonly GuestRow[];
  readonly patch: { readonly meso: BuildPatch; readonly para: BuildPatch };
  readonly costModel: { readonly figures: typeof COST; readonly monitorWork: typeof MONITOR_WORK };
  readonly totalWallMs: number;
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** "page fault 195, emulate sti 58, …" sorted by count. */
export const exitSummary = (exits: Readonly<Record<string, number>>): string =>
  Object.entries(exits).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${v}`).join(', ') || '-';

export function formatGuestTable(r: GuestResults): string {
  const head = `${pad('bench', 6)} ${pad('configuration', 19)} ${lpad('guest instr', 11)} ${lpad('direct', 6)} ${lpad('exits', 6)} ${lpad('monitor instr', 13)} ${lpad('cycles', 8)} ${lpad('x native', 8)} ${lpad('wall ms', 8)} ok  exits by reason`;
  const lines = [head, '-'.repeat(head.length + 20)];
  for (const row of r.rows) {
    const native = r.rows.find((x) => x.bench === row.bench && x.configuration === 'native');
    const exits = Object.values(row.counts.exits).reduce((a, b) => a + b, 0);
    const ratio = native === undefined ? '' : (row.cost.cycles / native.cost.cycles).toFixed(2);
    lines.push(`${pad(row.bench, 6)} ${pad(row.configuration, 19)} ${lpad(String(row.counts.guestInstructions), 11)} ${lpad(String(row.counts.directEvents), 6)} ${lpad(String(exits), 6)} ${lpad(String(row.cost.monitorInstructions), 13)} ${lpad(String(row.cost.cycles), 8)} ${lpad(ratio, 8)} ${lpad(row.counts.wallMs.toFixed(0), 8)} ${row.correct ? 'yes' : 'NO '} ${exitSummary(row.counts.exits)}`);
  }
  lines.push('');
  lines.push(`patch against native (code lines): meso ${r.patch.meso.lines} (+${r.patch.meso.added} -${r.patch.meso.removed}), para ${r.patch.para.lines} (+${r.patch.para.added} -${r.patch.para.removed})`);
  lines.push(`machine: ${r.machine === 'impl' ? 'impl (the monitor of model/vmm over impl, properties/vmm/impl-host.ts)' : 'the model'}; total wall time ${(r.totalWallMs / 1000).toFixed(1)} s`);
  return lines.join('\n');
}

const COLOURS = ['#4c72b0', '#dd8452', '#55a868', '#c44e52', '#8172b3', '#937860'];
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One bar group per microbenchmark; bars are cycles relative to native (native = 1). */
export function guestChartSvg(r: GuestResults): string {
  const benches = [...new Set(r.rows.map((x) => x.bench))];
  const configs = [...new Set(r.rows.map((x) => x.configuration))];
  const ratio = (bench: string, config: string): number => {
    const row = r.rows.find((x) => x.bench === bench && x.configuration === config);
    const native = r.rows.find((x) => x.bench === bench && x.configuration === 'native');
    return row === undefined || native === undefined ? 0 : row.cost.cycles / native.cost.cycles;
  };
  const max = Math.max(1, ...benches.flatMap((b) => configs.map((c) => ratio(b, c))));
  const barW = 14, gap = 24, left = 50, top = 30, plotH = 260;
  const groupW = configs.length * barW + gap;
  const width = left + benches.length * groupW + 20, height = top + plotH + 90;
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>Estimated cycles relative to native, per microbenchmark and configuration</title>`,
    `<text x="${left}" y="16" font-size="13">estimated cycles / native (cost model in bench/GUESTS.md)</text>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${width - 10}" y2="${top + plotH}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="black"/>`,
  ];
  for (let t = 0; t <= Math.ceil(max); t += Math.max(1, Math.ceil(max / 8))) {
    parts.push(`<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  benches.forEach((b, i) => {
    const gx = left + 10 + i * groupW;
    configs.forEach((c, j) => {
      const v = ratio(b, c);
      parts.push(`<rect x="${gx + j * barW}" y="${y(v).toFixed(1)}" width="${barW - 2}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${COLOURS[j % COLOURS.length]}" data-bench="${escape(b)}" data-configuration="${escape(c)}" data-ratio="${v.toFixed(3)}"><title>${escape(`${b} ${c}: ${v.toFixed(2)}x native`)}</title></rect>`);
    });
    parts.push(`<text x="${gx + (configs.length * barW) / 2}" y="${top + plotH + 16}" text-anchor="middle">${escape(b)}</text>`);
  });
  configs.forEach((c, j) => {
    const lx = left + (j % 3) * 160, ly = top + plotH + 36 + Math.floor(j / 3) * 18;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLOURS[j % COLOURS.length]}"/><text x="${lx + 16}" y="${ly}">${escape(c)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
