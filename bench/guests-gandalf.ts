// `mesovirt bench guests`, measured: the six microbenchmarks run natively
// on the bare impl and, meso, under gandalf (the monitor as IA-32 code,
// gandalf/) in each of its memory modes, on impl; and the same images on
// QEMU (TCG, wall time; and with -icount shift=0). Every figure here is
// counted or timed, none estimated: instructions the guest retired and
// instructions gandalf retired (from the event that enters it to its IRET
// back), in the window bench/guests-run.ts counts (from the end of the
// kernel's boot message to the first byte of its report).
//
// Every build here has the PIT divisor 65535 (GANDALF.TIME.1: with the
// kernel's usual 1193 a context switch under gandalf outlasts a tick on our
// machines, which tick once per instruction), native included, so that the
// rows compare the same kernel. The para builds (-DPARA of the kernel) run
// under gandalf built with -DPARA (gandalf/para.inc), single-shadow and direct.
import type { StepEvent } from '../model/machine';
import { ImplMachine } from '../impl/machine';
import type { MemoryModeName } from '../model/vmm/memory/types';
import { MEMORY_MODES } from '../model/vmm/memory/types';
import { bootGandalf, buildGandalf, modeDefines } from '../properties/gandalf/build';
import { readGandalfVcpu } from '../properties/gandalf/vcpu';
import { bootImage, createMachine } from '../properties/machines';
import { buildTeach, MICROBENCHMARKS, parseReport, type Microbenchmark } from './guests-run';
import { runOnQemu, qemuInstalled } from './qemu';
import { PARA_MEMORY_MODES, type ParaMemoryMode } from '../model/vmm/para/boot';

export const GANDALF_PIT_DIVISOR = '65535';
export type GandalfConfiguration = 'native' | `meso/${MemoryModeName}` | `para/${ParaMemoryMode}`;
export const GANDALF_CONFIGURATIONS: readonly GandalfConfiguration[] = [
  'native', ...MEMORY_MODES.map((m) => `meso/${m}` as const), ...PARA_MEMORY_MODES.map((m) => `para/${m}` as const),
];

export interface GandalfRow {
  readonly bench: Microbenchmark;
  readonly configuration: GandalfConfiguration;
  /** Instructions the guest kernel and its processes retired in the window. */
  readonly guestInstructions: number;
  /** Instructions gandalf retired in the window (0 natively). */
  readonly monitorInstructions: number;
  /** Events the processor delivered straight to the guest kernel in the window. */
  readonly directEvents: number;
  /** Entries into gandalf in the window, by reason (its virtual CPU's counters). */
  readonly exits: Readonly<Record<string, number>>;
  /** Wall time of the whole run on impl (boot included), ms. */
  readonly implMs: number;
  /** QEMU TCG: the fastest of the runs, from the kernel's first byte to QEMU's exit, ms (null: no QEMU). */
  readonly qemuMs: number | null;
  /** The same with -icount shift=0. */
  readonly qemuIcountMs: number | null;
  readonly report: { iterations: number; checksum: number } | null;
  readonly end: string;
}

export interface GandalfResults {
  readonly date: string;
  readonly pitDivisor: string;
  readonly qemuRuns: number;
  readonly rows: readonly GandalfRow[];
  readonly totalWallMs: number;
}

const ENDS = new Set<StepEvent['kind']>(['exit', 'shutdown', 'model-error']);
const MAX_STEPS = 400_000_000;

export function gandalfBenchImage(bench: Microbenchmark, c: GandalfConfiguration): Uint8Array {
  const LMBENCH = String(MICROBENCHMARKS.indexOf(bench) + 1);
  if (c === 'native') return buildTeach({ LMBENCH, PIT_DIVISOR: GANDALF_PIT_DIVISOR });
  return buildTeach({ LMBENCH, [c.startsWith('para/') ? 'PARA' : 'MESO']: '', PIT_DIVISOR: GANDALF_PIT_DIVISOR });
}

const modeOf = (c: GandalfConfiguration): MemoryModeName => c.slice(c.indexOf('/') + 1) as MemoryModeName;
/** gandalf's -D defines for a configuration: its memory mode, and PARA for a para one. */
const gandalfDefines = (c: GandalfConfiguration): Record<string, string> => ({ ...modeDefines(modeOf(c)), ...(c.startsWith('para/') ? { PARA: '' } : {}) });

/** The console window of bench/guests-run.ts, over impl's console. */
class Window {
  state: 'before' | 'open' | 'closed' = 'before';
  private printed = 0;
  observe(console: readonly number[]): void {
    if (console.length === this.printed || this.state === 'closed') { this.printed = console.length; return; }
    const fresh = console.slice(this.printed);
    this.printed = console.length;
    if (this.state === 'open') this.state = 'closed';
    else if (fresh.includes(10)) this.state = 'open';
  }
}

/** One microbenchmark in one configuration on impl, counted in the window. */
export function runOnImpl(bench: Microbenchmark, c: GandalfConfiguration): Omit<GandalfRow, 'qemuMs' | 'qemuIcountMs'> {
  const image = gandalfBenchImage(bench, c);
  const t = performance.now();
  let m: ImplMachine;
  if (c === 'native') {
    const native = createMachine('impl', 64 * 1024 * 1024);
    bootImage(native, image);
    if (!(native instanceof ImplMachine)) throw new Error('impl expected');
    m = native;
  } else {
    const g = bootGandalf([image], { defines: gandalfDefines(c) });
    if (!(g instanceof ImplMachine)) throw new Error('impl expected');
    m = g;
  }
  const cpl = (): number => (c === 'native' ? 1 : m.cpu.segSelector[1]! & 3); // natively every instruction is the guest's
  const w = new Window();
  let guest = 0, monitor = 0, direct = 0, end = 'step limit';
  let atOpen: Record<string, number> = {}, atClose: Record<string, number> | null = null;
  let previousHalted = false;
  for (let n = 0; n < MAX_STEPS; n++) {
    const before = cpl();
    const e = m.step();
    const was = w.state;
    w.observe(m.cpu.devices.console);
    if (c !== 'native' && was === 'before' && w.state === 'open') atOpen = { ...readGandalfVcpu(m).exits };
    if (c !== 'native' && was === 'open' && w.state === 'closed') atClose = { ...readGandalfVcpu(m).exits };
    if (ENDS.has(e.kind)) { end = e.kind === 'exit' ? `exit ${e.code}` : e.kind; break; }
    if (e.kind === 'halted') {
      if (previousHalted && c === 'native') { end = 'halted'; break; }
      previousHalted = true;
      continue;
    }
    previousHalted = false;
    if (w.state !== 'open') continue;
    const after = cpl();
    if (before > 0 && after > 0) {
      if (e.kind === 'retired') guest++;
      else direct++;
    } else monitor++; // gandalf's own instruction, or the delivery that entered it
  }
  const close = atClose ?? (c === 'native' ? {} : readGandalfVcpu(m).exits);
  const exits: Record<string, number> = {};
  for (const [k, v] of Object.entries(close)) if (v - (atOpen[k] ?? 0) > 0) exits[k] = v - (atOpen[k] ?? 0);
  const console = Buffer.from(m.consoleOutput()).toString('latin1');
  return { bench, configuration: c, guestInstructions: guest, monitorInstructions: monitor, directEvents: direct, exits, implMs: performance.now() - t, report: parseReport(console), end };
}

async function fastestOnQemu(bench: Microbenchmark, c: GandalfConfiguration, runs: number, icount: boolean): Promise<number | null> {
  if (!qemuInstalled()) return null;
  const image = gandalfBenchImage(bench, c);
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const r = c === 'native'
      ? await runOnQemu(image, { icount })
      : await runOnQemu(buildGandalf(gandalfDefines(c)), { icount, initrd: image });
    best = Math.min(best, r.ms);
  }
  return best;
}

export async function runGandalfGuestBench(only: readonly Microbenchmark[] = MICROBENCHMARKS, progress?: (task: string) => void, qemuRuns = 3): Promise<GandalfResults> {
  const t = performance.now();
  const rows: GandalfRow[] = [];
  for (const bench of only) {
    for (const c of GANDALF_CONFIGURATIONS) {
      progress?.(`${bench} ${c} (gandalf, measured)`);
      const r = runOnImpl(bench, c);
      const qemuMs = await fastestOnQemu(bench, c, qemuRuns, false);
      const qemuIcountMs = await fastestOnQemu(bench, c, qemuRuns, true);
      rows.push({ ...r, qemuMs, qemuIcountMs });
    }
  }
  return { date: new Date().toISOString(), pitDivisor: GANDALF_PIT_DIVISOR, qemuRuns, rows, totalWallMs: performance.now() - t };
}

const total = (r: GandalfRow): number => r.guestInstructions + r.monitorInstructions;

/** Does the row print the native row's report and end through the exit port? */
export function gandalfRowCorrect(results: GandalfResults, r: GandalfRow): boolean {
  const native = results.rows.find((x) => x.bench === r.bench && x.configuration === 'native');
  return r.end === 'exit 1' && r.report !== null && native?.report != null
    && r.report.iterations === native.report.iterations && r.report.checksum === native.report.checksum;
}

export function formatGandalfTable(results: GandalfResults): string {
  const head = 'bench  configuration       guest instr  gandalf instr  (g+m)/native  impl ms  qemu ms  x native  icount ms  x native  ok   exits by reason';
  const lines = [head, '-'.repeat(head.length + 20)];
  const ms = (v: number | null): string => (v === null ? '-' : v.toFixed(0));
  const ratio = (v: number | null, n: number | null): string => (v === null || n === null || n === 0 ? '-' : (v / n).toFixed(2));
  for (const r of results.rows) {
    const native = results.rows.find((x) => x.bench === r.bench && x.configuration === 'native')!;
    const exits = Object.entries(r.exits).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
    lines.push([
      r.bench.padEnd(6), r.configuration.padEnd(18), String(r.guestInstructions).padStart(12), String(r.monitorInstructions).padStart(14),
      (total(r) / total(native)).toFixed(2).padStart(13), r.implMs.toFixed(0).padStart(8), ms(r.qemuMs).padStart(8), ratio(r.qemuMs, native.qemuMs).padStart(9),
      ms(r.qemuIcountMs).padStart(10), ratio(r.qemuIcountMs, native.qemuIcountMs).padStart(9), (gandalfRowCorrect(results, r) ? 'yes' : 'NO').padStart(4), ` ${exits}`,
    ].join(' '));
  }
  lines.push('', `PIT divisor ${results.pitDivisor} in every build; QEMU: fastest of ${results.qemuRuns} runs, from the kernel's first byte to QEMU's exit; total ${(results.totalWallMs / 1000).toFixed(1)} s`);
  return lines.join('\n');
}
