// [VMM.REFINE] [VMM.NI] across worlds: gandalf built with -DWORLDS runs
// several guests (gandalf/worlds.inc), and each of them must be unable to
// tell gandalf from model/vmm's several-guests world (model/vmm/guests).
//
// The correspondence (spec/gandalf.md, GANDALF.WORLD.5) is per guest, on
// its own instruction stream. gandalf switches after a quantum of exits,
// model/vmm after a quantum of machine steps; neither quantum is visible to
// a guest (its time is its own, MEM.GUESTS.3, and time is not part of
// refinement, VMM.REFINE). So, as interrupts are taken from the gandalf run
// and raised in the model at the same guest instruction, the switches are
// too: the model's quantum never runs out, and when gandalf switches to
// guest k after an exit the model switches to guest k there (switchGuest).
// Compared, for the guest that runs, at every one of its instructions and
// after every one of its exits: what refine.ts compares for one guest, read
// from that guest's world (its frames, its virtual CPU, its console log,
// its partition); at a guest's end, how it ended; at the run's end, every
// guest's console and partition.
import fc from 'fast-check';
import type { CommonState, Machine, StepEvent } from '../../model/machine';
import { bootGuests, guestWorld, stepGuests, switchGuest, consoleText, type GuestsWorld } from '../../model/vmm/guests/world';
import { guestLayout, GUEST_SLOT, PARTITION_SIZE } from '../../model/vmm/guests/layout';
import type { WorldStep } from '../../model/vmm/run';
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import { raiseIrq, type Devices } from '../../model/cpu/devices';
import { toCommon } from '../../model/cpu/state';
import { changedPages, readBytes, type PhysicalMemory } from '../../model/cpu/memory';
import { withoutRule } from '../machines/model';
import type { MachineKind } from '../machines';
import { bootGandalf, buildGandalf } from './build';
import { guestStateDifferences } from './refine';
import { modelExitsAsGandalfCounts, readGandalfVcpu, type GandalfVcpu } from './vcpu';
import { checkRealResources, checkRealRing, checkRealSegments, checkRealTables, machineView, monitorMemory, type Violation } from './invariants';
import { gandalfOwnMemory } from './layout';
import { hostilePagedGuest, hostilePagedImage, type HostilePagedGuest } from '../vmm/ni-guests';
import { assembleSource } from '../assemble-file';

/** The -D define of the several-guests build. */
export const WORLDS_DEFINES: Readonly<Record<string, string>> = { WORLDS: '' };
/** gandalf/worlds.inc WORLDS_MAX: three 20 MiB slots inside its 64 MiB region. */
export const WORLDS_MAX = 3;
/** gandalf/worlds.inc STOP_EXIT_TOO_MANY: the exit value of a boot with too many guests (the machine's code is (v << 1) | 1). */
export const STOP_EXIT_TOO_MANY = 0x7e;

/** Machine address of world k's monitor frames (MEM.GUESTS.1, as model/vmm's guestLayout). */
export const worldFrames = (k: number): number => guestLayout(k).monitorBase;
const FRAME_WORLD = 0xc000, FRAME_CONSOLE_LOG = 0xc0000, FRAME_VCPU = 0x9000, STACK_TOP = 0x7000;
const END_EXIT = 0x100, END_STOPPED = 0x200, END_HALTED = 0x300;

export interface GandalfWorld {
  readonly index: number;
  /** 0 while it runs, else END_* | value (gandalf/worlds.inc). */
  readonly end: number;
  /** Its console stream, from its log (the first 64 KiB). */
  readonly console: string;
  readonly switchesIn: number;
  readonly vcpu: GandalfVcpu;
}

const dword = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/** [GANDALF.WORLD.3] World k's record, console log and virtual CPU, out of machine memory. */
export function readGandalfWorld(m: Machine, k: number): GandalfWorld {
  const rec = m.readPhysical(worldFrames(k) + FRAME_WORLD, 0x20);
  if (dword(rec, 0) !== 0x444c5257) throw new Error(`world ${k} has no record (magic ${dword(rec, 0).toString(16)})`);
  const count = dword(rec, 0x0c);
  const log = m.readPhysical(worldFrames(k) + FRAME_CONSOLE_LOG, Math.min(count, 0x10000));
  return { index: dword(rec, 4), end: dword(rec, 8), console: Buffer.from(log).toString('latin1'), switchesIn: dword(rec, 0x10), vcpu: readGandalfVcpu(m, worldFrames(k) + FRAME_VCPU) };
}

/** The world whose shadow directory the real CR3 holds (the running guest). */
export const worldOfCr3 = (cr3: number): number => Math.floor(((cr3 >>> 0) - PARTITION_SIZE) / GUEST_SLOT);

/** A world's end as model/vmm names a guest's end. */
export function endName(end: number): string | null {
  if (end === 0) return null;
  if ((end & 0xf00) === END_EXIT) return `exit ${(((end & 0xff) << 1) | 1)}`;
  if (end === END_STOPPED) return 'stopped';
  if (end === END_HALTED) return 'halted for good';
  return `unknown end ${end.toString(16)}`;
}
const sameEnd = (model: string, gandalf: string): boolean => (gandalf === 'stopped' ? model.startsWith('stopped') : model === gandalf);

/** The memory modes the several-guests build runs (gandalf/config.inc). */
export type WorldsMode = 'shadow-single' | 'shadow-multi';
const modeDefine = (mode: WorldsMode): Record<string, string> => (mode === 'shadow-multi' ? { MEMORY_MULTI: '' } : {});

export interface WorldsRefinementOptions {
  /** Both monitors' memory mode (shadow-single by default). */
  readonly mode?: WorldsMode;
  readonly maxUnits?: number;
  readonly defines?: Record<string, string>;
  readonly rules?: VmmRules;
  readonly machine?: MachineKind;
  readonly maxMonitorSteps?: number;
}

export interface WorldsRefinementResult {
  readonly units: number;
  readonly guestSteps: readonly number[];
  readonly exits: number;
  readonly switches: number;
  readonly ends: readonly (string | null)[];
  readonly consoles: readonly string[];
  readonly divergence: { readonly unit: number; readonly guest: number; readonly at: string; readonly differences: readonly string[] } | null;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const cpl = (s: CommonState): number => s.segments.cs.selector & 3;
const isEnd = (e: StepEvent): boolean => e.kind === 'exit' || e.kind === 'shutdown' || e.kind === 'model-error';

/** The running guest's devices, changed. */
function withDevices(w: GuestsWorld, k: number, f: (d: Devices) => Devices): GuestsWorld {
  const g = w.guests.slice();
  const slot = g[k]!;
  g[k] = { ...slot, cpu: { ...slot.cpu, devices: f(slot.cpu.devices) } };
  return { ...w, guests: g };
}
/** The model's timers never fire by themselves: interrupts come from the gandalf run (refine.ts). */
const quiet = (d: Devices): Devices => (!d.pit.running || d.pit.counter > 0x10000000 ? d : { ...d, pit: { ...d.pit, counter: 0x3fffffff } });
function raiseVector(d: Devices, vector: number): Devices {
  const line = vector - d.master.vectorBase >= 0 && vector - d.master.vectorBase < 8 ? vector - d.master.vectorBase : 8 + vector - d.slave.vectorBase;
  return raiseIrq(d, line);
}

/** Run `images` as guests 0, 1, ... under gandalf -DWORLDS and under model/vmm's several-guests world in lock step, and compare. */
export function checkWorldsRefinement(images: readonly Uint8Array[], options: WorldsRefinementOptions = {}): WorldsRefinementResult {
  const maxUnits = options.maxUnits ?? 4_000_000;
  const maxMonitor = options.maxMonitorSteps ?? 2_000_000;
  const mode = options.mode ?? 'shadow-single';
  const boot = bootGuests(images.map((image, i) => ({ name: `guest ${i}`, image })), mode, { quantum: 1e12, vmmRules: options.rules ?? defaultRules });
  if (boot.kind !== 'ok') throw new Error(`model/vmm refuses the guests: ${boot.message}`);
  let gw = boot.world;
  const real = bootGandalf(images, { machine: options.machine, defines: { ...WORLDS_DEFINES, ...modeDefine(mode), ...options.defines } });
  const n = images.length;
  let gandalfEnd: string | null = null;
  for (let i = 0; cpl(real.state()) === 0; i++) {
    const e = real.step();
    if (isEnd(e) || e.kind === 'halted' || i > maxMonitor) { gandalfEnd = e.kind === 'exit' ? `exit ${e.code}` : e.kind; break; }
  }
  let units = 0, exits = 0;
  const guestSteps = new Array<number>(n).fill(0);
  const modelEnds: (string | null)[] = new Array<string | null>(n).fill(null);
  const seen: PhysicalMemory[] = new Array<PhysicalMemory>(n).fill(gw.memory);
  let undefinedFlags = 0;
  let divergence: WorldsRefinementResult['divergence'] = null;
  const fail = (guest: number, at: string, differences: string[]): void => { divergence = { unit: units, guest, at, differences }; };

  const modelStep = (): WorldStep | null => {
    gw = withDevices(gw, gw.running, quiet);
    const r = stepGuests(gw);
    if (r === null) return null;
    gw = r.world;
    if (r.step.step.kind === 'guest' && r.step.step.event.kind === 'retired') undefinedFlags = r.step.after.machine.undefinedFlags;
    if (r.step.step.kind === 'end') modelEnds[r.step.guest] = r.step.step.reason;
    return r.step.step;
  };
  const inject = (vector: number): void => {
    gw = withDevices(gw, gw.running, (d) => raiseVector(d, vector));
    const g = gw.guests.slice();
    g[gw.running] = { ...g[gw.running]!, cpu: { ...g[gw.running]!.cpu, interruptShadow: false } };
    gw = { ...gw, guests: g };
  };
  const compareGuest = (k: number, at: string): boolean => {
    const d = guestStateDifferences(toCommon(guestWorld(gw, k).machine), real.state(), undefinedFlags);
    if (d.length > 0) { fail(k, at, d); return false; }
    return true;
  };
  const compareWorld = (k: number, at: string): boolean => {
    const g = readGandalfWorld(real, k);
    const slot = gw.guests[k]!;
    const d: string[] = [];
    const v = slot.vmm.vcpu;
    for (const r of ['cr0', 'cr2', 'cr3', 'cr4', 'ldtr', 'tr'] as const) if (v[r] !== g.vcpu.vcpu[r]) d.push(`virtual ${r}: model/vmm ${hex(v[r])} gandalf ${hex(g.vcpu.vcpu[r])}`);
    for (const r of ['gdtr', 'idtr'] as const) if (v[r].base !== g.vcpu.vcpu[r].base || v[r].limit !== g.vcpu.vcpu[r].limit) d.push(`virtual ${r}: model/vmm ${JSON.stringify(v[r])} gandalf ${JSON.stringify(g.vcpu.vcpu[r])}`);
    const a = JSON.stringify(Object.entries(modelExitsAsGandalfCounts(slot.vmm.exits)).sort());
    const b = JSON.stringify(Object.entries(g.vcpu.exits).sort());
    if (a !== b) d.push(`exits by reason: model/vmm ${a} gandalf ${b}`);
    if (slot.vmm.refusals.length < 64 && slot.vmm.refusals.length !== g.vcpu.refusals) d.push(`refusals: model/vmm ${slot.vmm.refusals.length} gandalf ${g.vcpu.refusals}`);
    const ca = consoleText(slot.cpu.devices);
    if (ca !== g.console) d.push(`console: model/vmm ${JSON.stringify(ca.slice(-80))} gandalf ${JSON.stringify(g.console.slice(-80))}`);
    const frames = worldFrames(k);
    for (const [name, offset, bytes] of [['IDT', 0x1000, 2048], ['GDT', 0x2000, 504 * 8], ['LDT', 0x4000, 4096], ['TSS', 0x3000, 0x68]] as const) {
      const mine = real.readPhysical(frames + offset, bytes);
      if (Buffer.compare(Buffer.from(mine), Buffer.from(readBytes(gw.memory, frames + offset, bytes))) !== 0) d.push(`real ${name} of guest ${k} differs`);
    }
    const layout = guestLayout(k);
    for (const address of changedPages(seen[k]!, gw.memory, layout.partitionBase, layout.partitionBase + layout.partitionSize)) {
      if (d.length > 0) break;
      const mine = real.readPhysical(address, 4096);
      const theirs = readBytes(gw.memory, address, 4096);
      if (Buffer.compare(Buffer.from(mine), Buffer.from(theirs)) !== 0) d.push(`guest-physical ${hex(address - layout.partitionBase)} of guest ${k} differs`);
    }
    seen[k] = gw.memory;
    if (d.length > 0) { fail(k, at, d); return false; }
    return true;
  };

  while (gandalfEnd === null && divergence === null && units < maxUnits) {
    units++;
    const before = real.state();
    const e = real.step();
    const after = real.state();
    const k = gw.running;
    const where = `guest ${k} at ${hex(before.segments.cs.selector)}:${hex(before.eip)}`;
    if (isEnd(e)) { gandalfEnd = e.kind === 'exit' ? `exit ${e.code}` : e.kind; break; }
    if (cpl(after) > 0) {
      if (worldOfCr3(after.cr3) !== k) { fail(k, where, [`gandalf runs guest ${worldOfCr3(after.cr3)}, model/vmm guest ${k}`]); break; }
      guestSteps[k]!++;
      if (e.kind === 'interrupt') inject(e.vector);
      const s = modelStep();
      if (s === null || s.kind !== 'guest' || s.event.kind !== e.kind) { fail(k, `guest step at ${where}`, [`model/vmm: ${JSON.stringify(s)}; gandalf: ${JSON.stringify(e)}`]); break; }
      if (!compareGuest(k, `after the guest step at ${where}`)) break;
      continue;
    }
    // An exit of guest k: gandalf runs until it returns to a guest (perhaps another).
    exits++;
    if (e.kind === 'interrupt') inject(e.vector);
    const entry = modelStep();
    if (entry === null || entry.kind !== 'exit' || JSON.stringify(withoutRule(entry.event)) !== JSON.stringify(withoutRule(e))) {
      fail(k, `exit at ${where}`, [`model/vmm: ${JSON.stringify(entry)}; gandalf: ${JSON.stringify(e)}`]);
      break;
    }
    const woke: number[] = [];
    let steps = 0, machineEnd: string | null = null;
    for (; cpl(real.state()) === 0 && steps < maxMonitor; steps++) {
      const m = real.step();
      if (m.kind === 'interrupt') woke.push(m.vector);
      if (isEnd(m) || (m.kind === 'halted' && (real.state().eflags & 0x200) === 0)) { machineEnd = m.kind === 'exit' ? `exit ${m.code}` : m.kind; break; }
    }
    if (steps >= maxMonitor) { fail(k, where, ['gandalf did not return from the exit']); break; }
    const ended = endName(readGandalfWorld(real, k).end);
    if (ended !== null) {
      // [GANDALF.WORLD.4] Guest k's run ended in this exit: so must the model's.
      for (let i = 0; i < 4 && modelEnds[k] === null; i++) modelStep();
      if (modelEnds[k] === null || !sameEnd(modelEnds[k]!, ended)) { fail(k, `the end of guest ${k} at ${where}`, [`model/vmm: ${modelEnds[k]}; gandalf: ${ended}`]); break; }
      if (!compareWorld(k, `the end of guest ${k}`)) break;
      if (machineEnd !== null) { gandalfEnd = machineEnd; break; }
    } else {
      if (machineEnd !== null) { fail(k, where, [`gandalf's machine ended (${machineEnd}) while guest ${k} runs`]); break; }
      const back = modelStep();
      if (back === null || back.kind !== 'monitor') { fail(k, `return from the exit at ${where}`, [`model/vmm: ${JSON.stringify(back)}; gandalf returned to the guest`]); break; }
      for (const v of woke) {
        inject(v);
        for (let i = 0; i < 4; i++) {
          const s = modelStep();
          if (s === null || s.kind === 'end') break;
          if (s.kind === 'guest' && s.event.kind === 'halted') continue;
          if (s.kind === 'guest' || s.kind === 'monitor') break;
        }
      }
      if (!compareWorld(k, `after the exit at ${where} (${JSON.stringify(e)})`)) break;
    }
    // [GANDALF.WORLD.5] gandalf's switch, taken over by the model.
    const next = worldOfCr3(real.state().cr3);
    if (next !== gw.running) {
      if (modelEnds[next] !== null) { fail(next, where, [`gandalf switched to guest ${next}, whose run has ended under model/vmm`]); break; }
      gw = switchGuest(gw, next);
    }
    if (!compareGuest(next, `after the exit at ${where}, in guest ${next}`)) break;
  }

  if (divergence === null && gandalfEnd !== null) {
    const d: string[] = [];
    for (let k = 0; k < n; k++) {
      const g = readGandalfWorld(real, k);
      const ge = endName(g.end);
      if (ge === null || modelEnds[k] === null || !sameEnd(modelEnds[k]!, ge)) d.push(`guest ${k}'s end: model/vmm ${modelEnds[k]} gandalf ${ge}`);
      const ca = consoleText(gw.guests[k]!.cpu.devices);
      if (ca !== g.console) d.push(`guest ${k}'s console at the end: model/vmm ${JSON.stringify(ca.slice(-100))} gandalf ${JSON.stringify(g.console.slice(-100))}`);
      const layout = guestLayout(k);
      for (let a = layout.partitionBase; a < layout.partitionBase + layout.partitionSize && d.length === 0; a += 4096) {
        if (Buffer.compare(Buffer.from(real.readPhysical(a, 4096)), Buffer.from(readBytes(gw.memory, a, 4096))) !== 0) d.push(`guest ${k}'s page ${hex(a - layout.partitionBase)} differs at the end`);
      }
    }
    if (d.length > 0) fail(-1, 'the end of the run', d);
  }
  const worlds = Array.from({ length: n }, (_, k) => (gandalfEnd === 'unknown' ? null : readGandalfWorld(real, k)));
  return {
    units, guestSteps, exits, switches: gw.switches, divergence,
    ends: worlds.map((w) => (w === null ? null : endName(w.end))), consoles: worlds.map((w) => w?.console ?? ''),
  };
}

// ---------------------------------------------------------------- invariants

export interface WorldsAudit {
  readonly steps: number;
  readonly switches: number;
  readonly end: string;
  readonly violation: { readonly step: number; readonly guest: number; readonly violation: Violation } | null;
}

/**
 * [VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] on gandalf's real state with
 * several guests, each world against its own bounds: the checks of
 * audit.ts for the running world after every step, and, at every world
 * switch, VMM.SEG and VMM.RES for the tables of every world (each read
 * through that world's own real CR3, GDTR and LDTR as the switch left them).
 */
export function auditWorlds(images: readonly Uint8Array[], options: { mode?: WorldsMode; defines?: Record<string, string>; maxSteps?: number; machine?: MachineKind } = {}): WorldsAudit {
  const mode = options.mode ?? 'shadow-single';
  const defines = { ...WORLDS_DEFINES, ...modeDefine(mode), ...options.defines };
  const maxSteps = options.maxSteps ?? 20_000_000;
  const machine = bootGandalf(images, { defines, machine: options.machine });
  const view = machineView(machine);
  const imageLength = (buildGandalf(defines).length + 0xfff) & ~0xfff;
  const bounds = (k: number) => ({ vmmBase: 0xfc000000, partitionBase: guestLayout(k).partitionBase, partitionSize: PARTITION_SIZE });
  // Guest k's own memory: its frames' ranges as audit.ts names them, at its frames; gandalf's image is guest 0's.
  const own = (k: number): Uint8Array => {
    const tables = readGandalfVcpu(machine, worldFrames(k) + FRAME_VCPU).tablesInUse;
    const ranges = gandalfOwnMemory(imageLength, tables, mode).map(([a, l, t]) => [a + worldFrames(k), l, t] as [number, number, boolean]);
    return monitorMemory(view, [...ranges.filter(([a]) => k === 0 || a < worldFrames(k) + 0x100000 || a >= worldFrames(k) + 0x200000), [worldFrames(k) + FRAME_WORLD, 0x1000, false]]);
  };
  const boots = new Map<number, CommonState>();
  const frozen = new Map<number, CommonState>();
  let steps = 0, switches = 0, end = 'step limit', running = 0;
  let violation: WorldsAudit['violation'] = null;
  let snapshot: Uint8Array | null = null;
  let last: CommonState | null = null;
  let previousHalted = false;
  const found = (k: number, v: Violation | null): boolean => { if (v !== null) violation = { step: steps, guest: k, violation: v }; return v !== null; };
  while (steps < maxSteps && violation === null) {
    const before = view.position();
    const e = machine.step();
    steps++;
    if (isEnd(e)) { end = e.kind === 'exit' ? `exit ${e.code}` : e.kind; break; }
    if (e.kind === 'halted') { if (previousHalted) { end = 'halted for good'; break; } previousHalted = true; continue; }
    previousHalted = false;
    const after = view.position();
    if (boots.size === 0 && after.cpl === 0) continue;
    const s0 = after.cpl > 0 ? view.state() : null;
    const k = s0 !== null ? worldOfCr3(s0.cr3) : running;
    if (found(k, checkRealRing(view, bounds(k)))) break;
    if (s0 !== null) {
      if (before.cpl === 0) {
        if (!boots.has(k)) boots.set(k, s0);
        if (k !== running) {
          switches++;
          if (last !== null) frozen.set(running, last);
          // Every world's tables, read through its own registers (a switched-out world's as it left them).
          for (const [j, sj] of frozen) {
            if (j === k) continue;
            if (found(j, checkRealTables(view, bounds(j), sj)) || found(j, checkRealResources(view, bounds(j), boots.get(j)!, sj))) break;
          }
          if (violation !== null) break;
          running = k;
        }
        if (found(k, checkRealTables(view, bounds(k), s0)) || found(k, checkRealResources(view, bounds(k), boots.get(k)!, s0))) break;
        snapshot = own(k);
      }
      if (found(k, checkRealSegments(view, bounds(k), s0))) break;
      last = s0;
    } else if (before.cpl > 0 && snapshot !== null) {
      const now = own(running);
      const i = now.findIndex((b, j) => b !== snapshot![j]);
      if (now.length !== snapshot.length || i >= 0) found(running, { rule: 'VMM.ISO', message: `a step of guest ${running} changed gandalf's memory (byte ${i} of its own ranges)` });
    }
  }
  return { steps, switches, end, violation };
}

// ---------------------------------------------------------------- non-interference

export interface GandalfVictimObservation {
  readonly console: string;
  readonly end: string | null;
  readonly registers: string;
  readonly vcpu: string;
  readonly partition: string;
}

/**
 * Run guest A beside guest B (the observed one) under gandalf -DWORLDS to the
 * end and observe B in its world: its console log, its end, its registers
 * as its frame on its own monitor stack holds them, its virtual CPU and
 * exits, and a digest of its partition.
 */
export function observeGandalfVictim(a: Uint8Array, b: Uint8Array, options: { defines?: Record<string, string>; maxSteps?: number } = {}): GandalfVictimObservation {
  const machine = bootGandalf([a, b], { defines: { ...WORLDS_DEFINES, ...options.defines } });
  const maxSteps = options.maxSteps ?? 20_000_000;
  for (let i = 0; i < maxSteps; i++) {
    const e = machine.step();
    if (isEnd(e)) break;
    if (e.kind === 'halted' && (machine.state().eflags & 0x200) === 0) break;
    if (i % 4096 === 0 && dword(machine.readPhysical(worldFrames(1) + FRAME_WORLD, 12), 8) !== 0) break; // its end (W_END)
  }
  const w = readGandalfWorld(machine, 1);
  const frame = machine.readPhysical(worldFrames(1) + STACK_TOP - 60, 60);
  const layout = guestLayout(1);
  let h = 0x811c9dc5;
  for (let p = 0; p < layout.partitionSize; p += 4096) {
    const page = machine.readPhysical(layout.partitionBase + p, 4096);
    for (let i = 0; i < 4096; i += 4) { const x = dword(page, i); if (x !== 0) h = Math.imul(h ^ x ^ (p + i), 0x01000193) >>> 0; }
  }
  const { exits, vcpu, refusals, stopped } = w.vcpu;
  return {
    console: w.console, end: endName(w.end),
    registers: Array.from({ length: 15 }, (_, i) => dword(frame, 4 * i).toString(16)).filter((_, i) => i !== 3 && i !== 8 && i !== 9).join(' '),
    vcpu: JSON.stringify({ vcpu, exits, refusals, stopped }), partition: h.toString(16),
  };
}

/**
 * [VMM.NI] over gandalf: the RTOS, as guest 1, observes the same beside two
 * random hostile guests 0 (properties/vmm/ni-guests.ts, as VMM.NI on
 * model/vmm). Time is left out, as in VMM.REFINE (GANDALF.WORLD.5): the
 * observation is what B leaves and prints, not when its ticks arrive.
 */
export const gandalfNonInterference = (victim: Uint8Array, defines: Record<string, string> = {}) =>
  fc.property(hostilePagedGuest, hostilePagedGuest, (a1: HostilePagedGuest, a2: HostilePagedGuest) => {
    const x = observeGandalfVictim(hostilePagedImage(a1), victim, { defines });
    const y = observeGandalfVictim(hostilePagedImage(a2), victim, { defines });
    for (const k of ['console', 'end', 'registers', 'vcpu', 'partition'] as const) {
      if (x[k] !== y[k]) throw new Error(`[VMM.NI] gandalf: guest 1's ${k} depends on guest 0: ${JSON.stringify(x[k]).slice(-300)} vs ${JSON.stringify(y[k]).slice(-300)}`);
    }
  });

/**
 * A first guest that, again and again, reprograms the interrupt controllers
 * as no other guest does (vectors at 0x50 and 0x58, every line masked) and
 * prints a dot, then ends through the exit port: beside it, a guest whose PIC
 * were not its own would lose its timer. `quiet` prints the same without
 * touching the PIC. Directed companions of the random hostile guests.
 */
export function picGuest(reprogram: boolean): Uint8Array {
  const pic = reprogram ? `
    mov al, 0x11
    out 0x20, al
    out 0xA0, al
    mov al, 0x50
    out 0x21, al
    mov al, 0x58
    out 0xA1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xA1, al
    mov al, 1
    out 0x21, al
    out 0xA1, al
    mov al, 0xFF
    out 0x21, al
    out 0xA1, al` : '';
  const source = `bits 32
org 0x100000
    dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000), 0x100000, 0x100000, image_end, 0, start
start:
    mov ecx, 200
.print:${pic}
    mov al, '.'
    out 0xE9, al
    loop .print
    mov al, 0
    out 0xF4, al
image_end:
`;
  return assembleSource('pic.asm', source);
}

/** [VMM.NI] The directed pair: the observed guest beside the PIC-reprogramming guest and beside the quiet one. */
export function picNonInterference(victim: Uint8Array, defines: Record<string, string> = {}): string | null {
  const x = observeGandalfVictim(picGuest(true), victim, { defines });
  const y = observeGandalfVictim(picGuest(false), victim, { defines });
  for (const k of ['console', 'end', 'registers', 'vcpu', 'partition'] as const) {
    if (x[k] !== y[k]) return `[VMM.NI] gandalf: guest 1's ${k} depends on guest 0's PIC: ${JSON.stringify(x[k]).slice(-200)} vs ${JSON.stringify(y[k]).slice(-200)}`;
  }
  return null;
}
