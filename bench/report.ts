// Printing and saving benchmark results: a plain-text table for people and
// bench/results/<timestamp>.json plus latest.json for tools, each written
// whole (to a temporary file, then renamed).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResults, Figure } from './suite';

export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const mips = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3));
const times = (x: number | null): string => (x === null ? '-' : x >= 1 ? `${x.toFixed(2)}x` : `1/${(1 / x).toFixed(1)}`);

function row(machine: string, f: Figure): string[] {
  if (f.status === 'missing') return [machine, '-', '-', '-', '-', `missing: ${f.reason}`];
  if (f.status === 'wrong') return [machine, '-', '-', '-', '-', `WRONG: printed ${JSON.stringify(f.got)}${f.ending ? ` (${f.ending})` : ''}, expected ${JSON.stringify(f.expected)}`];
  const note = f.ownInstructionCount !== undefined ? `its own count ${f.ownInstructionCount}` : '';
  return [machine, String(f.work), String(f.instructions), `${ms(f.timing.minMs)} / ${ms(f.timing.medianMs)}`, `${mips(f.mips.best)} / ${mips(f.mips.median)}`, note];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

export function formatResults(r: BenchResults): string {
  const lines: string[] = [];
  lines.push(`mesovirt bench ${r.quick ? '--quick ' : ''}${r.long === true ? '--long ' : ''}(${r.runs} run${r.runs === 1 ? '' : 's'} each; ${r.timestamp}; node ${r.host.node}, ${r.host.cpus} CPUs)`);
  const header = ['machine', 'work', 'instructions', 'ms min / median', 'MIPS best / median', 'note'];
  for (const k of r.kernels) {
    lines.push('', `${k.name}: ${k.describe}`);
    const qemuNote = (k.qemu.status === 'ok' && k.qemu.startupMs !== undefined) ? `from the first console byte (start-up, ${ms(k.qemu.startupMs)} ms, not counted)` : '';
    const rows = [header, row('model', k.model), row('impl', k.impl), row('v86 cold', k.v86), row('v86 warm', k.v86Warm), row('qemu', k.qemu), row('qemu -icount', k.qemuIcount)];
    if (qemuNote !== '' && rows[5]![5] === '') rows[5]![5] = qemuNote.trim();
    if (k.model.status === 'ok' && k.modelWarmUp !== undefined) {
      const w = k.modelWarmUp;
      rows[1]![5] = `${k.model.timing.runs} timed runs after ${w.runs} untimed run${w.runs === 1 ? '' : 's'} of ${ms(w.ms)} ms (the first, cold: ${ms(w.firstRunMs)} ms)`;
    }
    if (k.impl.status === 'ok' && k.implFirstRunMs !== undefined) rows[2]![5] = `after a first run of ${ms(k.implFirstRunMs)} ms (not counted)`;
    lines.push(table(rows));
    lines.push(`impl/v86 warm ${times(k.ratios.implOverV86Warm)}   impl/v86 cold ${times(k.ratios.implOverV86)}   impl/QEMU ${times(k.ratios.implOverQemu)}   (speed of impl relative to the other on the same image; above 1x impl is faster)`);
  }
  lines.push('', 'v86 cold: a fresh emulator\'s first run of the image; v86 warm: a second run of the same image on that instance (its JIT and V8 warm).');
  lines.push('impl: fresh machines, after one untimed run of the image in this process (its blocks compiled, V8 warm).');
  lines.push('model: fresh machines, after three or more untimed runs of the image, for a second or more (V8 warm); the first run\'s time is the cold figure; nine timed runs or more (its runs are short).');
  lines.push('');
  lines.push(r.decoder.status === 'ok'
    ? `decoder: ${(r.decoder.instructionsPerSecond.median / 1e6).toFixed(2)} M instructions/s median (${(r.decoder.instructionsPerSecond.min / 1e6).toFixed(2)} slowest run), ${r.decoder.instructions} instructions per pass`
    : `decoder: missing: ${r.decoder.reason}`);
  const d = r.differential;
  lines.push(d.status === 'ok'
    ? `differential (model and impl in lock-step, ${d.guest}): ${d.steps} steps compared, ${Math.round(d.stepsPerSecond)} steps/s`
    : d.status === 'missing' ? `differential: missing: ${d.reason}` : `differential: DIVERGED at step ${d.step}: ${d.differences.join('; ')}`);
  return lines.join('\n');
}

/** Does any figure show a wrong answer (or a divergence)? */
export function anyWrong(r: BenchResults): boolean {
  return r.differential.status === 'diverged'
    || r.kernels.some((k) => [k.model, k.impl, k.v86, k.v86Warm, k.qemu, k.qemuIcount].some((f) => f.status === 'wrong'));
}

function writeWhole(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

/** Writes results/<timestamp>.json and results/latest.json; returns the first path. */
export function saveResults(r: BenchResults, dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(r, null, 2)}\n`;
  const path = join(dir, `${r.timestamp.replace(/[:.]/g, '-')}.json`);
  writeWhole(path, text);
  writeWhole(join(dir, 'latest.json'), text);
  return path;
}
