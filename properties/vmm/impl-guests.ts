// Several guests under the monitor with impl as the processor
// (spec/memory.md MEM.GUESTS, spec/vmm.md §8): the scheduling of
// model/vmm/guests/world.ts (round robin, a quantum of machine steps, a
// switch only outside the monitor) over one ImplMachine that holds the
// machine memory of every guest. Each guest's step is stepOnImpl
// (impl-host.ts), the one monitor of model/vmm handling its exits.
// A world switch saves the outgoing guest's processor state (impl's
// CommonState, plus the interrupt shadow) and loads the incoming one's;
// each guest keeps its own impl devices (console, PIT, PICs), so its timer
// counts only its own instructions (MEM.GUESTS.3), and its own TLB entries,
// as the model keeps each guest's TLB in its saved processor state.
import { ImplMachine } from '../../impl/machine';
import { Devices } from '../../impl/devices';
import { toCommon } from '../../model/cpu/state';
import type { CommonState } from '../../model/machine';
import type { PhysicalMemory } from '../../model/cpu/memory';
import type { VmmState } from '../../model/vmm/state';
import { defaultGuestsRules, type GuestsWorld } from '../../model/vmm/guests/world';
import { implFor, restoreTlb, saveTlb, stepOnImpl, type ImplWorldStep } from './impl-host';

export interface ImplGuestSlot {
  readonly name: string;
  vmm: VmmState;
  /** The guest's processor state while it is switched out. */
  cpu: CommonState;
  interruptShadow: boolean;
  /** Its TLB entries while it is switched out. */
  tlb: ReturnType<typeof saveTlb>;
  /** The guest's own devices (impl's). */
  readonly devices: Devices;
  end: string | null;
  steps: number;
}

export interface ImplGuests {
  readonly impl: ImplMachine;
  /** The machine memory as model pages (live views of impl's RAM). */
  readonly view: PhysicalMemory;
  readonly guests: ImplGuestSlot[];
  running: number;
  quantumLeft: number;
  readonly quantum: number;
  /** World switches so far. */
  switches: number;
}

/** The devices of impl's processor, replaced at a world switch (impl reads them through cpu.devices on every use). */
const plugDevices = (impl: ImplMachine, devices: Devices): void => { (impl.cpu as { devices: Devices }).devices = devices; };

/** Load a booted GuestsWorld (bootGuests) into impl. Device-switching rules other than the default are the model's alone. */
export function guestsOnImpl(world: GuestsWorld): ImplGuests {
  if (world.rules.switchDevices !== defaultGuestsRules.switchDevices) throw new Error('several guests on impl: only the default device switch is available (device mutants run on the model)');
  const { impl, view } = implFor(world.memory, world.memory.size);
  const guests: ImplGuestSlot[] = world.guests.map((g) => ({
    name: g.name, vmm: g.vmm, cpu: toCommon(g.cpu), interruptShadow: g.cpu.interruptShadow, tlb: { pages: [], entries: [] }, devices: new Devices(), end: g.end, steps: g.steps,
  }));
  // Each guest's devices count the instructions of the processor state loaded (its own, MEM.GUESTS.3).
  for (const g of guests) g.devices.instructions = () => impl.cpu.instructionCount;
  const running = guests[world.running]!;
  impl.setState(running.cpu);
  impl.cpu.interruptShadow = running.interruptShadow;
  plugDevices(impl, running.devices);
  return { impl, view, guests, running: world.running, quantumLeft: world.quantumLeft, quantum: world.quantum, switches: world.switches };
}

/** The next guest (round robin) whose run has not ended, or null. */
function nextRunnable(w: ImplGuests, from: number): number | null {
  for (let k = 1; k <= w.guests.length; k++) {
    const i = (from + k) % w.guests.length;
    if (w.guests[i]!.end === null) return i;
  }
  return null;
}

const inMonitorOn = (impl: ImplMachine, vmm: VmmState): boolean =>
  (impl.cpu.segSelector[1]! & 3) === 0 && impl.cpu.eip >>> 0 >= vmm.config.vmmBase;

/** [MEM.GUESTS.2] One step of the running guest, and the world switch after it, as stepGuests does. Null when the running guest has ended. */
export function stepGuestsOnImpl(w: ImplGuests): { guest: number; step: ImplWorldStep } | null {
  const index = w.running;
  const slot = w.guests[index]!;
  if (slot.end !== null) return null;
  const r = stepOnImpl(w.impl, w.view, slot.vmm);
  slot.vmm = r.vmm;
  slot.steps++;
  if (r.step.kind === 'end') slot.end = r.step.reason;
  w.quantumLeft--;
  const spent = w.quantumLeft <= 0 && !inMonitorOn(w.impl, slot.vmm);
  if (slot.end !== null || spent) {
    const to = nextRunnable(w, index);
    if (to !== null && to !== index) {
      slot.cpu = w.impl.state();
      slot.interruptShadow = w.impl.cpu.interruptShadow;
      slot.tlb = saveTlb(w.impl);
      const incoming = w.guests[to]!;
      w.impl.setState(incoming.cpu);
      restoreTlb(w.impl, incoming.tlb);
      w.impl.cpu.interruptShadow = incoming.interruptShadow;
      plugDevices(w.impl, incoming.devices);
      w.running = to;
      w.switches++;
    }
    w.quantumLeft = w.quantum;
  }
  return { guest: index, step: r.step };
}

/** The processor state of guest `index` now (live if it is the one running). */
export const guestCpu = (w: ImplGuests, index: number): CommonState => (index === w.running ? w.impl.state() : w.guests[index]!.cpu);

export const guestConsole = (slot: ImplGuestSlot): string => new TextDecoder('latin1').decode(Uint8Array.from(slot.devices.console));

export interface ImplGuestsRun {
  readonly world: ImplGuests;
  readonly steps: number;
  /** Each guest's console, its own stream. */
  readonly consoles: readonly string[];
}

/** Run until every guest has ended or `maxSteps` machine steps; `observe` sees every step (true stops the run). */
export function runGuestsOnImpl(world: GuestsWorld | ImplGuests, maxSteps: number, observe?: (s: { guest: number; step: ImplWorldStep }, w: ImplGuests) => boolean | void): ImplGuestsRun {
  const w = 'impl' in world ? world : guestsOnImpl(world);
  let n = 0;
  while (n < maxSteps) {
    const r = stepGuestsOnImpl(w);
    if (r === null) break;
    n++;
    if (observe?.(r, w) === true) break;
  }
  return { world: w, steps: n, consoles: w.guests.map(guestConsole) };
}

/**
 * [VMM.EQ] across processors, for several guests: what the model-hosted
 * run and the impl-hosted run of the same booted world must share — each
 * guest's console, end, number of steps, exits by reason, virtual CPU and
 * refusals, and the number of world switches. Null when they agree, else
 * the first difference.
 */
export function guestsDifference(model: { world: GuestsWorld; steps: number; consoles: readonly string[] }, impl: ImplGuestsRun): string | null {
  if (model.steps !== impl.steps) return `machine steps: model ${model.steps}, impl ${impl.steps}`;
  if (model.world.switches !== impl.world.switches) return `world switches: model ${model.world.switches}, impl ${impl.world.switches}`;
  for (const [i, m] of model.world.guests.entries()) {
    const g = impl.world.guests[i]!;
    const pairs: Array<[string, unknown, unknown]> = [
      ['console', model.consoles[i], impl.consoles[i]], ['end', m.end, g.end], ['steps', m.steps, g.steps],
      ['exits', m.vmm.exits, g.vmm.exits], ['virtual CPU', m.vmm.vcpu, g.vmm.vcpu], ['refusals', m.vmm.refusals, g.vmm.refusals],
    ];
    for (const [what, a, b] of pairs) {
      const x = JSON.stringify(a), y = JSON.stringify(b);
      if (x !== y) return `guest ${i} (${m.name}) ${what}: model ${x.slice(0, 300)}, impl ${y.slice(0, 300)}`;
    }
  }
  return null;
}
