// Measured costs of gandalf: each exit's instructions retired by gandalf
// itself (from the event that entered it to its IRET back to the guest),
// attributed to the exit's reason (read from the counters of the virtual
// CPU, GANDALF.VCPU.1), beside the guest's own instructions. Speed is never
// asserted in tests; `mesovirt bench gandalf` prints these figures.
import { ImplMachine } from '../../impl/machine';
import type { StepEvent } from '../../model/machine';
import { bootGandalf } from './build';
import { readGandalfVcpu } from './vcpu';

export interface ReasonCost { readonly exits: number; readonly instructions: number }

export interface GandalfCosts {
  readonly end: string;
  readonly bootInstructions: number;
  readonly guestInstructions: number;
  readonly monitorInstructions: number;
  /** Steps in which the processor was halted (an emulated HLT waiting). */
  readonly haltedSteps: number;
  readonly byReason: Readonly<Record<string, ReasonCost>>;
  readonly wallMs: number;
}

const ENDS = new Set<StepEvent['kind']>(['exit', 'shutdown', 'model-error']);

export function measureGandalf(guest: Uint8Array, maxSteps = 200_000_000): GandalfCosts {
  const t0 = performance.now();
  const m = bootGandalf([guest]);
  if (!(m instanceof ImplMachine)) throw new Error('costs are measured on impl');
  const cpl = (): number => m.cpu.segSelector[1]! & 3;
  let boot = 0, guest_ = 0, monitor = 0, halted = 0, steps = 0;
  let end = 'step limit';
  const byReason: Record<string, { exits: number; instructions: number }> = {};
  while (cpl() === 0 && steps < maxSteps) { const e = m.step(); steps++; boot++; if (ENDS.has(e.kind)) return { end: e.kind, bootInstructions: boot, guestInstructions: 0, monitorInstructions: 0, haltedSteps: 0, byReason, wallMs: performance.now() - t0 }; }
  let counters = readGandalfVcpu(m).exits;
  while (steps < maxSteps) {
    const e = m.step();
    steps++;
    if (ENDS.has(e.kind)) { end = e.kind === 'exit' ? `exit ${e.code}` : e.kind; break; }
    if (cpl() > 0) { guest_++; continue; }
    // An exit: gandalf's instructions until it is back in the guest.
    let n = 1, stop = false; // the delivery into the monitor counts as one
    while (cpl() === 0 && steps < maxSteps) {
      const x = m.step();
      steps++;
      if (x.kind === 'halted') { halted++; continue; }
      if (ENDS.has(x.kind)) { end = x.kind === 'exit' ? `exit ${x.code}` : x.kind; stop = true; break; }
      n++;
    }
    monitor += n;
    const now = readGandalfVcpu(m).exits;
    const reasons = Object.keys(now).filter((k) => now[k] !== counters[k]);
    const reason = reasons.length === 1 ? reasons[0]! : reasons.length === 0 ? '(no exit counted: an interrupt that woke HLT)' : reasons.sort().join(' + ');
    const r = (byReason[reason] ??= { exits: 0, instructions: 0 });
    r.exits++;
    r.instructions += n;
    counters = now;
    if (stop) break;
  }
  return { end, bootInstructions: boot, guestInstructions: guest_, monitorInstructions: monitor, haltedSteps: halted, byReason, wallMs: performance.now() - t0 };
}
