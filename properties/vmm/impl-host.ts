// The monitor with impl as the processor (spec/vmm.md §8, first step).
// Guest instructions run on impl; when impl delivers an event into the
// monitor, the one monitor of model/vmm handles the exit on a model view of
// impl's state, and what it changed is written back to impl:
// - memory: the model state's memory reads impl's RAM (memoryOver, no copy);
//   the model writes copy-on-write, so the pages the monitor wrote are
//   exactly those changedPages names, and only they are copied back;
// - registers: through Machine.setState; impl's TLB is kept across it and
//   given to the monitor as the model state's TLB, so the monitor's flushes
//   (all of it, or the pages it invalidates) are exactly the ones impl makes
//   (a wider flush would let impl see a guest's page-table edit that the
//   model, keeping its stale entry, does not: found by test/vmm/impl-guests);
// - devices: an emulated IN or OUT of a port the monitor gives the guest
//   (GUEST_PORTS) is performed on impl's own devices; for every other exit
//   the monitor sees impl's interrupt controllers as the model's and what it
//   leaves there is written back (the para interface holds interrupts and
//   delivers them late), with the console bytes it writes (the para console
//   hypercall) appended to impl's console.
// After the monitor's IRET the adapter applies its "halt now" and "keep
// the interrupt shadow" to impl, as stepWorld does on the model.
import { ImplMachine } from '../../impl/machine';
import { fromCommon, initialState, toCommon, type MachineState } from '../../model/cpu/state';
import { changedPages, memoryOver, readBytes, PAGE_SIZE, type PhysicalMemory } from '../../model/cpu/memory';
import { initialDevices, type Devices as ModelDevices } from '../../model/cpu/devices';
import type { Devices } from '../../impl/devices';
import type { CommonState, StepEvent } from '../../model/machine';
import { emptyTlb, tlbInsert, tlbLookup, type Tlb } from '../../model/cpu/tlb';
import { TLB_DIRTY, TLB_LARGE, TLB_USER, TLB_WRITABLE, filledPages, setTlbEntry } from '../../impl/paging';
import { bootGuest } from '../../model/vmm/boot';
import { handleExit } from '../../model/vmm/exits';
import { handleParaExit } from '../../model/vmm/para/exits';
import { readFrame } from '../../model/vmm/frame';
import { fetchGuestInstruction, guestView, GUEST_PORTS } from '../../model/vmm/emulate';
import { DEFAULT_CONFIG, machineMemorySize, type VmmConfig } from '../../model/vmm/config';
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import type { VmmState, World } from '../../model/vmm/state';

/** impl's TLB as the model's: the entries impl holds, in the model's form. */
function modelTlb(impl: ImplMachine): Tlb {
  const cpu = impl.cpu;
  let tlb = emptyTlb;
  for (const page of filledPages(cpu)) {
    const e = cpu.tlb[page]!;
    tlb = tlbInsert(tlb, page << 12, {
      frame: (e & ~0xfff) >>> 0, user: (e & TLB_USER) !== 0, writable: (e & TLB_WRITABLE) !== 0, dirty: (e & TLB_DIRTY) !== 0, large: (e & TLB_LARGE) !== 0,
    });
  }
  return tlb;
}

/** The TLB entries impl holds now (page numbers and entries), to put back after a setState. */
export function saveTlb(impl: ImplMachine): { pages: number[]; entries: number[] } {
  const pages = filledPages(impl.cpu);
  return { pages, entries: pages.map((p) => impl.cpu.tlb[p]!) };
}

/** Put back entries saveTlb took (after a setState emptied the TLB). */
export function restoreTlb(impl: ImplMachine, saved: { pages: number[]; entries: number[] }): void {
  const cpu = impl.cpu;
  saved.pages.forEach((p, i) => setTlbEntry(cpu, p, saved.entries[i]!));
}

/** Write the state the monitor left to impl; the TLB loses exactly what the monitor's TLB lost. */
function writeBack(impl: ImplMachine, state: CommonState, before: Tlb, after: Tlb): void {
  const saved = after === emptyTlb ? null : saveTlb(impl);
  impl.setState(state);
  if (saved === null) return;
  if (after !== before) {
    const kept = saved.pages.map((p) => tlbLookup(after, p << 12) !== undefined);
    restoreTlb(impl, { pages: saved.pages.filter((_, i) => kept[i]), entries: saved.entries.filter((_, i) => kept[i]) });
  } else {
    restoreTlb(impl, saved);
  }
}

/** impl's interrupt controllers, exit port, channel-0 count and idle ticks
 * (so that the model's clock, IO.CLOCK.1, is impl's) as the model's
 * devices (the console empty: the bytes a monitor writes are appended, see
 * writeDevices; every other device at its reset state, which no exit but
 * an emulated port access reads). */
function modelDevices(d: Devices): ModelDevices {
  const pic = (p: Devices['master']): ModelDevices['master'] => ({
    irr: p.irr, isr: p.isr, imr: p.imr, vectorBase: p.vectorBase, expect: p.initStep as 0 | 2 | 3 | 4, needIcw4: p.needIcw4, single: p.single, readIsr: p.readIsr, autoEoi: p.autoEoi,
  });
  return {
    ...initialDevices, exitCode: d.exitCode, master: pic(d.master), slave: pic(d.slave), idleTicks: d.idleTicks,
    pit: { ...initialDevices.pit, reload: d.timerReload & 0xffff, counter: d.timerCount, running: d.timerRunning },
  };
}

/** Write back what an exit other than a port access left in the devices: the
 * PICs (the para interface holds and delivers interrupts late), channel 0's
 * count, the exit port and the console bytes. Any other device change there would be an
 * adapter gap, and is reported as such. */
function writeDevices(d: Devices, view: ModelDevices, m: ModelDevices): void {
  // Time may pass (direct paging steps the guest's faulting write inside
  // the monitor): channel 0 counts down, the clock follows the instruction
  // count written back with the registers. Anything else would be a gap.
  const p = m.pit, v = view.pit;
  if (p.reload !== v.reload || p.mode !== v.mode || p.access !== v.access || p.pendingLow !== v.pendingLow || p.readHigh !== v.readHigh
    || p.latched !== v.latched || p.status !== v.status || m.channel2 !== view.channel2 || m.uart !== view.uart || m.cmos !== view.cmos || m.portB !== view.portB) {
    throw new Error('impl host: the monitor reprogrammed a timer, UART or CMOS outside an emulated port access');
  }
  d.timerCount = p.counter; d.timerRunning = p.running;
  const written: number[] = [];
  for (let log = m.console; log !== null; log = log.previous) written.push(log.byte);
  for (let i = written.length - 1; i >= 0; i--) d.console.push(written[i]!);
  d.exitCode = m.exitCode;
  for (const [to, from] of [[d.master, m.master], [d.slave, m.slave]] as const) {
    to.irr = from.irr; to.isr = from.isr; to.imr = from.imr; to.vectorBase = from.vectorBase;
    to.initStep = from.expect; to.needIcw4 = from.needIcw4; to.single = from.single; to.readIsr = from.readIsr; to.autoEoi = from.autoEoi;
  }
}

/** The part of a model state impl does not hold (its devices are impl's own). */
const BLANK: MachineState = { ...initialState(0), devices: initialDevices };

export interface ImplRun {
  readonly console: string;
  readonly end: string;
  readonly steps: number;
  readonly vmm: VmmState;
}

const inMonitorOn = (impl: ImplMachine, config: VmmConfig): boolean =>
  (impl.cpu.segSelector[1]! & 3) === 0 && impl.cpu.eip >>> 0 >= config.vmmBase;

/** What one step of a guest on impl was, as model/vmm/run.ts's WorldStep says it (without the states). */
export type ImplWorldStep =
  | { readonly kind: 'guest' | 'exit' | 'monitor'; readonly event: StepEvent }
  | { readonly kind: 'end'; readonly reason: string; readonly event: StepEvent | null };

/**
 * [VMM.RUN.1] One step of a guest under the monitor, impl as its processor:
 * the same cases, in the same order and with the same end reasons, as
 * stepWorld on the model. `vmm` is the guest's monitor state; the step
 * returns the new one.
 */
export function stepOnImpl(impl: ImplMachine, view: PhysicalMemory, vmm: VmmState): { vmm: VmmState; step: ImplWorldStep } {
  if (vmm.stopped !== null) return { vmm, step: { kind: 'end', reason: `stopped: ${vmm.stopped}`, event: null } };
  const config = vmm.config;
  if (inMonitorOn(impl, config)) {
    // The monitor's IRET, executed by impl; then what the exit asked for.
    const e = impl.step();
    if (e.kind === 'retired' && !inMonitorOn(impl, config)) {
      impl.cpu.halted ||= vmm.afterReturn.halt;
      impl.cpu.interruptShadow ||= vmm.afterReturn.interruptShadow;
    }
    const next = { ...vmm, afterReturn: { halt: false, interruptShadow: false } };
    // (A write to the exit port during the exit shows as this step's event, as on the model.)
    if (e.kind === 'exit') return { vmm: next, step: { kind: 'end', reason: `exit ${e.code}`, event: e } };
    if (e.kind !== 'retired') return { vmm: next, step: { kind: 'end', reason: `the monitor's return failed: ${JSON.stringify(e)}`, event: e } };
    return { vmm: next, step: { kind: 'monitor', event: e } };
  }
  const wasHalted = impl.cpu.halted;
  const event: StepEvent = impl.step();
  switch (event.kind) {
    case 'exception':
    case 'interrupt':
      if (inMonitorOn(impl, config)) return { vmm: exitOnImpl(impl, view, vmm, event), step: { kind: 'exit', event } };
      return { vmm, step: { kind: 'guest', event } };
    case 'retired': return { vmm, step: { kind: 'guest', event } };
    case 'halted':
      if (wasHalted) return { vmm, step: { kind: 'end', reason: 'halted for good', event } };
      return { vmm, step: { kind: 'guest', event } };
    case 'exit': return { vmm, step: { kind: 'end', reason: `exit ${event.code}`, event } };
    case 'shutdown': return { vmm, step: { kind: 'end', reason: `shutdown: ${event.reason}`, event } };
    case 'model-error': return { vmm, step: { kind: 'end', reason: `model error: ${event.message}`, event } };
  }
}

/** An impl machine holding a booted world's memory, and a live model view of that memory. */
export function implFor(memory: PhysicalMemory, size: number): { impl: ImplMachine; view: PhysicalMemory } {
  const impl = new ImplMachine(size);
  impl.writePhysical(0, readBytes(memory, 0, size));
  return { impl, view: memoryOver(impl.cpu.memory.bytes) };
}

/** Run `image` as a guest of the monitor with impl as the processor
 * (`booted`: a world already booted, e.g. in a memory mode; its config must be `config`).
 * `observe` sees every step (return true to stop after it). */
export function runOnImpl(image: Uint8Array, maxSteps: number, rules: VmmRules = defaultRules, config: VmmConfig = DEFAULT_CONFIG, booted?: World,
  observe?: (impl: ImplMachine, vmm: VmmState, step: ImplWorldStep) => boolean | void,
  prepare?: (impl: ImplMachine, view: PhysicalMemory) => void): ImplRun {
  const boot = booted !== undefined ? { kind: 'ok' as const, world: booted } : bootGuest(image, config, rules);
  if (boot.kind !== 'ok') throw new Error(boot.message);
  const { impl, view } = implFor(boot.world.machine.memory, machineMemorySize(config));
  impl.setState(toCommon(boot.world.machine));
  prepare?.(impl, view);
  let vmm = boot.world.vmm;
  let end = 'step limit', steps = 0;
  while (steps < maxSteps) {
    if (vmm.stopped !== null) { end = `stopped: ${vmm.stopped}`; break; }
    const r = stepOnImpl(impl, view, vmm);
    vmm = r.vmm;
    steps++;
    const stop = observe?.(impl, vmm, r.step) === true;
    if (r.step.kind === 'end') { end = r.step.reason; break; }
    if (stop) break;
  }
  return { console: new TextDecoder('latin1').decode(impl.consoleOutput()), end, steps, vmm };
}

/** Handle one exit with the model's monitor on a view of impl's state (its memory, TLB and devices), and write back what it changed. */
function exitOnImpl(impl: ImplMachine, view: PhysicalMemory, vmm: VmmState, event: Extract<StepEvent, { kind: 'exception' | 'interrupt' }>): VmmState {
  const tlb = modelTlb(impl);
  const devices = modelDevices(impl.cpu.devices);
  const machine = { ...fromCommon({ ...BLANK, memory: view }, impl.state()), tlb, devices };
  const world: World = { machine, vmm };
  // The port access the monitor is about to emulate, if it is one (VMM.EXIT.5):
  // performed on impl's own devices instead (they are richer than the view above).
  const port = trappedPort(world, event);
  const handled = (vmm.para !== undefined ? handleParaExit : handleExit)(world, event);
  // Memory: copy back the pages the monitor wrote (no longer the live views).
  const after = handled.machine.memory;
  for (const page of changedPages(view, after)) impl.writePhysical(page, readBytes(after, page, PAGE_SIZE));
  let state = toCommon(handled.machine);
  if (port !== null && GUEST_PORTS.has(port.port)) {
    if (handled.vmm.stopped === null) {
      const d = impl.cpu.devices;
      if (port.isIn) {
        const value = d.in(port.port, port.bytes);
        const mask = port.bytes === 4 ? 0xffffffff : port.bytes === 2 ? 0xffff : 0xff;
        state = { ...state, regs: { ...state.regs, eax: ((state.regs.eax & ~mask) | (value & mask)) >>> 0 } };
      } else {
        d.out(port.port, port.bytes, machine.regs[0]!);
      }
    }
  } else if (handled.machine.devices !== devices) {
    writeDevices(impl.cpu.devices, devices, handled.machine.devices);
  }
  writeBack(impl, state, tlb, handled.machine.tlb);
  return handled.vmm;
}

/** The IN or OUT (port and width) whose #GP(0) entered the monitor, or null. */
function trappedPort(world: World, event: StepEvent): { isIn: boolean; port: number; bytes: number } | null {
  if (event.kind !== 'exception' || event.vector !== 13 || event.errorCode !== 0) return null;
  const frame = readFrame(world.machine, world.vmm.config, true);
  const fetched = (frame.cs & 3) === 1 ? fetchGuestInstruction(world, guestView(world, frame)) : null;
  const i = fetched?.instruction;
  if (i === undefined || (i.mnemonic !== 'in' && i.mnemonic !== 'out')) return null;
  const isIn = i.mnemonic === 'in';
  const data = isIn ? i.operands[0] : i.operands[1];
  const p = isIn ? i.operands[1] : i.operands[0];
  if (data?.kind !== 'reg' || p === undefined) return null;
  return { isIn, port: p.kind === 'imm' ? p.value & 0xff : world.machine.regs[2]! & 0xffff, bytes: data.size >>> 3 };
}
