// [VMM.REFINE] gandalf refines the abstract monitor: the same guest image,
// run under gandalf (real IA-32 code on impl or the model) and under
// model/vmm (TypeScript exit handlers over the model), is indistinguishable
// to the guest. The two runs go in lock step, one guest-level unit at a time:
//
// - a guest instruction (CPL > 0, no exit): compared after it are the
//   guest's registers, EIP, EFLAGS (less the flags the model calls
//   undefined), its six segment registers with their hidden caches, and the
//   real CR0, CR3, CR4, GDTR, IDTR, LDTR and TR (what SMSW, SGDT, SIDT,
//   SLDT and STR show the guest);
// - an interrupt delivered straight to the guest through a direct gate;
// - an exit: from the event that entered the monitor to the IRET that
//   leaves it (any number of gandalf's own instructions; one 'exit' and one
//   'monitor' step of model/vmm). Compared after it, besides the above: the
//   virtual CPU (gandalf's at machine 0x9000), the exits by reason, the
//   refusals, the console, and every guest page the abstract run changed
//   since the previous exit. A write to a page-table page that gandalf's
//   direct mode single-steps (GANDALF.DIRECT.2) belongs to its page-fault
//   exit: the stepped instruction and the #DB exit that ends it are run
//   before the comparison, as model/vmm runs the write inside the exit.
// The real IDT, GDT, LDT and TSS too: gandalf keeps them at the machine
// addresses model/vmm does, so they must hold the same bytes.
// At the end: how the run ended, the console, and the whole partition.
//
// Time is not part of refinement (nor of equivalence, VMM.EQ): gandalf's
// exits cost instructions, model/vmm's cost none, so their timers fire at
// different guest instructions. The interrupts are therefore taken from the
// gandalf run: the model's timer is kept from firing on its own, and each
// interrupt gandalf's guest receives is raised in the model at the same
// guest instruction. So is the time-stamp counter (VMM.TSC.1): what an
// RDTSC, or an RDMSR of the TSC, gives the guest is gandalf's machine's
// count, which model/vmm's run cannot know; after such an instruction the
// model's EDX:EAX are taken from the gandalf run (and only then).
import type { CommonState, Machine, StepEvent } from '../../model/machine';
import { bootInMode } from '../../model/vmm/memory/boot';
import type { MemoryModeName } from '../../model/vmm/memory/types';
import { stepWorld, type WorldStep } from '../../model/vmm/run';
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import type { World } from '../../model/vmm/state';
import { consoleBytes, raiseIrq } from '../../model/cpu/devices';
import { toCommon, type MachineState } from '../../model/cpu/state';
import { readLinear } from '../../model/cpu/context';
import { changedPages, readBytes } from '../../model/cpu/memory';
import type { MachineKind } from '../machines';
import { bootGandalf, modeDefines } from './build';
import { ImplMachine } from '../../impl/machine';
import { modelExitsAsGandalfCounts, readGandalfVcpu } from './vcpu';
import { configFor } from '../../model/vmm/memory/boot';
import { withoutRule } from '../machines/model';
import { TF } from '../../model/isa/flags';
import { bootParaGuest, type ParaMemoryMode } from '../../model/vmm/para/boot';
import { defaultParaRules, type ParaRules } from '../../model/vmm/para/interface';
import { readGandalfPara } from './vcpu';

export interface RefinementOptions {
  /** Guest-level units to compare at most. */
  readonly maxUnits?: number;
  /** gandalf's -D defines (a mutant). */
  readonly defines?: Record<string, string>;
  /** The abstract monitor's rules (a model/vmm mutant, to test the checker the other way). */
  readonly rules?: VmmRules;
  /** The machine gandalf runs on (impl by default). */
  readonly machine?: MachineKind;
  /** At most this many of gandalf's own instructions in one exit. */
  readonly maxMonitorSteps?: number;
  /** The memory mode of both monitors (shadow-single by default). */
  readonly mode?: MemoryModeName;
  /** A para guest (spec/para.md): gandalf built with -DPARA, model/vmm's para monitor
   * (with these para rules: a model/vmm para mutant, to test the checker the other way). */
  readonly para?: boolean | ParaRules;
}

export interface RefinementResult {
  readonly units: number;
  readonly guestSteps: number;
  readonly exits: number;
  readonly monitorInstructions: number;
  readonly end: string;
  /** null when every comparison held. */
  readonly divergence: { readonly unit: number; readonly at: string; readonly differences: readonly string[] } | null;
  readonly console: string;
  /** gandalf's exits by reason at the end. */
  readonly exitsByReason: Readonly<Record<string, number>>;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const cpl = (s: CommonState): number => s.segments.cs.selector & 3;
/** CPL of a machine, without building its whole state on impl. */
const machineCpl = (m: Machine): number => (m instanceof ImplMachine ? m.cpu.segSelector[1]! & 3 : cpl(m.state()));
const isEnd = (e: StepEvent): boolean => e.kind === 'exit' || e.kind === 'shutdown' || e.kind === 'model-error';

/** What the guest can see of the real processor, field by field. */
export function guestStateDifferences(abstract: CommonState, real: CommonState, undefinedFlags: number): string[] {
  const out: string[] = [];
  const names = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
  for (const r of names) if (abstract.regs[r] !== real.regs[r]) out.push(`${r}: model/vmm ${hex(abstract.regs[r])} gandalf ${hex(real.regs[r])}`);
  if (abstract.eip !== real.eip) out.push(`eip: model/vmm ${hex(abstract.eip)} gandalf ${hex(real.eip)}`);
  if (((abstract.eflags ^ real.eflags) & ~undefinedFlags) !== 0) out.push(`eflags: model/vmm ${hex(abstract.eflags)} gandalf ${hex(real.eflags)} (undefined ${hex(undefinedFlags)})`);
  for (const [name, a] of Object.entries(abstract.segments)) {
    const b = real.segments[name as keyof CommonState['segments']];
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${name}: model/vmm ${JSON.stringify(a)} gandalf ${JSON.stringify(b)}`);
  }
  for (const k of ['cr0', 'cr3', 'cr4'] as const) if (abstract[k] !== real[k]) out.push(`real ${k}: model/vmm ${hex(abstract[k])} gandalf ${hex(real[k])}`);
  for (const k of ['gdtr', 'idtr', 'ldtr', 'tr'] as const) {
    if (JSON.stringify(abstract[k]) !== JSON.stringify(real[k])) out.push(`real ${k}: model/vmm ${JSON.stringify(abstract[k])} gandalf ${JSON.stringify(real[k])}`);
  }
  return out;
}

/** Does the guest instruction at the model's CS:EIP read the time-stamp
 * counter (RDTSC, or RDMSR with ECX = 0x10)? Prefixes aside; an
 * instruction the model's tables cannot fetch yet counts as no. */
function readsCounter(state: MachineState): boolean {
  const r = readLinear(state, (state.segments.cs.base + state.eip) >>> 0, 2, (state.segments.cs.selector & 3) === 3);
  if (r.kind !== 'ok') return false;
  const op = r.value.value;
  return op === 0x310f || (op === 0x320f && state.regs[1] === 0x10);
}

/** The guest's EDX:EAX as gandalf's machine left them (after a counter read). */
function withCounterOf(world: World, real: CommonState): World {
  const regs = world.machine.regs.slice();
  regs[0] = real.regs.eax;
  regs[2] = real.regs.edx;
  return { ...world, machine: { ...world.machine, regs } };
}

/** The model's timer never fires by itself: interrupts come from the gandalf run. */
function quiet(world: World): World {
  const pit = world.machine.devices.pit;
  if (!pit.running || pit.counter > 0x10000000) return world;
  return { ...world, machine: { ...world.machine, devices: { ...world.machine.devices, pit: { ...pit, counter: 0x3fffffff } } } };
}

/** Raise in the model the request that delivered `vector` in gandalf. */
function inject(world: World, vector: number): World {
  const d = world.machine.devices;
  const line = vector - d.master.vectorBase >= 0 && vector - d.master.vectorBase < 8 ? vector - d.master.vectorBase : 8 + vector - d.slave.vectorBase;
  return { ...world, machine: { ...world.machine, interruptShadow: false, devices: raiseIrq(d, line) } };
}

/** The console without gandalf's own messages (each '[gandalf] ...' to its line's end, wherever it starts). */
const stripGandalf = (text: string): string => text.replace(/\[gandalf\] [^\n]*\n?/g, '');

/** Run `guest` under both monitors in lock step and compare (see the top of this file). */
export function checkRefinement(guest: Uint8Array, options: RefinementOptions = {}): RefinementResult {
  const maxUnits = options.maxUnits ?? 1_000_000;
  const maxMonitor = options.maxMonitorSteps ?? 2_000_000;
  const mode = options.mode ?? 'shadow-single';
  const config = configFor(mode);
  const para = options.para === undefined || options.para === false ? null : options.para === true ? defaultParaRules : options.para;
  if (para !== null && mode === 'shadow-multi') throw new Error('a para guest runs single-shadow or direct (PARA.BOOT.2)');
  const boot = para !== null
    ? bootParaGuest(guest, config, options.rules ?? defaultRules, para, mode as ParaMemoryMode)
    : bootInMode(guest, mode, config, options.rules ?? defaultRules);
  if (boot.kind !== 'ok') throw new Error(`model/vmm refuses the guest: ${boot.message}`);
  let world = boot.world;
  const real: Machine = bootGandalf([guest], { machine: options.machine, defines: { ...modeDefines(mode), ...(para !== null ? { PARA: '' } : {}), ...options.defines } });
  const partition = { base: config.partitionBase, size: config.partitionSize };

  // gandalf's boot: run until its guest executes (CPL > 0) or it stops.
  let gandalfEnd: string | null = null;
  let monitorInstructions = 0;
  for (let n = 0; cpl(real.state()) === 0; n++) {
    const e = real.step();
    monitorInstructions++;
    if (isEnd(e) || e.kind === 'halted' || n > maxMonitor) { gandalfEnd = e.kind === 'exit' ? `exit ${e.code}` : e.kind; break; }
  }

  let units = 0, guestSteps = 0, exits = 0;
  let divergence: RefinementResult['divergence'] = null;
  let modelEnd: string | null = null;
  let undefinedFlags = 0;
  // The model's memory is a persistent trie: changedPages names the pages
  // written since an earlier version.
  let seen = world.machine.memory;
  const fail = (at: string, differences: string[]): void => { divergence = { unit: units, at, differences }; };

  /** Step the model world once (its timer quiet); records an end. */
  const modelStep = (): WorldStep => {
    const r = stepWorld(quiet(world));
    world = r.world;
    if (r.step.kind === 'guest' && r.step.event.kind === 'retired') undefinedFlags = world.machine.undefinedFlags;
    if (r.step.kind === 'end') modelEnd = r.step.reason;
    return r.step;
  };

  const compareGuest = (at: string): boolean => {
    const d = guestStateDifferences(toCommon(world.machine), real.state(), undefinedFlags);
    if (d.length > 0) { fail(at, d); return false; }
    return true;
  };

  const compareAfterExit = (at: string): boolean => {
    const g = readGandalfVcpu(real);
    const d: string[] = [];
    const v = world.vmm.vcpu;
    for (const k of ['cr0', 'cr2', 'cr3', 'cr4', 'ldtr', 'tr'] as const) if (v[k] !== g.vcpu[k]) d.push(`virtual ${k}: model/vmm ${hex(v[k])} gandalf ${hex(g.vcpu[k])}`);
    for (const k of ['gdtr', 'idtr'] as const) if (v[k].base !== g.vcpu[k].base || v[k].limit !== g.vcpu[k].limit) d.push(`virtual ${k}: model/vmm ${JSON.stringify(v[k])} gandalf ${JSON.stringify(g.vcpu[k])}`);
    const a = JSON.stringify(Object.entries(modelExitsAsGandalfCounts(world.vmm.exits)).sort());
    const b = JSON.stringify(Object.entries(g.exits).sort());
    if (a !== b) d.push(`exits by reason: model/vmm ${a} gandalf ${b}`);
    if (world.vmm.refusals.length < 64 && world.vmm.refusals.length !== g.refusals) d.push(`refusals: model/vmm ${world.vmm.refusals.length} gandalf ${g.refusals}`);
    // [GANDALF.PARA.1] The para state: the shared page, the held vector, the adopted tables, the requests counted.
    const mp = world.vmm.para;
    const gp = mp === undefined ? null : readGandalfPara(real);
    if (mp !== undefined && gp === null) d.push('para: gandalf has no para state (built without -DPARA)');
    if (mp !== undefined && gp !== null) {
      for (const k of ['shared', 'pending', 'mmuApplied', 'mmuRefused'] as const) if (mp[k] !== gp[k]) d.push(`para ${k}: model/vmm ${mp[k]} gandalf ${gp[k]}`);
      const ta = JSON.stringify(Object.entries(mp.tables).map(([f, l]) => [Number(f), l]).sort((x, y) => x[0]! - y[0]!));
      const tb = JSON.stringify(Object.entries(gp.tables).map(([f, l]) => [Number(f), l]).sort((x, y) => x[0]! - y[0]!));
      if (ta !== tb) d.push(`para adopted tables: model/vmm ${ta.slice(0, 200)} gandalf ${tb.slice(0, 200)}`);
    }
    const ca = Buffer.from(consoleBytes(world.machine.devices.console)).toString('latin1');
    const cb = Buffer.from(real.consoleOutput()).toString('latin1');
    if (ca !== cb) d.push(`console: model/vmm ${JSON.stringify(ca.slice(-80))} gandalf ${JSON.stringify(cb.slice(-80))}`);
    // The real tables: gandalf keeps them at the same machine addresses.
    for (const [name, offset, bytes] of [['IDT', 0x1000, 2048], ['GDT', 0x2000, 504 * 8], ['LDT', 0x4000, 4096], ['TSS', 0x3000, 0x68]] as const) {
      const at = config.monitorBase + offset;
      const mine = real.readPhysical(at, bytes);
      if (Buffer.compare(Buffer.from(mine), Buffer.from(readBytes(world.machine.memory, at, bytes))) === 0) continue;
      for (let i = 0; i < bytes; i += 8) {
        const theirs = readBytes(world.machine.memory, at + i, 8);
        if (Buffer.compare(Buffer.from(mine.subarray(i, i + 8)), Buffer.from(theirs)) !== 0) {
          d.push(`real ${name} bytes ${i}..${i + 7}: model/vmm ${Buffer.from(theirs).toString('hex')} gandalf ${Buffer.from(mine.subarray(i, i + 8)).toString('hex')}`);
          break;
        }
      }
    }
    // Guest memory: the pages the abstract run changed since the last exit.
    const now = world.machine.memory;
    for (const address of changedPages(seen, now, partition.base, partition.base + partition.size)) {
      if (d.length > 0) break;
      const mine = real.readPhysical(address, 4096);
      const theirs = readBytes(now, address, 4096);
      if (Buffer.compare(Buffer.from(mine), Buffer.from(theirs)) !== 0) {
        const i = mine.findIndex((x, k) => x !== theirs[k]);
        d.push(`guest-physical ${hex(address - partition.base + i)}: model/vmm ${theirs[i]} gandalf ${mine[i]}`);
      }
    }
    seen = now;
    if (d.length > 0) { fail(at, d); return false; }
    return true;
  };

  while (gandalfEnd === null && divergence === null && units < maxUnits) {
    units++;
    const before = real.state();
    const e = real.step();
    const after = real.state();
    const where = `${hex(before.segments.cs.selector)}:${hex(before.eip)}`;
    if (isEnd(e) || (e.kind === 'halted' && cpl(after) > 0)) {
      gandalfEnd = e.kind === 'exit' ? `exit ${e.code}` : e.kind;
      if (e.kind !== 'halted') break;
    }
    if (cpl(after) > 0) {
      // A guest instruction, or an interrupt through a direct gate.
      guestSteps++;
      if (e.kind === 'interrupt') world = inject(world, e.vector);
      const counter = e.kind === 'retired' && readsCounter(world.machine);
      const s = modelStep();
      if (s.kind !== 'guest' || s.event.kind !== e.kind) { fail(`guest step at ${where}`, [`model/vmm: ${s.kind} ${JSON.stringify(s.event)}; gandalf: ${JSON.stringify(e)}`]); break; }
      if (counter) world = withCounterOf(world, after);
      if (!compareGuest(`after the guest step at ${where}`)) break;
      continue;
    }
    // An exit: the event entered gandalf; run it until it returns to the guest.
    exits++;
    if (e.kind === 'interrupt') world = inject(world, e.vector);
    const counterExit = e.kind === 'exception' && e.vector === 13 && readsCounter(world.machine);
    const entry = modelStep();
    // The model's event names the rule that raised it; gandalf's machine does not (withoutRule).
    if (entry.kind !== 'exit' || JSON.stringify(withoutRule(entry.event)) !== JSON.stringify(withoutRule(e))) {
      fail(`exit at ${where}`, [`model/vmm: ${entry.kind} ${JSON.stringify(entry.event)}; gandalf: ${JSON.stringify(e)}`]);
      break;
    }
    const woke: number[] = [];
    let n = 0;
    for (; machineCpl(real) === 0 && n < maxMonitor; n++) {
      const m = real.step();
      if (m.kind === 'interrupt') woke.push(m.vector);
      if (isEnd(m) || (m.kind === 'halted' && (real.state().eflags & 0x200) === 0)) { gandalfEnd = m.kind === 'exit' ? `exit ${m.code}` : m.kind; break; }
    }
    monitorInstructions += n;
    if (n >= maxMonitor) { gandalfEnd = 'monitor step limit'; break; }
    if (gandalfEnd !== null) break;
    const back = modelStep();
    // [GANDALF.DIRECT.2] gandalf returned to the guest's instruction with TF
    // set where model/vmm has already run it (its guest's TF is clear, or it
    // stopped the guest): the one single-stepped instruction, and the exit
    // that ends it (the #DB, or a fault that stops the guest), belong to
    // this exit.
    if ((real.state().eflags & TF) !== 0 && (back.kind === 'end' || (world.machine.eflags & TF) === 0)) {
      const stepped = real.step();
      if (machineCpl(real) !== 0) { fail(`the single-stepped write at ${where}`, [`gandalf: ${JSON.stringify(stepped)}, no exit after it`]); break; }
      let k = 0;
      for (; machineCpl(real) === 0 && k < maxMonitor; k++) {
        const m = real.step();
        if (isEnd(m)) { gandalfEnd = m.kind === 'exit' ? `exit ${m.code}` : m.kind; break; }
      }
      monitorInstructions += k + 1;
      if (gandalfEnd !== null) break;
    }
    if (back.kind !== 'monitor') { fail(`return from the exit at ${where}`, [`model/vmm: ${back.kind} ${'reason' in back ? back.reason : ''}; gandalf returned to the guest`]); break; }
    // An emulated HLT that an interrupt ended: the model halted at the
    // guest's privilege; the same interrupt wakes it there.
    for (const v of woke) {
      world = inject(world, v);
      for (let k = 0; k < 4; k++) {
        const s = modelStep();
        if (s.kind === 'end') break;
        if (s.kind === 'guest' && s.event.kind === 'halted') continue;
        if (s.kind === 'guest' || s.kind === 'monitor') break;
      }
    }
    // An emulated RDTSC, or RDMSR of the TSC, that went past the instruction: gandalf's count.
    if (counterExit && world.machine.eip === ((before.eip + 2) >>> 0)) world = withCounterOf(world, real.state());
    if (!compareGuest(`after the exit at ${where} (${JSON.stringify(e)})`)) break;
    if (!compareAfterExit(`after the exit at ${where} (${JSON.stringify(e)})`)) break;
  }

  // The end: both runs over the same way, the same console, the same partition.
  if (divergence === null && gandalfEnd !== null) {
    for (let k = 0; k < 4 && modelEnd === null; k++) modelStep();
    const gEnd = gandalfEnd as string;
    const stoppedByGandalf = gEnd === 'exit 255' && readGandalfVcpu(real).stopped === 2;
    const mEnd: string = (modelEnd as string | null) ?? 'running';
    const same = stoppedByGandalf ? mEnd.startsWith('stopped') : gEnd === 'halted' ? mEnd === 'halted for good' : gEnd === mEnd;
    const d: string[] = [];
    if (!same) d.push(`end: model/vmm ${mEnd} gandalf ${gEnd}${stoppedByGandalf ? ' (stopped by gandalf)' : ''}`);
    const ca = Buffer.from(consoleBytes(world.machine.devices.console)).toString('latin1');
    const cb = stripGandalf(Buffer.from(real.consoleOutput()).toString('latin1'));
    if (ca !== cb) d.push(`console at the end: model/vmm ${JSON.stringify(ca.slice(-120))} gandalf ${JSON.stringify(cb.slice(-120))}`);
    for (let a = partition.base; a < partition.base + partition.size && d.length === 0; a += 4096) {
      const theirs = readBytes(world.machine.memory, a, 4096);
      const mine = real.readPhysical(a, 4096);
      if (Buffer.compare(Buffer.from(mine), Buffer.from(theirs)) !== 0) d.push(`guest-physical page ${hex(a - partition.base)} differs at the end`);
    }
    if (d.length > 0) fail('the end of the run', d);
  }
  return {
    units, guestSteps, exits, monitorInstructions, end: gandalfEnd ?? 'unit limit', divergence,
    console: Buffer.from(real.consoleOutput()).toString('latin1'), exitsByReason: readGandalfVcpu(real).exits,
  };
}
