// Running a guest under the monitor: the machine steps; when it delivers an
// event into the VMM region the monitor handles the exit; the monitor's
// IRET is one more machine step.
import type { StepEvent } from '../machine';
import { step } from '../cpu/step';
import { consoleBytes } from '../cpu/devices';
import { handleExitExplained, inMonitor } from './exits';
import { applied, type RuleUse } from '../cpu/applied';
import { handleParaExitExplained } from './para/exits';
import type { World } from './state';

export type WorldStep =
  /** The guest ran one instruction (or took a direct interrupt). */
  | { readonly kind: 'guest'; readonly event: StepEvent }
  /** An event entered the monitor, which handled it by the rules `handledBy`
   * (VMM.*, in order) [EXPLAIN.VMM.1]. */
  | { readonly kind: 'exit'; readonly event: StepEvent; readonly handledBy: readonly RuleUse[] }
  /** The monitor's IRET back to the guest. */
  | { readonly kind: 'monitor'; readonly event: StepEvent }
  /** The run is over: exit port, halted for good, stopped by the monitor, shutdown or model error. */
  | { readonly kind: 'end'; readonly reason: string; readonly event: StepEvent | null };

/** [VMM.RUN.1] One step of the world. */
export function stepWorld(world: World): { world: World; step: WorldStep } {
  if (world.vmm.stopped !== null) return { world, step: { kind: 'end', reason: `stopped: ${world.vmm.stopped}`, event: null } };
  if (inMonitor(world)) {
    const r = step(world.machine);
    const after = world.vmm.afterReturn;
    // [VMM.EXIT.4] An emulated HLT (or STI's interrupt shadow) takes effect
    // once the guest is back at its own privilege level.
    const machine = r.event.kind === 'retired' && !inMonitor({ ...world, machine: r.state })
      ? { ...r.state, halted: r.state.halted || after.halt, interruptShadow: r.state.interruptShadow || after.interruptShadow }
      : r.state;
    const vmm = { ...world.vmm, afterReturn: { halt: false, interruptShadow: false } };
    const w = { machine, vmm };
    if (r.event.kind === 'exit') return { world: w, step: { kind: 'end', reason: `exit ${r.event.code}`, event: r.event } };
    if (r.event.kind !== 'retired') return { world: w, step: { kind: 'end', reason: `the monitor's return failed: ${JSON.stringify(r.event)}`, event: r.event } };
    return { world: w, step: { kind: 'monitor', event: r.event } };
  }
  const r = step(world.machine);
  const w: World = { ...world, machine: r.state };
  switch (r.event.kind) {
    case 'exception':
    case 'interrupt':
      if (inMonitor(w)) {
        const handled = (w.vmm.para !== undefined ? handleParaExitExplained : handleExitExplained)(w, r.event);
        for (const use of handled.handledBy) applied(use.id, use.note);
        return { world: handled.world, step: { kind: 'exit', event: r.event, handledBy: handled.handledBy } };
      }
      return { world: w, step: { kind: 'guest', event: r.event } };
    case 'retired': return { world: w, step: { kind: 'guest', event: r.event } };
    case 'halted':
      if (world.machine.halted) {
        return { world: w, step: { kind: 'end', reason: 'halted for good', event: r.event } };
      }
      return { world: w, step: { kind: 'guest', event: r.event } };
    case 'exit': return { world: w, step: { kind: 'end', reason: `exit ${r.event.code}`, event: r.event } };
    case 'shutdown': return { world: w, step: { kind: 'end', reason: `shutdown: ${r.event.reason}`, event: r.event } };
    case 'model-error': return { world: w, step: { kind: 'end', reason: `model error: ${r.event.message}`, event: r.event } };
  }
}

export interface RunResult {
  readonly world: World;
  readonly steps: number;
  readonly end: string;
  readonly console: string;
}

/** Run until the end or `maxSteps`; `observe` sees every step (for invariants).
 * [VMM.EQ] The console transcript returned is what equivalence compares. */
export function runWorld(world: World, maxSteps: number, observe?: (before: World, after: World, s: WorldStep) => void): RunResult {
  let w = world;
  let n = 0;
  let end = 'step limit';
  while (n < maxSteps) {
    const r = stepWorld(w);
    n++;
    observe?.(w, r.world, r.step);
    w = r.world;
    if (r.step.kind === 'end') { end = r.step.reason; break; }
  }
  return { world: w, steps: n, end, console: new TextDecoder('latin1').decode(consoleBytes(w.machine.devices.console)) };
}
