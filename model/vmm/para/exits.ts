// What the monitor does on an exit of a para guest. Hypercalls, hardware
// interrupts (held back while the virtual IF is 0) and page faults (CR2
// passed in the shared page) are handled here; every other exit is the
// mesovirtual monitor's (model/vmm/exits.ts), so both interfaces coexist.
import type { StepEvent } from '../../machine';
import { tlbInvalidate } from '../../cpu/tlb';
import { readFrame, writeFrame, type TrapFrame } from '../frame';
import { handleExitExplained } from '../exits';
import type { RuleUse } from '../../cpu/applied';
import { handleShadowFault } from '../shadow';
import { reflectEvent, type EventSource } from '../reflect';
import { countExit, type World } from '../state';
import { HYPERCALL_NAMES, HYPERCALL_VECTOR, Shared } from './interface';
import { hypercall, installParaGates } from './hypercalls';
import { forceInterruptsOn, virtualIf, writeShared } from './shared';

const stop = (world: World, reason: string): World => ({ ...world, vmm: { ...world.vmm, stopped: reason } });
const count = (world: World, reason: string): World => ({ ...world, vmm: countExit(world.vmm, reason) });
const setPending = (world: World, vector: number | null): World =>
  writeShared({ ...world, vmm: { ...world.vmm, para: { ...world.vmm.para!, pending: vector } } }, Shared.pending, 1, vector === null ? 0 : 1);

/** Reflect into the guest; delivering an external interrupt clears the virtual IF. */
function reflect(world: World, frame: TrapFrame, vector: number, errorCode: number | null, source: EventSource): World {
  const r = reflectEvent(world, frame, vector, errorCode, source);
  if (r.kind !== 'ok') return stop(world, r.reason);
  return source === 'external' ? writeShared(r.world, Shared.virtualIf, 1, 0) : r.world;
}

/** [PARA.IF.2] Is the guest interruptible: at ring 3 (user mode always is,
 * as natively every frame a kernel returns to user with has IF = 1), or at
 * ring 1 with the virtual IF set? */
const interruptible = (world: World, frame: TrapFrame): boolean => (frame.cs & 3) === 3 || virtualIf(world);

/** [PARA.IF.3] Requests the line raised again while its interrupt was held
 * merge into it, as they would have in the PIC's request register had the
 * interrupt waited there (natively it does, with IF 0): the newer request
 * is dropped when the held one is delivered. */
function coalesce(world: World, vector: number): World {
  const master = world.machine.devices.master;
  const line = vector - master.vectorBase;
  if (line < 0 || line > 7) return world;
  const devices = { ...world.machine.devices, master: { ...master, irr: master.irr & ~(1 << line) } };
  return { ...world, machine: { ...world.machine, devices } };
}

/** Resume at `frame`, delivering the pending interrupt first if the guest can take it. */
function resumeOrDeliver(world: World, frame: TrapFrame): World {
  const pending = world.vmm.para!.pending;
  if (pending !== null && interruptible(world, frame)) {
    return reflect(count(coalesce(setPending(world, null), pending), `interrupt ${pending} delivered late`), frame, pending, null, 'external');
  }
  return { ...world, machine: writeFrame(world.machine, world.vmm.config, frame) };
}

/** The rules that handled an exit, in order (EXPLAIN.STEP.2). */
type Use = (id: string, note?: string) => void;

function handle(world: World, event: StepEvent, use: Use): World {
  if (event.kind !== 'exception' && event.kind !== 'interrupt') return world;
  const { config } = world.vmm;
  const errorCode = event.kind === 'exception' ? event.errorCode : null;
  const frame = readFrame(world.machine, config, errorCode !== null);
  const para = world.vmm.para!;

  if (event.kind === 'exception' && event.vector === HYPERCALL_VECTOR && errorCode === null) {
    // [PARA.CALL.5] Only the guest kernel may call: a hypercall from ring 3
    // (possible only through a broken gate) gets the #GP the gate's DPL would give.
    if ((frame.cs & 3) !== 1 && !para.rules.hypercallFromRing3) {
      use('PARA.CALL.5', 'a hypercall from ring 3: the #GP its gate would give');
      return reflect(count(world, 'refused hypercall'), { ...frame, eip: (frame.eip - 2) >>> 0 }, 13, HYPERCALL_VECTOR * 8 + 2, 'exception');
    }
    const name = HYPERCALL_NAMES[world.machine.regs[0]! >>> 0] ?? 'unknown';
    use('PARA.CALL.1', `hypercall ${name}`);
    const r = hypercall(count(world, `hypercall ${name}`), frame);
    switch (r.kind) {
      case 'stop': return stop(world, r.reason);
      case 'iret': use('PARA.IF.4', 'the iret hypercall'); return resumeOrDeliver(r.world, r.frame);
      case 'return': {
        const regs = r.world.machine.regs.slice();
        regs[0] = r.result >>> 0;
        return { ...r.world, machine: writeFrame({ ...r.world.machine, regs }, config, r.frame) };
      }
    }
  }
  if (event.kind === 'exception' && event.vector === 13 && errorCode === HYPERCALL_VECTOR * 8 + 2) {
    // [PARA.CALL.5] A ring-3 `int 0x82` meets the DPL-1 gate: the guest
    // kernel gets the #GP it would get natively (no gate of DPL 3 there).
    use('PARA.CALL.5', 'int 0x82 from ring 3: reflected as #GP');
    return reflect(count(world, 'refused hypercall'), frame, 13, errorCode, 'exception');
  }
  if (event.kind === 'interrupt') {
    // [PARA.IF.3] An interrupt the guest cannot take now is held pending
    // (the shared page says so) and delivered at the guest's iret hypercall.
    if (!interruptible(world, frame)) {
      use('PARA.IF.3', `interrupt ${event.vector} held: the virtual IF is 0`);
      return setPending(count(world, `interrupt ${event.vector} held`), event.vector);
    }
    const w = para.pending === event.vector ? setPending(world, null) : world;
    use('PARA.IF.2', `interrupt ${event.vector} reflected`);
    return reflect(count(w, `interrupt ${event.vector}`), frame, event.vector, null, 'external');
  }
  if (event.vector === 14 && world.vmm.memory !== undefined && world.vmm.memory.kind !== 'shadow-single') {
    // [PARA.PF.1] Under another memory mode its own page-fault rule applies;
    // the guest's CR2 (set when a fault is reflected) is copied to the shared page.
    use('PARA.PF.1', 'to the memory mode');
    const handled = handleExitExplained(world, event);
    for (const u of handled.handledBy) use(u.id, u.note);
    const after = handled.world;
    return writeShared(after, Shared.cr2, 4, after.vmm.vcpu.cr2);
  }
  if (event.vector === 14) {
    // [PARA.PF.1] Page faults always enter the monitor; a fault the guest's
    // own tables refuse is reflected with its address in the shared page.
    use('PARA.PF.1', `address 0x${(world.machine.cr2 >>> 0).toString(16)}`);
    const w = count(world, 'page fault');
    const d = handleShadowFault(w.machine.memory, config, w.vmm.shadow, w.vmm.vcpu, w.machine.cr2, errorCode ?? 0, w.vmm.rules.shadow);
    if (d.kind === 'stop') return stop(w, d.reason);
    if (d.kind === 'reflect') {
      const withCr2 = writeShared({ ...w, vmm: { ...w.vmm, vcpu: { ...w.vmm.vcpu, cr2: d.address } } }, Shared.cr2, 4, d.address);
      return reflect(withCr2, frame, 14, d.errorCode, 'exception');
    }
    const tlb = tlbInvalidate(w.machine.tlb, w.machine.cr2);
    return { machine: writeFrame({ ...w.machine, memory: d.memory, tlb }, config, frame), vmm: { ...w.vmm, shadow: d.shadow } };
  }
  // [PARA.TRAP.1] The mesovirtual interface stays available: a trapped LIDT
  // or LGDT rebuilds the real IDT, after which the para gates are restored.
  const handled = handleExitExplained(world, event);
  for (const u of handled.handledBy) use(u.id, u.note);
  const after = handled.world;
  const reloaded = ['emulate lidt', 'emulate lgdt'].some((k) => (after.vmm.exits[k] ?? 0) !== (world.vmm.exits[k] ?? 0));
  if (reloaded && after.vmm.stopped === null) {
    use('PARA.TRAP.1', 'the para gates restored');
    return installParaGates(after);
  }
  return after;
}

/** [PARA.EXIT.1] The monitor's exit handler for a para guest. */
export function handleParaExit(world: World, event: StepEvent): World {
  return handleParaExitExplained(world, event).world;
}

/** handleParaExit, with the rules that handled the exit (EXPLAIN.STEP.2). */
export function handleParaExitExplained(world: World, event: StepEvent): { readonly world: World; readonly handledBy: readonly RuleUse[] } {
  const rules: RuleUse[] = [{ id: 'PARA.EXIT.1' }];
  const use: Use = (id, note) => { rules.push(note === undefined ? { id } : { id, note }); };
  const after = forceInterruptsOn(handle(world, event, use));
  rules.push({ id: 'PARA.IF.1', note: 'IF set in the frame the guest returns with' });
  return { world: after, handledBy: rules };
}
