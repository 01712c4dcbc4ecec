// The monitor with impl as the processor (spec/vmm.md §8, first step).
// Guest instructions run on impl; when impl delivers an event into the
// monitor, the one monitor of model/vmm handles the exit on a model view of
// impl's state, and what it changed is written back to impl:
// - memory: the model state's pages are views of impl's RAM (no copy); the
//   model writes copy-on-write, so the pages the monitor wrote are exactly
//   those no longer identical to their view, and only they are copied back;
// - registers: through Machine.setState (which also empties impl's TLB: a
//   larger flush than the monitor asked for, never a smaller one);
// - devices: the monitor's emulated IN and OUT reach impl's own devices, for
//   the ports the monitor gives the guest (GUEST_PORTS): this is the one
//   operation the adapter re-targets, since impl's device model is its own.
// After the monitor's IRET the adapter applies its "halt now" and "keep
// the interrupt shadow" to impl, as stepWorld does on the model.
import { ImplMachine } from '../../impl/machine';
import { fromCommon, initialState, toCommon, type MachineState } from '../../model/cpu/state';
import { readBytes, PAGE_SIZE, type PhysicalMemory } from '../../model/cpu/memory';
import { initialDevices } from '../../model/cpu/devices';
import type { StepEvent } from '../../model/machine';
import { bootGuest } from '../../model/vmm/boot';
import { handleExit } from '../../model/vmm/exits';
import { readFrame } from '../../model/vmm/frame';
import { fetchGuestInstruction, guestView, GUEST_PORTS } from '../../model/vmm/emulate';
import { DEFAULT_CONFIG, machineMemorySize, type VmmConfig } from '../../model/vmm/config';
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import type { VmmState, World } from '../../model/vmm/state';

/** A model PhysicalMemory whose pages are views of impl's RAM (built once: the views stay live). */
function memoryView(bytes: Uint8Array): PhysicalMemory {
  const pages = bytes.length / PAGE_SIZE;
  const directory: Array<Array<Uint8Array | undefined>> = [];
  for (let p = 0; p < pages; p++) {
    const node = (directory[p >>> 10] ??= []);
    node[p & 1023] = bytes.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
  }
  return { size: bytes.length, directory };
}

export interface ImplRun {
  readonly console: string;
  readonly end: string;
  readonly steps: number;
  readonly vmm: VmmState;
}

const inMonitorOn = (impl: ImplMachine, config: VmmConfig): boolean =>
  (impl.cpu.segSelector[1]! & 3) === 0 && impl.cpu.eip >>> 0 >= config.vmmBase;

/** Run `image` as a guest of the monitor with impl as the processor
 * (`booted`: a world already booted, e.g. in a memory mode; its config must be `config`). */
export function runOnImpl(image: Uint8Array, maxSteps: number, rules: VmmRules = defaultRules, config: VmmConfig = DEFAULT_CONFIG, booted?: World): ImplRun {
  const boot = booted !== undefined ? { kind: 'ok' as const, world: booted } : bootGuest(image, config, rules);
  if (boot.kind !== 'ok') throw new Error(boot.message);
  const size = machineMemorySize(config);
  const impl = new ImplMachine(size);
  impl.writePhysical(0, readBytes(boot.world.machine.memory, 0, size));
  impl.setState(toCommon(boot.world.machine));
  const view = memoryView(impl.cpu.memory.bytes);
  const blank: MachineState = { ...initialState(0), devices: initialDevices };
  let vmm = boot.world.vmm;
  let end = 'step limit', steps = 0;
  for (; steps < maxSteps; steps++) {
    if (vmm.stopped !== null) { end = `stopped: ${vmm.stopped}`; break; }
    if (inMonitorOn(impl, config)) {
      // The monitor's IRET, executed by impl; then what the exit asked for.
      const e = impl.step();
      // (A write to the exit port during the exit shows as this step's event, as on the model.)
      if (e.kind === 'exit') { end = `exit ${e.code}`; steps++; break; }
      if (e.kind !== 'retired') { end = `the monitor's return failed: ${JSON.stringify(e)}`; steps++; break; }
      if (!inMonitorOn(impl, config)) {
        impl.cpu.halted ||= vmm.afterReturn.halt;
        impl.cpu.interruptShadow ||= vmm.afterReturn.interruptShadow;
      }
      vmm = { ...vmm, afterReturn: { halt: false, interruptShadow: false } };
      continue;
    }
    const wasHalted = impl.cpu.halted;
    const event: StepEvent = impl.step();
    if ((event.kind === 'exception' || event.kind === 'interrupt') && inMonitorOn(impl, config)) {
      vmm = exitOnImpl(impl, view, blank, vmm, event);
      continue;
    }
    if (event.kind === 'exit') { end = `exit ${event.code}`; steps++; break; }
    if (event.kind === 'shutdown' || event.kind === 'model-error') { end = event.kind; steps++; break; }
    if (event.kind === 'halted' && wasHalted) { end = 'halted for good'; steps++; break; }
  }
  return { console: new TextDecoder('latin1').decode(impl.consoleOutput()), end, steps, vmm };
}

/** Handle one exit with the model's monitor on a view of impl's state, and write back what it changed. */
function exitOnImpl(impl: ImplMachine, view: PhysicalMemory, blank: MachineState, vmm: VmmState, event: Extract<StepEvent, { kind: 'exception' | 'interrupt' }>): VmmState {
  const machine = fromCommon({ ...blank, memory: view }, impl.state());
  const world: World = { machine, vmm };
  // The port access the monitor is about to emulate, if it is one (VMM.EXIT.5).
  const errorCode = event.kind === 'exception' ? event.errorCode : null;
  let port: { isIn: boolean; port: number; bytes: number } | null = null;
  if (event.kind === 'exception' && event.vector === 13 && errorCode === 0) {
    const frame = readFrame(machine, vmm.config, true);
    const fetched = (frame.cs & 3) === 1 ? fetchGuestInstruction(world, guestView(world, frame)) : null;
    const i = fetched?.instruction;
    if (i !== undefined && (i.mnemonic === 'in' || i.mnemonic === 'out')) {
      const isIn = i.mnemonic === 'in';
      const data = isIn ? i.operands[0] : i.operands[1];
      const p = isIn ? i.operands[1] : i.operands[0];
      if (data?.kind === 'reg' && p !== undefined) {
        port = { isIn, port: p.kind === 'imm' ? p.value & 0xff : machine.regs[2]! & 0xffff, bytes: data.size >>> 3 };
      }
    }
  }
  const handled = handleExit(world, event);
  // Memory: copy back the pages the monitor wrote (no longer the live views).
  const after = handled.machine.memory.directory;
  for (let n = 0; n < after.length; n++) {
    const node = after[n];
    if (node === undefined || node === view.directory[n]) continue;
    for (let p = 0; p < node.length; p++) {
      const page = node[p];
      if (page !== undefined && page !== view.directory[n]![p]) impl.writePhysical(((n << 10) | p) * PAGE_SIZE, page);
    }
  }
  let state = toCommon(handled.machine);
  if (port !== null && GUEST_PORTS.has(port.port) && handled.vmm.stopped === null) {
    const devices = impl.cpu.devices;
    if (port.isIn) {
      const value = devices.in(port.port, port.bytes);
      const mask = port.bytes === 4 ? 0xffffffff : port.bytes === 2 ? 0xffff : 0xff;
      state = { ...state, regs: { ...state.regs, eax: ((state.regs.eax & ~mask) | (value & mask)) >>> 0 } };
    } else {
      devices.out(port.port, port.bytes, machine.regs[0]!);
    }
  }
  impl.setState(state);
  return handled.vmm;
}
