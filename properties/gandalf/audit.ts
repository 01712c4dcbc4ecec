// Running a guest under gandalf with VMM.ISO, VMM.SEG, VMM.RING and VMM.RES
// checked on the real machine state (invariants.ts): RING after every step,
// the segment registers after every guest step, the real tables and page
// tables each time gandalf returns to the guest, and gandalf's own memory
// compared between its return to the guest and its next entry.
import type { StepEvent } from '../../model/machine';
import type { MachineKind } from '../machines';
import { bootGandalf, buildGandalf } from './build';
import { GANDALF_BOUNDS, gandalfOwnMemory } from './layout';
import { checkRealResources, checkRealRing, checkRealSegments, checkRealTables, machineView, monitorMemory, type Violation } from './invariants';
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
  const machine = bootGandalf(guests, { defines: options.defines, machine: options.machine });
  const imageLength = (buildGandalf(options.defines).length + 0xfff) & ~0xfff;
  const view = machineView(machine);
  const own = (): Uint8Array => monitorMemory(view, gandalfOwnMemory(imageLength, readGandalfVcpu(machine).tablesInUse, options.defines?.MEMORY_MULTI !== undefined));
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
    if (found(checkRealRing(view, GANDALF_BOUNDS))) break;
    if (after.cpl > 0) {
      const s = view.state();
      if (before.cpl === 0) {
        // Into the guest: the tables as gandalf left them, and a snapshot of its memory.
        boot ??= s;
        if (found(checkRealTables(view, GANDALF_BOUNDS, s)) || found(checkRealResources(view, GANDALF_BOUNDS, boot, s))) break;
        snapshot = own();
      } else guestSteps++;
      if (found(checkRealSegments(view, GANDALF_BOUNDS, s))) break;
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
