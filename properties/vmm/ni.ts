// [VMM.NI] Non-interference: with two guests under the monitor, the second
// guest's observable behaviour (its console stream, its I/O trace, its end,
// its registers and its memory, partition and monitor frames, at the end)
// is the same whatever the first guest does. The first guest is hostile
// (ni-guests.ts); the second is the RTOS guest (meso build). Each run
// follows the second guest for a fixed number of its own steps.
import fc from 'fast-check';
import { join } from 'node:path';
import { pageBytes, type PhysicalMemory } from '../../model/cpu/memory';
import { MONITOR_FRAMES, PAGE } from '../../model/vmm/config';
import { bootGuests, runGuests, consoleText, type GuestsRules, type GuestsWorld, defaultGuestsRules } from '../../model/vmm/guests/world';
import { guestCpu, runGuestsOnImpl } from './impl-guests';
import { guestLayout } from '../../model/vmm/guests/layout';
import type { MemoryModeName } from '../../model/vmm/memory/types';
import type { ModeRules } from '../../model/vmm/memory/boot';
import { hostilePagedGuest, hostilePagedImage, type HostilePagedGuest } from './ni-guests';
import { checkModeStep } from './ni-invariants';
import { assembleFile } from '../assemble-file';

const GUESTS = join(import.meta.dirname, '..', '..', 'guests');
let victimImage: Uint8Array | null = null;
/** The observed guest: the RTOS, meso build. */
export function victim(): Uint8Array {
  if (victimImage === null) {
    const r = assembleFile(join(GUESTS, 'rtos', 'rtos.asm'), { format: 'bin', defines: { MESO: '' } });
    victimImage = r;
  }
  return victimImage;
}

/** Steps of its own the observed guest takes (the RTOS ends in about 4,300). */
export const VICTIM_STEPS = 5000;
const QUANTUM = 300;

function digest(memory: PhysicalMemory, start: number, bytes: number): string {
  let h = 0x811c9dc5;
  for (let a = start; a < start + bytes; a += PAGE) {
    const page = pageBytes(memory, a);
    if (page === undefined) continue;
    // A page of zeros counts as absent (impl's memory has every page, the model's only those written).
    let seen = false;
    for (let i = 0; i < PAGE; i += 4) {
      const w = page[i]! | (page[i + 1]! << 8) | (page[i + 2]! << 16) | (page[i + 3]! << 24);
      if (w === 0) continue;
      if (!seen) { seen = true; h = Math.imul(h ^ (a >>> 12), 0x01000193) >>> 0; }
      h = Math.imul(h ^ w ^ i, 0x01000193) >>> 0;
    }
  }
  return h.toString(16);
}

export interface VictimObservation {
  readonly console: string;
  readonly io: readonly string[];
  readonly end: string | null;
  readonly registers: string;
  readonly partition: string;
  readonly monitorFrames: string;
}

export interface NiOptions {
  readonly mode: MemoryModeName;
  readonly rules?: GuestsRules;
  readonly modeRules?: ModeRules;
  /** Check VMM.ISO/SEG/RING/RES (per mode) on every step of both guests (model only). */
  readonly invariants?: boolean;
  /** The processor under the monitor (default model; impl-guests.ts for impl). */
  readonly machine?: 'model' | 'impl';
}

/** Run hostile guest A beside the RTOS and observe the RTOS. */
export function observeVictim(a: HostilePagedGuest, o: NiOptions): VictimObservation {
  const b = bootGuests([{ name: 'hostile', image: hostilePagedImage(a) }, { name: 'rtos', image: victim() }], o.mode,
    { quantum: QUANTUM, rules: o.rules ?? defaultGuestsRules, modeRules: o.modeRules });
  if (b.kind !== 'ok') throw new Error(b.message);
  if (o.machine === 'impl') return observeVictimOnImpl(b.world, o);
  const boots = [0, 1].map((i) => ({ machine: { ...b.world.guests[i]!.cpu, memory: b.world.memory }, vmm: b.world.guests[i]!.vmm }));
  const io: string[] = [];
  let lastDevices = b.world.guests[1]!.cpu.devices;
  const r = runGuests(b.world, VICTIM_STEPS * 20, (s, w) => {
    if (o.invariants) {
      const v = checkModeStep(boots[s.guest]!, s, w);
      if (v !== null) throw new Error(`[${v.rule}] guest ${s.guest} (${o.mode}): ${v.message}`);
    }
    const victimSlot = w.guests[1]!;
    if (s.guest === 1 && victimSlot.cpu.devices !== lastDevices) {
      const d = victimSlot.cpu.devices;
      lastDevices = d;
      io.push(`${victimSlot.steps}: ${JSON.stringify({ pit: d.pit, master: d.master, slave: d.slave, exit: d.exitCode })}`);
    }
    return victimSlot.steps >= VICTIM_STEPS || victimSlot.end !== null;
  });
  const v = r.world.guests[1]!;
  const layout = guestLayout(1);
  return {
    console: consoleText(v.cpu.devices), io, end: v.end,
    registers: JSON.stringify({ regs: v.cpu.regs, eip: v.cpu.eip, eflags: v.cpu.eflags, vcpu: v.vmm.vcpu, stopped: v.vmm.stopped }),
    partition: digest(r.world.memory, layout.partitionBase, layout.partitionSize),
    monitorFrames: digest(r.world.memory, layout.monitorBase, MONITOR_FRAMES * PAGE),
  };
}

/** The same observation with impl as the processor: the I/O trace is impl's
 * devices (timer and PICs) each time they change during a step of the RTOS. */
function observeVictimOnImpl(world: GuestsWorld, o: NiOptions): VictimObservation {
  if (o.invariants === true) throw new Error('the invariants are checked on the model only');
  const io: string[] = [];
  let last = '';
  const r = runGuestsOnImpl(world, VICTIM_STEPS * 20, (s, w) => {
    const v = w.guests[1]!;
    if (s.guest === 1) {
      const d = v.devices;
      const now = JSON.stringify({ timer: [d.timerReload, d.timerCount, d.timerRunning], master: [d.master.irr, d.master.isr, d.master.imr], slave: [d.slave.irr, d.slave.isr, d.slave.imr], exit: d.exitCode });
      if (now !== last) { last = now; io.push(`${v.steps}: ${now}`); }
    }
    return v.steps >= VICTIM_STEPS || v.end !== null;
  });
  const v = r.world.guests[1]!;
  const cpu = guestCpu(r.world, 1);
  const layout = guestLayout(1);
  return {
    console: r.consoles[1]!, io, end: v.end,
    registers: JSON.stringify({ regs: [cpu.regs.eax, cpu.regs.ecx, cpu.regs.edx, cpu.regs.ebx, cpu.regs.esp, cpu.regs.ebp, cpu.regs.esi, cpu.regs.edi], eip: cpu.eip, eflags: cpu.eflags, vcpu: v.vmm.vcpu, stopped: v.vmm.stopped }),
    partition: digest(r.world.view, layout.partitionBase, layout.partitionSize),
    monitorFrames: digest(r.world.view, layout.monitorBase, MONITOR_FRAMES * PAGE),
  };
}

/** [VMM.NI] [MEM.NI.1] The RTOS's observation is the same beside two random hostile guests. */
export const nonInterference = (o: NiOptions) =>
  fc.property(hostilePagedGuest, hostilePagedGuest, (a1, a2) => {
    const x = observeVictim(a1, o), y = observeVictim(a2, o);
    for (const k of ['console', 'end', 'registers', 'partition', 'monitorFrames'] as const) {
      if (x[k] !== y[k]) throw new Error(`[VMM.NI] ${o.mode}${o.machine === 'impl' ? ' on impl' : ''}: the second guest's ${k} depends on the first: ${JSON.stringify(x[k]).slice(0, 300)} vs ${JSON.stringify(y[k]).slice(0, 300)}`);
    }
    if (JSON.stringify(x.io) !== JSON.stringify(y.io)) throw new Error(`[VMM.NI] ${o.mode}${o.machine === 'impl' ? ' on impl' : ''}: the second guest's I/O trace depends on the first`);
  });

/** [VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] [MEM.RES.1] The invariants on every step of both guests, hostile A beside the RTOS. */
export const invariantsBesideHostile = (o: NiOptions) =>
  fc.property(hostilePagedGuest, (a) => { observeVictim(a, { ...o, invariants: true }); });

// ---------------------------------------------------------------- mutants

export interface GuestsMutant {
  readonly name: string;
  readonly mode: MemoryModeName;
  readonly rules?: GuestsRules;
  readonly modeRules?: ModeRules;
  readonly killedBy: 'VMM.NI' | 'VMM.RES';
}

export const GUESTS_MUTANTS: readonly GuestsMutant[] = [
  {
    name: 'a frame of guest B reachable from guest A (partition bound of A checked against all of memory)', mode: 'shadow-single', killedBy: 'VMM.NI',
    rules: { ...defaultGuestsRules, enforcedConfig: (layout, index, size) => (index === 0 ? { ...layout, partitionSize: size } : layout) },
  },
  {
    name: 'a timer interrupt delivered to the wrong guest (pending IRQ 0 handed over at the switch)', mode: 'shadow-single', killedBy: 'VMM.NI',
    rules: {
      ...defaultGuestsRules,
      switchDevices: (out, inc) => ({
        outgoing: { ...out, master: { ...out.master, irr: out.master.irr & ~1 } },
        incoming: { ...inc, master: { ...inc.master, irr: inc.master.irr | (out.master.irr & 1) } },
      }),
    },
  },
  {
    name: "a guest's console bytes leaking into the other's stream (one console log for both)", mode: 'shadow-single', killedBy: 'VMM.NI',
    rules: { ...defaultGuestsRules, switchDevices: (out, inc) => ({ outgoing: out, incoming: { ...inc, console: out.console } }) },
  },
  { name: 'guest page-table page left writable (direct)', mode: 'direct', modeRules: { direct: { protectTables: false } }, killedBy: 'VMM.RES' },
];
