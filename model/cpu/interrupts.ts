// Delivering an interrupt or exception through the IDT: interrupt and trap
// gates, same-ring and inner-ring entry with the stack switch.
import { update, updateResult, withRegisters, withSegment, withSegments, type MachineState } from './state';
import { cpl, pushMany, readLinear } from './context';
import { fetchDescriptor, isCode, isConforming, markAccessed, parseDescriptor, parseGate, SystemType } from './descriptors';
import { codeCache, eipWithin, innerStack } from './stack-switch';
import { IF, NT, RF, TF, VM } from './eflags';
import { fault, Vector, type Result } from './outcome';
import { applied, explaining, hexNote } from './applied';

/** Where an event comes from: it decides the EXT bit of error codes and
 * whether the gate's DPL is checked. */
export type EventSource = 'exception' | 'software' | 'external';

export type DeliveryResult = Result<MachineState> | { readonly kind: 'model-error'; readonly message: string };

const gateTypeName = (type: number): string =>
  type === SystemType.INTERRUPT_GATE32 ? '32-bit interrupt gate' : type === SystemType.TRAP_GATE32 ? '32-bit trap gate' : `gate type ${type}`;

/**
 * Enter the handler for `vector`. `returnEip` is the EIP pushed: the
 * faulting instruction for faults, the next instruction for traps and
 * software interrupts, the interrupted instruction for external interrupts.
 */
export function deliverInterrupt(state: MachineState, vector: number, errorCode: number | null, source: EventSource, returnEip: number, pushResumeFlag = false): DeliveryResult {
  // [EXC.EXT.1] EXT (error-code bit 0) is 1 for events the program did not
  // cause with INT n/INT3/INTO: exceptions and external interrupts.
  const ext = source === 'software' ? 0 : 1;
  // [EXC.IDT.1] An IDT error code names the gate: vector * 8 + 2 (IDT bit) + EXT.
  const gateCode = vector * 8 + 2 + ext;
  const level = cpl(state);

  // [EXC.IDT.2] The gate must lie within the IDT limit, else #GP(gate code).
  if (vector * 8 + 7 > state.idtr.limit) return fault(Vector.GP, gateCode, 'EXC.IDT.2');
  const low = readLinear(state, state.idtr.base + vector * 8, 4, false);
  if (low.kind !== 'ok') return low;
  const high = readLinear(low.value.state, state.idtr.base + vector * 8 + 4, 4, false);
  if (high.kind !== 'ok') return high;
  let s = high.value.state;
  const gate = parseGate(low.value.value, high.value.value);
  const system = (high.value.value & 0x1000) === 0;
  const known = [SystemType.TASK_GATE, SystemType.INTERRUPT_GATE16, SystemType.TRAP_GATE16, SystemType.INTERRUPT_GATE32, SystemType.TRAP_GATE32] as number[];
  // [EXC.IDT.3] Anything but a task, interrupt or trap gate: #GP(gate code).
  if (!system || !known.includes(gate.type)) return fault(Vector.GP, gateCode, 'EXC.IDT.3');
  // [EXC.IDT.4] INT n, INT3 and INTO need gate DPL >= CPL, else #GP(gate code);
  // exceptions and external interrupts ignore the gate's DPL.
  if (source === 'software' && gate.dpl < level) return fault(Vector.GP, gateCode, 'EXC.IDT.4');
  // [EXC.IDT.5] A not-present gate faults #NP(gate code).
  if (!gate.present) return fault(Vector.NP, gateCode, 'EXC.IDT.5');
  if (explaining()) {
    applied('EXC.IDT.2', `vector ${vector}: IDT entry at ${hexNote(state.idtr.base + vector * 8)}, within the limit ${hexNote(state.idtr.limit, 4)}`);
    applied('EXC.IDT.3', `${gateTypeName(gate.type)}, DPL ${gate.dpl}, to ${hexNote(gate.selector, 4)}:${hexNote(gate.offset)}`);
    if (source === 'software') applied('EXC.IDT.4', `INT n: gate DPL ${gate.dpl} ≥ CPL ${level}`);
    applied('EXC.IDT.5', 'gate present');
  }
  // [EXC.IDT.6] Task gates (hardware task switching) and 16-bit gates are
  // outside our subset: the model stops with a model error rather than
  // pretend to know what the processor does.
  if (gate.type === SystemType.TASK_GATE) return { kind: 'model-error', message: `vector ${vector}: task gates are not supported` };
  if (gate.type === SystemType.INTERRUPT_GATE16 || gate.type === SystemType.TRAP_GATE16) {
    return { kind: 'model-error', message: `vector ${vector}: 16-bit interrupt/trap gates are not supported` };
  }

  // [EXC.TARGET.1] The gate's code selector must be non-null (#GP(EXT)),
  // within its table (#GP(selector + EXT)), a code segment with DPL <= CPL
  // (#GP(selector + EXT)) and present (#NP(selector + EXT)).
  if ((gate.selector & 0xfffc) === 0) return fault(Vector.GP, ext, 'EXC.TARGET.1');
  const fetched = fetchDescriptor(s, gate.selector, Vector.GP, ext);
  if (fetched.kind !== 'ok') return fetched;
  s = fetched.value.state;
  const target = parseDescriptor(fetched.value.low, fetched.value.high);
  const targetCode = (gate.selector & 0xfffc) | ext;
  if (!isCode(target) || target.dpl > level) return fault(Vector.GP, targetCode, 'EXC.TARGET.1');
  if (!target.present) return fault(Vector.NP, targetCode, 'EXC.TARGET.1');
  if (explaining()) applied('EXC.TARGET.1', `handler code segment ${hexNote(gate.selector, 4)}: DPL ${target.dpl} ≤ CPL ${level}, present`);
  // [PRIV.CODE32.1]
  if ((target.attributes & 0x4000) === 0) return { kind: 'model-error', message: `vector ${vector}: handler in a 16-bit code segment` };

  // [EXC.RF.1] For a fault-class exception the EFLAGS image pushed has RF
  // set, so that the IRET back to the faulting instruction does not take an
  // instruction breakpoint again.
  const oldEflags = pushResumeFlag ? (state.eflags | RF) >>> 0 : state.eflags;
  const oldCs = state.segments.cs.selector;
  let entered: MachineState;
  let newCpl: number;
  // [EXC.STACK.1] A stack fault while pushing the frame reports #SS with
  // the new SS selector (and EXT) when the stack was switched, and with just
  // EXT on the current stack. Page faults are reported unchanged.
  let stackFaultCode = ext;
  const withStackCode = <T>(r: Result<T>): Result<T> =>
    r.kind === 'fault' && r.vector === Vector.SS ? fault(Vector.SS, stackFaultCode, 'EXC.STACK.1') : r;
  if (!isConforming(target) && target.dpl < level) {
    // [EXC.ENTRY.2] To an inner ring: switch to the TSS stack of ring DPL and
    // push the old SS and ESP there first.
    newCpl = target.dpl;
    if (explaining()) applied('EXC.ENTRY.2', `CPL ${level} → ${newCpl}: the stack switches to the TSS's ring-${newCpl} stack; old SS:ESP pushed there`);
    const stack = innerStack(s, newCpl, ext);
    if (stack.kind !== 'ok') return stack;
    // [PRIV.EIP.1] The handler's offset is checked after the new stack, before any push.
    if (!eipWithin(codeCache(gate.selector, target, newCpl), gate.offset)) return fault(Vector.GP, ext, 'PRIV.EIP.1');
    stackFaultCode = (stack.value.ss.selector & 0xfffc) | ext;
    const regs = stack.value.state.regs.slice();
    regs[4] = stack.value.esp;
    const inner = stack.value.state;
    const segments = withSegment(withSegment(inner.segments, 'ss', stack.value.ss), 'cs', codeCache(gate.selector, target, newCpl));
    entered = withRegisters(withSegments(inner, segments, inner.eip), regs);
  } else {
    // [EXC.ENTRY.1] Same ring (or a conforming target): the current stack,
    // once the handler's offset is known to be within the target's limit [PRIV.EIP.1].
    newCpl = level;
    if (explaining()) applied('EXC.ENTRY.1', `CPL ${level} stays: the frame goes on the current stack`);
    entered = withSegments(s, withSegment(s.segments, 'cs', codeCache(gate.selector, target, newCpl)), s.eip);
    if (!eipWithin(entered.segments.cs, gate.offset)) return fault(Vector.GP, ext, 'PRIV.EIP.1');
  }
  // [EXC.ENTRY.3] Then EFLAGS, CS (zero-extended to 32 bits: the manual
  // lets processors leave the upper half alone; we choose zero) and EIP are
  // pushed, then the error code if the event has one; after the old SS and
  // ESP on a new stack [EXC.ENTRY.2].
  const frame = newCpl !== level ? [state.segments.ss.selector, state.regs[4]!, oldEflags, oldCs, returnEip] : [oldEflags, oldCs, returnEip];
  if (errorCode !== null) frame.push(errorCode);
  const pushed = withStackCode(pushMany(entered, frame, 32));
  if (pushed.kind !== 'ok') return pushed;
  const marked = markAccessed(pushed.value, fetched.value);
  if (marked.kind !== 'ok') return marked;
  // [EXC.ENTRY.4] TF, NT, RF and VM are cleared; an interrupt gate also
  // clears IF, a trap gate leaves it.
  const cleared = TF | NT | RF | VM | (gate.type === SystemType.INTERRUPT_GATE32 ? IF : 0);
  if (explaining()) {
    if (pushResumeFlag) applied('EXC.RF.1', 'a fault: the pushed EFLAGS has RF set');
    applied('EXC.ENTRY.3', `pushed EFLAGS, CS, EIP ${hexNote(returnEip)}${errorCode === null ? '' : `, error code ${hexNote(errorCode)}`}; handler at ${hexNote(gate.selector, 4)}:${hexNote(gate.offset)}`);
    applied('EXC.ENTRY.4', `TF, NT, RF, VM cleared${gate.type === SystemType.INTERRUPT_GATE32 ? ', IF cleared (interrupt gate)' : ', IF kept (trap gate)'}`);
  }
  const resumed = marked.value.halted ? update(marked.value, { halted: false }) : marked.value;
  return {
    kind: 'ok',
    value: updateResult(resumed, {
      regs: resumed.regs, undefinedRegisters: resumed.undefinedRegisters,
      eflags: (state.eflags & ~cleared) >>> 0, undefinedFlags: resumed.undefinedFlags & ~cleared, eip: gate.offset,
    }),
  };
}
