// Reflecting an event into the guest: doing, on the guest's behalf, what
// the processor would have done had the guest's own IDT been the real one.
import { withinLimit } from '../cpu/context';
import { IF, NT, RF, TF, VM } from '../cpu/eflags';
import { field, segmentCache } from './descriptors';
import { dwordAt, dwordBytes, readGuest, writeGuest } from './guest-paging';
import { realDescriptor, realRingStack } from './tables';
import { writeFrame, type TrapFrame } from './frame';
import type { World } from './state';

export type EventSource = 'exception' | 'software' | 'external';

export type Reflection = { readonly kind: 'ok'; readonly world: World } | { readonly kind: 'stop'; readonly reason: string };

const stop = (reason: string): Reflection => ({ kind: 'stop', reason });

/**
 * [VMM.REFLECT.1] Deliver `vector` to the guest through its virtual IDT, as
 * the processor would (SDM vol. 3, 6.12.1): the guest's gate (a present
 * 32-bit interrupt or trap gate; for INT n, DPL >= CPL or else #GP(vector *
 * 8 + 2) is reflected instead); its target code segment, looked up in the
 * real tables; a stack switch to the real TSS's stack for the target ring
 * when the target is more privileged (ring 3 → ring 1 uses SS1:ESP1, which
 * the guest's LTR filled from its own SS0:ESP0); then EFLAGS, CS, EIP and
 * the error code pushed on the guest's stack through the guest's paging;
 * TF, NT, RF, VM cleared and IF too for an interrupt gate.
 *
 * [VMM.REFLECT.2] What the processor would escalate (a missing gate, a
 * fault while pushing the frame: #DF, then shutdown) stops the guest with
 * the reason recorded instead (a documented divergence: the guest's #DF
 * handler is never called).
 */
export function reflectEvent(world: World, frame: TrapFrame, vector: number, errorCode: number | null, source: EventSource): Reflection {
  const { config, vcpu } = world.vmm;
  const machine = world.machine;
  const level = frame.cs & 3;
  // An INT n whose gate is unusable faults in the guest as it would natively
  // (SDM vol. 3, 6.12.1.1): #GP(vector * 8 + 2), or #NP(vector * 8 + 2) for
  // a gate that is not present. Exceptions and interrupts with no usable gate
  // would escalate: those stop the guest (VMM.REFLECT.2).
  const badGate = (notPresent: boolean, reason: string): Reflection => (source === 'software'
    ? reflectEvent(world, frame, notPresent ? 11 : 13, vector * 8 + 2, 'exception')
    : stop(reason));
  if (vector * 8 + 7 > vcpu.idtr.limit) return badGate(false, `vector ${vector} is beyond the guest's IDT`);
  const gateCopy = readGuest(machine.memory, config, vcpu, vcpu.idtr.base + vector * 8, 8);
  if (gateCopy.kind !== 'ok') return stop(`the guest's IDT entry ${vector} is not mapped`);
  const gate = { low: dwordAt(gateCopy.value, 0), high: dwordAt(gateCopy.value, 4) };
  const type = field.type(gate);
  if (field.codeOrData(gate) || (type !== 0xe && type !== 0xf)) return badGate(false, `the guest has no usable gate for vector ${vector}`);
  if (!field.present(gate)) return badGate(true, `the guest's gate for vector ${vector} is not present`);
  if (source === 'software' && field.dpl(gate) < level) {
    return reflectEvent(world, frame, 13, vector * 8 + 2, 'exception');
  }
  const selector = field.gateSelector(gate);
  const target = realDescriptor(machine, config, selector);
  if (target === null || !field.codeOrData(target) || !field.isCode(target) || !field.present(target) || field.dpl(target) > level) {
    return stop(`the guest's gate for vector ${vector} names an unusable code segment`);
  }
  const conforming = (field.type(target) & 4) !== 0;
  const newCpl = conforming ? level : field.dpl(target);
  if (newCpl === 0) return stop('a guest gate leads to ring 0');

  // The stack the frame goes on.
  let ss = frame.ss, esp = frame.esp;
  const pushes: number[] = [];
  if (newCpl < level) {
    const stack = realRingStack(machine, config, newCpl);
    ss = stack.ss; esp = stack.esp;
    pushes.push(frame.ss, frame.esp);
  }
  pushes.push(frame.eflags, frame.cs, frame.eip);
  if (errorCode !== null) pushes.push(errorCode);
  const ssDescriptor = realDescriptor(machine, config, ss);
  if (ssDescriptor === null || !field.codeOrData(ssDescriptor) || field.isCode(ssDescriptor)) return stop(`no usable ring-${newCpl} stack (SS 0x${ss.toString(16)})`);
  const ssCache = segmentCache(ss, ssDescriptor);
  const big = field.big(ssDescriptor);
  const newEsp = big ? (esp - 4 * pushes.length) >>> 0 : ((esp & 0xffff0000) | ((esp - 4 * pushes.length) & 0xffff)) >>> 0;
  const offset = big ? newEsp : newEsp & 0xffff;
  if (!withinLimit(ssCache, offset, 4 * pushes.length)) return stop(`the guest's ring-${newCpl} stack overflows its segment`);
  const bytes = pushes.slice().reverse().flatMap(dwordBytes); // lowest address first: the last push
  const written = writeGuest(machine.memory, config, vcpu, ssCache.base + offset, bytes, newCpl === 3);
  if (written.kind !== 'ok') return stop(`fault while pushing the frame of vector ${vector} on the guest's stack`);

  const cleared = TF | NT | RF | VM | (type === 0xe ? IF : 0);
  const entry: TrapFrame = {
    errorCode: frame.errorCode,
    eip: field.gateOffset(gate),
    cs: (selector & 0xfffc) | newCpl,
    eflags: (frame.eflags & ~cleared) >>> 0,
    esp: newEsp,
    ss,
  };
  const m = writeFrame({ ...machine, memory: written.memory }, config, entry);
  return { kind: 'ok', world: { ...world, machine: m } };
}

/** Check helper for readers: reading a guest dword at a linear address. */
export function readGuestDword(world: World, linear: number): number | null {
  const copy = readGuest(world.machine.memory, world.vmm.config, world.vmm.vcpu, linear, 4);
  return copy.kind === 'ok' ? dwordAt(copy.value, 0) : null;
}
