// Several guests under one monitor. The machine memory is one; each guest
// has its own partition, its own monitor frames (so its own real GDT, IDT,
// TSS and page directory), its own virtual CPU and its own devices (console,
// virtual PIC and PIT). The monitor runs one guest at a time and switches
// on its own timer, a quantum of machine steps; a switch saves the whole
// processor state of one guest and loads the other's, real CR3, GDTR, IDTR
// and TR included.
import { changedPages, emptyMemory, readBytes, writeBytes, type PhysicalMemory } from '../../cpu/memory';
import { consoleBytes, type Devices } from '../../cpu/devices';
import type { MachineState } from '../../cpu/state';
import { MONITOR_FRAMES, PAGE, type VmmConfig } from '../config';
import { inMonitor } from '../exits';
import { stepWorld, type WorldStep } from '../run';
import { defaultRules } from '../rules';
import type { VmmState, World } from '../state';
import { bootInMode, type ModeRules } from '../memory/boot';
import type { MemoryModeName } from '../memory/types';
import { guestLayout, machineSizeFor } from './layout';

export interface GuestSpec {
  readonly name: string;
  readonly image: Uint8Array;
}

/** The scheduling and isolation rules of several guests; mutants replace one. */
export interface GuestsRules {
  /** [MEM.GUESTS.3] What the two guests' devices become at a world switch (the default: each keeps its own). */
  readonly switchDevices: (outgoing: Devices, incoming: Devices) => { readonly outgoing: Devices; readonly incoming: Devices };
  /** [MEM.GUESTS.1] The configuration the monitor enforces for guest `index` (the default: its layout). */
  readonly enforcedConfig: (layout: VmmConfig, index: number, machineSize: number) => VmmConfig;
}

export const defaultGuestsRules: GuestsRules = {
  switchDevices: (outgoing, incoming) => ({ outgoing, incoming }),
  enforcedConfig: (layout) => layout,
};

export interface GuestSlot {
  readonly name: string;
  readonly vmm: VmmState;
  /** The guest's processor state while it is switched out (its `memory` field is not used: memory is shared). */
  readonly cpu: MachineState;
  /** Why the guest's run ended, or null. */
  readonly end: string | null;
  /** Machine steps this guest has taken (its own time). */
  readonly steps: number;
}

export interface GuestsWorld {
  readonly memory: PhysicalMemory;
  readonly guests: readonly GuestSlot[];
  readonly running: number;
  readonly quantumLeft: number;
  readonly quantum: number;
  readonly rules: GuestsRules;
  /** Ghost: world switches so far. */
  readonly switches: number;
}

/** [MEM.GUESTS.2] Default quantum: machine steps a guest runs before the monitor switches. */
export const DEFAULT_QUANTUM = 2000;

export type GuestsBoot = { readonly kind: 'ok'; readonly world: GuestsWorld } | { readonly kind: 'error'; readonly message: string };

function copyRange(into: PhysicalMemory, from: PhysicalMemory, start: number, bytes: number): PhysicalMemory {
  let m = into;
  // The pages of `from` ever written (the others read as zeros).
  for (const a of changedPages(emptyMemory(from.size), from, start, start + bytes)) m = writeBytes(m, a, readBytes(from, a, PAGE));
  return m;
}

/**
 * [MEM.GUESTS.1] Boot every guest in its own slot (guestLayout) and gather
 * their memories into one machine. Direct mode needs a partition at
 * machine 0: only guest 0 gets it; the others run shadow-single.
 */
export function bootGuests(
  specs: readonly GuestSpec[], mode: MemoryModeName, options: { quantum?: number; rules?: GuestsRules; modeRules?: ModeRules; vmmRules?: typeof defaultRules } = {},
): GuestsBoot {
  if (specs.length === 0) return { kind: 'error', message: 'no guest to run' };
  const size = machineSizeFor(specs.length);
  const rules = options.rules ?? defaultGuestsRules;
  let memory = emptyMemory(size);
  const guests: GuestSlot[] = [];
  for (const [i, spec] of specs.entries()) {
    const layout = guestLayout(i);
    const guestMode: MemoryModeName = mode === 'direct' && layout.partitionBase !== 0 ? 'shadow-single' : mode;
    const b = bootInMode(spec.image, guestMode, layout, options.vmmRules ?? defaultRules, options.modeRules ?? {});
    if (b.kind === 'error') return { kind: 'error', message: `${spec.name}: ${b.message}` };
    memory = copyRange(memory, b.world.machine.memory, layout.partitionBase, layout.partitionSize);
    memory = copyRange(memory, b.world.machine.memory, layout.monitorBase, MONITOR_FRAMES * PAGE);
    const vmm = { ...b.world.vmm, config: rules.enforcedConfig(layout, i, size) };
    guests.push({ name: spec.name, vmm, cpu: { ...b.world.machine, memory: emptyMemory(0) }, end: null, steps: 0 });
  }
  const quantum = options.quantum ?? DEFAULT_QUANTUM;
  return { kind: 'ok', world: { memory, guests, running: 0, quantumLeft: quantum, quantum, rules, switches: 0 } };
}

/** The world of one guest, as the single-guest monitor sees it. */
export const guestWorld = (w: GuestsWorld, index: number): World => ({ machine: { ...w.guests[index]!.cpu, memory: w.memory }, vmm: w.guests[index]!.vmm });

/** The next guest (round robin) whose run has not ended, or null. */
function nextRunnable(w: GuestsWorld, from: number): number | null {
  for (let k = 1; k <= w.guests.length; k++) {
    const i = (from + k) % w.guests.length;
    if (w.guests[i]!.end === null) return i;
  }
  return null;
}

export interface GuestsStep {
  readonly guest: number;
  readonly before: World;
  readonly after: World;
  readonly step: WorldStep;
}

/**
 * [MEM.GUESTS.2] One step: the running guest takes one step of the
 * single-guest monitor (VMM.RUN.1) on the shared memory. When its quantum
 * is spent and it is not inside the monitor (an exit is always finished
 * first), or when its run ends, the monitor switches to the next guest
 * that has not ended. [MEM.GUESTS.3] A guest's devices travel with it: its
 * timer counts only its own instructions, and its interrupts and console
 * bytes are its own.
 */
export function stepGuests(w: GuestsWorld): { world: GuestsWorld; step: GuestsStep } | null {
  const index = w.running;
  const slot = w.guests[index]!;
  if (slot.end !== null) return null;
  const before = guestWorld(w, index);
  const r = stepWorld(before);
  const ended = r.step.kind === 'end' ? r.step.reason : null;
  const guests = w.guests.slice();
  guests[index] = { ...slot, vmm: r.world.vmm, cpu: r.world.machine, end: ended, steps: slot.steps + 1 };
  let next: GuestsWorld = { ...w, memory: r.world.machine.memory, guests, quantumLeft: w.quantumLeft - 1 };
  const spent = next.quantumLeft <= 0 && !inMonitor(r.world);
  if (ended !== null || spent) {
    const to = nextRunnable(next, index);
    if (to !== null && to !== index) next = switchGuest(next, to);
    next = { ...next, quantumLeft: next.quantum };
  }
  return { world: next, step: { guest: index, before, after: r.world, step: r.step } };
}

/**
 * [MEM.GUESTS.2] A world switch from the running guest to guest `to`: the
 * outgoing guest's processor state stays in its slot, the incoming one's is
 * the one that runs; [MEM.GUESTS.3] each keeps its own devices.
 */
export function switchGuest(w: GuestsWorld, to: number): GuestsWorld {
  const index = w.running;
  const out = w.guests[index]!, inc = w.guests[to]!;
  const d = w.rules.switchDevices(out.cpu.devices, inc.cpu.devices);
  const g = w.guests.slice();
  g[index] = { ...out, cpu: { ...out.cpu, devices: d.outgoing } };
  g[to] = { ...inc, cpu: { ...inc.cpu, devices: d.incoming } };
  return { ...w, guests: g, running: to, switches: w.switches + 1 };
}

export interface GuestsRun {
  readonly world: GuestsWorld;
  readonly steps: number;
  /** Each guest's console, its own stream. */
  readonly consoles: readonly string[];
}

/** Run until every guest has ended or `maxSteps` machine steps; `observe` sees every step. */
export function runGuests(world: GuestsWorld, maxSteps: number, observe?: (s: GuestsStep, after: GuestsWorld) => boolean | void): GuestsRun {
  let w = world, n = 0;
  while (n < maxSteps) {
    const r = stepGuests(w);
    if (r === null) break;
    n++;
    w = r.world;
    if (observe?.(r.step, w) === true) break;
  }
  return { world: w, steps: n, consoles: w.guests.map((g) => consoleText(g.cpu.devices)) };
}

export const consoleText = (d: Devices): string => new TextDecoder('latin1').decode(consoleBytes(d.console));
