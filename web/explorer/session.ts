// The explorer's run of one guest: a list of immutable states, one per step.
// The model is pure, so stepping back is looking up an earlier state, and a
// state dropped to save memory is found again by stepping forward from the
// checkpoint before it. Runs in the browser and in node (the tests).
import type { StepEvent } from '../../model/machine';
import { loadMultiboot } from '../../model/boot/multiboot';
import { writeBytes } from '../../model/cpu/memory';
import { fromCommon, initialState, type MachineState } from '../../model/cpu/state';
import { step } from '../../model/cpu/step';
import { bootGuest } from '../../model/vmm/boot';
import { stepWorld, type WorldStep } from '../../model/vmm/run';
import type { VmmState } from '../../model/vmm/state';

/** Physical memory of a guest on the bare machine (the monitor brings its own). */
export const NATIVE_MEMORY = 64 * 1024 * 1024;

/** One point of a run: the machine, and the monitor when there is one. */
export interface Snapshot {
  readonly machine: MachineState;
  readonly vmm: VmmState | null;
}

/** What the step that led to a snapshot did. */
export interface Transition {
  /** The machine's event (null when the monitor had already stopped). */
  readonly event: StepEvent | null;
  /** Under the monitor: whose step it was (guest, exit into the monitor, the monitor's IRET, end). */
  readonly world: WorldStep | null;
  /** True when the run cannot go on (exit port, shutdown, halted for good, model error). */
  readonly final: boolean;
}

export type Boot = { readonly kind: 'ok'; readonly snapshot: Snapshot } | { readonly kind: 'error'; readonly message: string };

/** Load a Multiboot image on the bare machine (as `mesovirt run`), or under the monitor (as `run --vmm`). */
export function boot(image: Uint8Array, meso: boolean): Boot {
  if (meso) {
    const b = bootGuest(image);
    return b.kind === 'ok' ? { kind: 'ok', snapshot: { machine: b.world.machine, vmm: b.world.vmm } } : b;
  }
  const loaded = loadMultiboot(image, NATIVE_MEMORY);
  if (loaded.kind === 'error') return loaded;
  let s = initialState(NATIVE_MEMORY);
  for (const w of loaded.writes) s = { ...s, memory: writeBytes(s.memory, w.address, w.bytes) };
  return { kind: 'ok', snapshot: { machine: fromCommon(s, loaded.entry), vmm: null } };
}

const ENDS = new Set<StepEvent['kind']>(['exit', 'shutdown', 'model-error']);

/** One step: the machine's (bare) or the world's (under the monitor). */
export function advance(s: Snapshot): { snapshot: Snapshot; transition: Transition } {
  if (s.vmm === null) {
    const r = step(s.machine);
    // A HLT with interrupts off and nothing pending never wakes: stepping on
    // would report 'halted' for ever.
    const final = ENDS.has(r.event.kind) || (r.event.kind === 'halted' && s.machine.halted);
    return { snapshot: { machine: r.state, vmm: null }, transition: { event: r.event, world: null, final } };
  }
  const r = stepWorld({ machine: s.machine, vmm: s.vmm });
  return {
    snapshot: { machine: r.world.machine, vmm: r.world.vmm },
    transition: { event: r.step.event, world: r.step, final: r.step.kind === 'end' },
  };
}

/** Keep every state of the last WINDOW steps, and one every CHECKPOINT steps before. */
export const CHECKPOINT = 1024;
export const WINDOW = 4096;

/**
 * The states of a run, indexed by step number (0 = as booted). Steps past
 * the end of the run are not taken: `at(n)` for n beyond the end returns the
 * last state.
 */
export class Timeline {
  private readonly states = new Map<number, { snapshot: Snapshot; transition: Transition | null }>();
  /** Every step computed so far whose event was not a plain retired instruction. */
  readonly notable = new Map<number, Transition>();
  /** The highest step computed so far, and whether the run ended there. */
  private last = 0;
  private ended = false;

  constructor(initial: Snapshot) {
    this.states.set(0, { snapshot: initial, transition: null });
  }

  /** The last step of the run, once it has been reached (else null). */
  get end(): number | null {
    return this.ended ? this.last : null;
  }

  /** How many states are held now (the rest are recomputed when asked for). */
  get kept(): number {
    return this.states.size;
  }

  get furthest(): number {
    return this.last;
  }

  /** The state after step n and the transition that led to it (null for n = 0). */
  at(n: number): { step: number; snapshot: Snapshot; transition: Transition | null } {
    const target = Math.max(0, this.ended ? Math.min(n, this.last) : n);
    const hit = this.states.get(target);
    if (hit !== undefined) return { step: target, ...hit };
    // Forward from the nearest state at or before the target.
    let from = Math.min(target, this.last);
    while (!this.states.has(from)) from--;
    let current = this.states.get(from)!;
    let i = from;
    while (i < target) {
      const r = advance(current.snapshot);
      i++;
      current = { snapshot: r.snapshot, transition: r.transition };
      this.remember(i, current);
      if (r.transition.final) {
        this.ended = true;
        this.last = Math.max(this.last, i);
        break;
      }
    }
    return { step: i, ...current };
  }

  /** Step forward from `from` until `stop` says so, the run ends, or `limit` steps went by. */
  runUntil(from: number, stop: (t: Transition, before: Snapshot, after: Snapshot) => boolean, limit: number): number {
    let n = from;
    let current = this.at(n);
    for (let k = 0; k < limit; k++) {
      if (this.end !== null && n >= this.end) return n;
      const next = this.at(n + 1);
      if (next.step === n) return n;
      const before = current.snapshot;
      n = next.step;
      current = next;
      if (stop(next.transition!, before, next.snapshot)) return n;
    }
    return n;
  }

  private remember(n: number, value: { snapshot: Snapshot; transition: Transition | null }): void {
    this.states.set(n, value);
    if (value.transition !== null && (value.transition.event?.kind !== 'retired' || value.transition.world?.kind === 'exit')) this.notable.set(n, value.transition);
    if (n > this.last) this.last = n;
    // Forget states that left the window, except checkpoints (and the first).
    const old = n - WINDOW;
    if (old > 0 && old % CHECKPOINT !== 0) this.states.delete(old);
  }
}
