// What the monitor does when the processor has just delivered an event into
// it: read the trap frame, classify the exit, decide, and leave the machine
// poised on the IRET that returns to the guest.
import type { StepEvent } from '../machine';
import { cpl } from '../cpu/context';
import { tlbInvalidate } from '../cpu/tlb';
import { countExit, type World } from './state';
import { readFrame, writeFrame, type TrapFrame } from './frame';
import { handleShadowFault } from './shadow';
import { reflectEvent, type Reflection } from './reflect';
import { emulate, emulationRule, fetchGuestInstruction, guestView } from './emulate';
import type { RuleUse } from '../cpu/applied';
import { modePageFault } from './memory/dispatch';

/** [VMM.RING] Is the machine inside the monitor (CPL 0, EIP in the VMM region)? */
export const inMonitor = (world: World): boolean =>
  cpl(world.machine) === 0 && world.machine.eip >>> 0 >= world.vmm.config.vmmBase;

const stopped = (world: World, reason: string): World => ({ ...world, vmm: { ...world.vmm, stopped: reason } });
const resume = (world: World, frame: TrapFrame): World => ({ ...world, machine: writeFrame(world.machine, world.vmm.config, frame) });
const afterReflect = (world: World, r: Reflection): World => (r.kind === 'ok' ? r.world : stopped(world, r.reason));

/** Reflect a fault the monitor found while emulating (a #PF loads the virtual CR2). */
function reflectFault(world: World, frame: TrapFrame, vector: number, errorCode: number, address?: number): World {
  const vmm = world.vmm;
  const w = vector === 14 && address !== undefined && vmm.rules.virtualCr2OnPageFault
    ? { ...world, vmm: { ...vmm, vcpu: { ...vmm.vcpu, cr2: address >>> 0 } } }
    : world;
  return afterReflect(w, reflectEvent(w, frame, vector, errorCode, 'exception'));
}

/** What handled an exit: the world after it, and the VMM rules (spec/vmm.md)
 * that decided it, in order: the classification, then the emulation,
 * shadow fill or reflection, then the return (pure data, always computed:
 * an exit is rare next to a step). */
export interface HandledExit {
  readonly world: World;
  readonly handledBy: readonly RuleUse[];
}

/**
 * [VMM.EXIT.0] Classify the exit and act:
 * an external interrupt with no direct gate is reflected as an interrupt;
 * a #PF goes to the shadow (filled, or reflected with the guest's own error
 * code and virtual CR2, or the guest stopped); a #GP whose error code names
 * an IDT entry (INT n to a gate whose real DPL is 0) is the guest's INT n,
 * reflected as a software interrupt through its own gate; a #GP(0) at ring 1
 * is a privileged instruction of the guest kernel, emulated if the monitor
 * knows it and otherwise reflected; everything else (including every fault
 * from ring 3) is reflected unchanged.
 */
export function handleExit(world: World, event: StepEvent): World {
  return handleExitExplained(world, event).world;
}

/** handleExit, with the rules that handled the exit. */
export function handleExitExplained(world: World, event: StepEvent): HandledExit {
  const rules: RuleUse[] = [];
  const use = (id: string, note?: string): void => { rules.push(note === undefined ? { id } : { id, note }); };
  const done = (w: World): HandledExit => ({ world: w, handledBy: rules });
  // [VMM.REFLECT.1] delivered through the guest's gate, or [VMM.REFLECT.2] stopped.
  const reflected = (w: World): HandledExit => {
    use(w.vmm.stopped === null ? 'VMM.REFLECT.1' : 'VMM.REFLECT.2', w.vmm.stopped ?? undefined);
    return done(w);
  };
  // [VMM.EXIT.6] back to the guest through the edited frame and the stub's IRET.
  const resumed = (w: World): HandledExit => { use('VMM.EXIT.6'); return done(w); };
  if (event.kind !== 'exception' && event.kind !== 'interrupt') return done(world);
  const { config } = world.vmm;
  const errorCode = event.kind === 'exception' ? event.errorCode : null;
  const frame = readFrame(world.machine, config, errorCode !== null);
  const level = frame.cs & 3;
  const vector = event.vector;

  if (event.kind === 'interrupt') {
    use('VMM.EXIT.0', `external interrupt ${vector}: reflected`);
    const w = { ...world, vmm: countExit(world.vmm, `interrupt ${vector}`) };
    return reflected(afterReflect(w, reflectEvent(w, frame, vector, null, 'external')));
  }
  if (vector === 14) {
    use('VMM.EXIT.0', 'page fault: to the memory mode');
    const w = { ...world, vmm: countExit(world.vmm, 'page fault') };
    // [MEM.MODE.1] shadow-multi and direct decide for themselves.
    const byMode = modePageFault(w, frame, errorCode ?? 0);
    if (byMode !== null) {
      use('MEM.MODE.1', byMode.kind);
      if (byMode.kind === 'stop') return done(stopped(w, byMode.reason));
      if (byMode.kind === 'reflect') return reflected(reflectFault(w, frame, 14, byMode.errorCode, byMode.address));
      // [MEM.DIRECT.6] The emulated instruction's single-step trap, through the guest's IDT.
      if (byMode.kind === 'resume' && byMode.trap === true) return reflected(afterReflect(byMode.world, reflectEvent(byMode.world, byMode.frame, 1, null, 'exception')));
      return resumed(resume(byMode.world, byMode.kind === 'resume' ? byMode.frame : frame));
    }
    use('VMM.SHADOW.1', `address ${hex(w.machine.cr2)}`);
    const d = handleShadowFault(w.machine.memory, config, w.vmm.shadow, w.vmm.vcpu, w.machine.cr2, errorCode ?? 0, w.vmm.rules.shadow);
    if (d.kind === 'stop') return done(stopped(w, d.reason));
    if (d.kind === 'reflect') {
      use('VMM.SHADOW.6', `the guest's tables refuse: #PF(${d.errorCode})`);
      return reflected(reflectFault(w, frame, 14, d.errorCode, d.address));
    }
    use('VMM.SHADOW.4', `shadow entry filled for ${hex(w.machine.cr2)}`);
    use('VMM.SHADOW.5', 'writable only if the guest entry is writable and dirty');
    // The filled entry may be cached read-only in the TLB: drop it.
    const tlb = d.memory === w.machine.memory ? w.machine.tlb : dropPage(w, w.machine.cr2);
    return resumed(resume({ machine: { ...w.machine, memory: d.memory, tlb }, vmm: { ...w.vmm, shadow: d.shadow } }, frame));
  }
  if (vector === 13 && errorCode !== null && (errorCode & 3) === 2) {
    use('VMM.EXIT.0', `#GP naming IDT entry ${errorCode >>> 3}: the guest's INT ${errorCode >>> 3}`);
    const fetched = fetchGuestInstruction(world, guestView(world, frame));
    const w = { ...world, vmm: countExit(world.vmm, `INT ${errorCode >>> 3}`) };
    const length = fetched?.length ?? 2;
    return reflected(afterReflect(w, reflectEvent(w, { ...frame, eip: (frame.eip + length) >>> 0 }, errorCode >>> 3, null, 'software')));
  }
  if (vector === 13 && errorCode === 0 && level === 1) {
    use('VMM.EXIT.0', '#GP(0) at ring 1: a privileged instruction of the guest kernel');
    const fetched = fetchGuestInstruction(world, guestView(world, frame));
    if (fetched === null) return reflected(reflectFault({ ...world, vmm: countExit(world.vmm, 'reflect 13') }, frame, 13, 0));
    const w = { ...world, vmm: countExit(world.vmm, `emulate ${fetched.instruction.mnemonic}`) };
    const e = emulate(w, frame, fetched.instruction, fetched.length);
    const rule = emulationRule(fetched.instruction);
    if (e.kind !== 'not-emulated' && rule !== undefined) use(rule, `emulated ${fetched.instruction.mnemonic}`);
    switch (e.kind) {
      case 'ok': return resumed(resume(e.world, e.frame));
      case 'stop': return done(stopped(w, e.reason));
      case 'fault': return reflected(reflectFault(w, frame, e.vector, e.errorCode, e.address));
      case 'not-emulated':
        use('VMM.EXIT.5', `${e.mnemonic} is not emulated: the guest gets the #GP(0)`);
        return reflected(reflectFault(w, frame, 13, 0));
    }
  }
  use('VMM.EXIT.0', `vector ${vector}${level === 3 ? ' from ring 3' : ''}: reflected unchanged`);
  const w = { ...world, vmm: countExit(world.vmm, `reflect ${vector}`) };
  return reflected(afterReflect(w, reflectEvent(w, frame, vector, errorCode, 'exception')));
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const dropPage = (world: World, linear: number) => tlbInvalidate(world.machine.tlb, linear);
