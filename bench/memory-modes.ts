// The teaching kernel's meso build under each memory mode of the monitor:
// monitor exits by reason, page faults the monitor handled, wall time.
// Wall time on both processors: the model, and impl under the same monitor
// (properties/vmm/impl-host.ts).
import { join } from 'node:path';
import { bootInMode } from '../model/vmm/memory/boot';
import { MEMORY_MODES, type MemoryModeName } from '../model/vmm/memory/types';
import { runWorld } from '../model/vmm/run';
import { defaultRules } from '../model/vmm/rules';
import { runOnImpl } from '../properties/vmm/impl-host';
import { configFor } from '../model/vmm/memory/boot';
import { assembleFile } from '../properties/assemble-file';

export interface MemoryModeFigure {
  readonly mode: MemoryModeName;
  readonly end: string;
  readonly steps: number;
  readonly exits: Readonly<Record<string, number>>;
  readonly pageFaults: number;
  /** Wall time of the run on the model. */
  readonly wallMs: number;
  /** Wall time of the same run with impl as the processor, and whether its transcript matched. */
  readonly implWallMs: number;
  readonly implSameConsole: boolean;
  /** The console transcript is the same in every mode (checked). */
  readonly console: string;
}

const TEACH = join(import.meta.dirname, '..', 'guests', 'teach', 'teach.asm');

export function teachMesoImage(defines: Record<string, string> = {}): Uint8Array {
  return assembleFile(TEACH, { format: 'bin', defines: { MESO: '', ...defines } });
}

/** Run the teaching kernel (meso build) once per memory mode. */
export function benchMemoryModes(maxSteps = 5_000_000, image: Uint8Array = teachMesoImage()): MemoryModeFigure[] {
  return MEMORY_MODES.map((mode) => {
    const b = bootInMode(image, mode);
    if (b.kind !== 'ok') throw new Error(`${mode}: ${b.message}`);
    const start = performance.now();
    const r = runWorld(b.world, maxSteps);
    const wallMs = performance.now() - start;
    const exits = r.world.vmm.exits;
    const again = bootInMode(image, mode);
    if (again.kind !== 'ok') throw new Error(again.message);
    const implStart = performance.now();
    const onImpl = runOnImpl(image, maxSteps, defaultRules, configFor(mode), again.world);
    const implWallMs = performance.now() - implStart;
    return { mode, end: r.end, steps: r.steps, exits, pageFaults: exits['page fault'] ?? 0, wallMs, implWallMs, implSameConsole: onImpl.console === r.console, console: r.console };
  });
}

/** A plain-text table of the figures. */
export function formatMemoryModes(figures: readonly MemoryModeFigure[]): string {
  const total = (e: Readonly<Record<string, number>>) => Object.values(e).reduce((a, b) => a + b, 0);
  const lines = ['memory modes (teaching kernel, meso build):', 'mode           end      steps     exits  page faults  model ms  impl ms  other exits'];
  for (const f of figures) {
    const other = Object.entries(f.exits).filter(([k]) => k !== 'page fault').map(([k, v]) => `${k}:${v}`).join(' ');
    lines.push(`${f.mode.padEnd(14)} ${f.end.padEnd(8)} ${String(f.steps).padStart(7)} ${String(total(f.exits)).padStart(8)} ${String(f.pageFaults).padStart(12)} ${f.wallMs.toFixed(0).padStart(9)} ${f.implWallMs.toFixed(0).padStart(8)}${f.implSameConsole ? '' : ' (impl transcript differs!)'}  ${other}`);
  }
  const same = figures.every((f) => f.console === figures[0]?.console);
  lines.push(same ? 'console transcripts: identical in every mode' : 'console transcripts: DIFFER between modes');
  return lines.join('\n');
}
