// Running a guest under gandalf with VMM.ISO, VMM.SEG, VMM.RING and VMM.RES
// checked on the real machine state (invariants.ts): RING after every step,
// the segment registers after every guest step, the real tables and page
// tables each time gandalf returns to the guest, and gandalf's own memory
// compared between its return to the guest and its next entry.
import type { StepEvent } from '../../model/machine';
import type { MachineKind } from '../machines';
import { bootGandalf, buildGandalf } from './build';
import { DIRECT_MONITOR_BASE, GANDALF_BOUNDS, GANDALF_DIRECT_BOUNDS, gandalfOwnMemory } from './layout';
import { checkRealDirectResources, checkRealResources, checkRealRing, checkRealSegments, checkRealTables, machineView, monitorMemory, type Violation } from './invariants';
import type { CommonState } from '../../model/machine';
import { readGandalfVcpu } from './vcpu';

export interface GandalfAudit {
  readonly steps: number;
  readonly guestSteps: number;
  readonly exits: number;
  readonly end: string;
  readonly violation: { readonly step: number; readonly violation: Violation } | null;
  readonly console: string;
  readonly exitsByReason: Readonly<Record<string, number>>;
}

const ENDS = new Set<StepEvent['kind']>(['exit', 'shutdown', 'model-error']);

export function auditGandalf(guests: readonly Uint8Array[], options: { defines?: Record<string, string>; maxSteps?: number; machine?: MachineKind } = {}): GandalfAudit {
  const maxSteps = options.maxSteps ?? 10_000_000;
  const mode = options.defines?.MEMORY_DIRECT !== undefined ? 'direct' : options.defines?.MEMORY_MULTI !== undefined ? 'shadow-multi' : 'shadow-single';
  const bounds = mode === 'direct' ? GANDALF_DIRECT_BOUNDS : GANDALF_BOUNDS;
  // [MEM.RES.1] In direct mode the real CR3 and CR4 are the guest's to choose, within the rules.
  const resources = (b: CommonState, s: CommonState): Violation | null =>
    (mode === 'direct' ? checkRealDirectResources(view, bounds, DIRECT_MONITOR_BASE + 0x8000, b, s) : checkRealResources(view, bounds, b, s));
  const machine = bootGandalf(guests, { defines: options.defines, machine: options.machine });
  const imageLength = (buildGandalf(options.defines).length + 0xfff) & ~0xfff;
  const view = machineView(machine);
  const own = (): Uint8Array => monitorMemory(view, gandalfOwnMemory(imageLength, readGandalfVcpu(machine).tablesInUse, mode));
  let steps = 0, guestSteps = 0, exits = 0;
  let end = 'step limit';
  let violation: GandalfAudit['violation'] = null;
  let boot: ReturnType<typeof view.state> | null = null;
  let snapshot: Uint8Array | null = null;
  let previousHalted = false;
  while (steps < maxSteps && violation === null) {
    const before = view.position();
    const e = machine.step();
    steps++;
    if (ENDS.has(e.kind)) { end = e.kind === 'exit' ? `exit ${e.code}` : e.kind; break; }
    if (e.kind === 'halted') {
      if (previousHalted) { end = 'halted for good'; break; }
      previousHalted = true;
      continue;
    }
    previousHalted = false;
    const after = view.position();
    const found = (v: Violation | null): boolean => { if (v !== null) violation = { step: steps, violation: v }; return v !== null; };
    // gandalf's own boot runs below the VMM base before paging is on: the
    // invariants hold from the guest's first instruction.
    if (boot === null && after.cpl === 0) continue;
    if (found(checkRealRing(view, bounds))) break;
    if (after.cpl > 0) {
      const s = view.state();
      if (before.cpl === 0) {
        // Into the guest: the tables as gandalf left them, and a snapshot of its memory.
        boot ??= s;
        if (found(checkRealTables(view, bounds, s)) || found(resources(boot, s))) break;
        snapshot = own();
      } else guestSteps++;
      if (found(checkRealSegments(view, bounds, s))) break;
    } else if (before.cpl > 0) {
      exits++;
      if (snapshot !== null) {
        const now = own();
        const i = now.findIndex((b, k) => b !== snapshot![k]);
        if (now.length !== snapshot.length || i >= 0) found({ rule: 'VMM.ISO', message: `a guest step changed gandalf's memory (byte ${i} of its own ranges)` });
      }
    }
  }
  const g = readGandalfVcpu(machine);
  return { steps, guestSteps, exits, end, violation, console: Buffer.from(machine.consoleOutput()).toString('latin1'), exitsByReason: g.exits };
}
