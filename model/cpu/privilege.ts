// Far transfers: JMP and CALL to a code segment or through a call gate,
// far RET and IRET within a ring and to an outer ring.
import { update, updateResult, withSegment, withSegments, type MachineState, type SegmentRegister } from './state';
import { cpl, popMany, push, readMemory, stackPointer, withStackPointer } from './context';
import {
  fetchDescriptor, isCode, isConforming, isWritableData, loadedCache, markAccessed,
  parseDescriptor, parseGate, SystemType, type SegmentDescriptor,
} from './descriptors';
import { nullInaccessibleSegments } from './segmentation';
import { codeCache, eipWithin, innerStack } from './stack-switch';
import { AC, AF, CF, DF, ID, IF, IOPL, iopl, NT, OF, PF, RF, SF, TF, VM, ZF } from './eflags';
import { fault, gp, Vector, type Outcome, type Result } from './outcome';
import { applied, explaining, hexNote } from './applied';

type Transfer = Result<MachineState> | { readonly kind: 'model-error'; readonly message: string };
const modelError = (message: string): Transfer => ({ kind: 'model-error', message });

/** A code segment descriptor and where it came from. */
interface Target {
  readonly d: SegmentDescriptor;
  readonly fetched: { address: number; low: number; high: number };
  readonly state: MachineState;
}

function readTarget(state: MachineState, selector: number): Result<Target> {
  const fetched = fetchDescriptor(state, selector);
  if (fetched.kind !== 'ok') return fetched;
  return { kind: 'ok', value: { d: parseDescriptor(fetched.value.low, fetched.value.high), fetched: fetched.value, state: fetched.value.state } };
}

/** Set CS (with RPL = newCpl), EIP, and the accessed bit of the code descriptor. */
function enterCode(state: MachineState, selector: number, target: Target, newCpl: number, eip: number): Transfer {
  // [PRIV.CODE32.1] Our subset runs only 32-bit code: a transfer to a code
  // segment whose D bit is clear is a model error, not a guess at 16-bit code.
  if ((target.d.attributes & 0x4000) === 0) return modelError(`transfer to 16-bit code segment ${selector.toString(16)}`);
  const cs = codeCache(selector, target.d, newCpl);
  if (!eipWithin(cs, eip)) return gp(0, 'PRIV.EIP.1');
  const marked = markAccessed(state, { ...target.fetched, state });
  if (marked.kind !== 'ok') return marked;
  if (explaining()) {
    applied('PRIV.EIP.1', `EIP ${hexNote(eip)} ≤ CS limit ${hexNote(cs.limit)}`);
    applied('PRIV.CPL.1', `CS = ${hexNote(cs.selector, 4)}: CPL ${newCpl}`);
  }
  return { kind: 'ok', value: withSegments(marked.value, withSegment(marked.value.segments, 'cs', cs), eip >>> 0) };
}

/**
 * [PRIV.DIRECT.1] A far JMP or CALL straight to a code segment keeps the CPL:
 * a conforming segment needs DPL <= CPL, a non-conforming one RPL <= CPL and
 * DPL = CPL, else #GP(selector); not present: #NP(selector).
 */
function checkDirectCode(d: SegmentDescriptor, selector: number, level: number): Result<null> {
  const code = selector & 0xfffc;
  if (isConforming(d) ? d.dpl > level : (selector & 3) > level || d.dpl !== level) return fault(Vector.GP, code, 'PRIV.DIRECT.1');
  if (!d.present) return fault(Vector.NP, code, 'PRIV.DIRECT.1');
  if (explaining()) applied('PRIV.DIRECT.1', `${isConforming(d) ? 'conforming' : 'non-conforming'} code ${hexNote(selector, 4)}, DPL ${d.dpl}, at CPL ${level}: allowed`);
  return { kind: 'ok', value: null };
}

/**
 * Far JMP (call = false) or far CALL (call = true) to selector:offset.
 * `size` is the operand size (the width of the pushed CS and EIP).
 */
export function farTransfer(state: MachineState, selector: number, offset: number, size: 16 | 32, call: boolean, returnEip: number): Transfer {
  const level = cpl(state);
  selector &= 0xffff;
  // [PRIV.FAR.1] A null selector faults #GP(0).
  if ((selector & 0xfffc) === 0) return gp(0, 'PRIV.FAR.1');
  const target = readTarget(state, selector);
  if (target.kind !== 'ok') return target;
  const { d } = target.value;
  let s = target.value.state;
  const eip = size === 16 ? offset & 0xffff : offset >>> 0;

  if (isCode(d)) {
    const checked = checkDirectCode(d, selector, level);
    if (checked.kind !== 'ok') return checked;
    // [PRIV.EIP.1] The new EIP is checked against the target's limit before
    // the return address is pushed (the manual's order for a far CALL), so a
    // push that would fault never happens.
    if (!eipWithin(codeCache(selector, d, level), eip)) return gp(0, 'PRIV.EIP.1');
    if (call) {
      for (const value of [state.segments.cs.selector, returnEip]) {
        const pushed = pushValue(s, value, size);
        if (pushed.kind !== 'ok') return pushed;
        s = pushed.value;
      }
    }
    return enterCode(s, selector, target.value, level, eip);
  }
  // [PRIV.FAR.2] Neither code nor a call gate (nor a task gate or TSS): #GP(selector).
  if (d.codeOrData) return fault(Vector.GP, selector & 0xfffc, 'PRIV.FAR.2');
  if (d.type === SystemType.TASK_GATE || d.type === SystemType.TSS32_AVAILABLE || d.type === SystemType.TSS16_AVAILABLE) {
    return modelError('far transfer to a task gate or TSS: hardware task switching is not supported');
  }
  if (d.type === SystemType.CALL_GATE16) return modelError('16-bit call gates are not supported');
  if (d.type !== SystemType.CALL_GATE32) return fault(Vector.GP, selector & 0xfffc, 'PRIV.FAR.2');
  return throughCallGate(s, selector, d, size, call, returnEip, level);
}

/** Push CS (16 bits written, stack slot of the operand size) or another value. */
function pushValue(state: MachineState, value: number, size: 16 | 32): Result<MachineState> {
  return push(state, value, size);
}

function throughCallGate(state: MachineState, selector: number, d: SegmentDescriptor, size: 16 | 32, call: boolean, returnEip: number, level: number): Transfer {
  const gate = parseGate(d.low, d.high);
  // [PRIV.GATE.1] The gate needs DPL >= CPL and DPL >= RPL, else
  // #GP(gate selector); a not-present gate faults #NP(gate selector).
  if (gate.dpl < level || gate.dpl < (selector & 3)) return fault(Vector.GP, selector & 0xfffc, 'PRIV.GATE.1');
  if (!gate.present) return fault(Vector.NP, selector & 0xfffc, 'PRIV.GATE.1');
  if (explaining()) applied('PRIV.GATE.1', `call gate ${hexNote(selector, 4)}: DPL ${gate.dpl} ≥ CPL ${level} and RPL ${selector & 3}, present`);
  // [PRIV.GATE.2] The gate's code selector must be non-null (#GP(0)), name a
  // code segment with DPL <= CPL (#GP(code selector)), present (#NP).
  if ((gate.selector & 0xfffc) === 0) return gp(0, 'PRIV.GATE.2');
  const target = readTarget(state, gate.selector);
  if (target.kind !== 'ok') return target;
  const t = target.value.d;
  const code = gate.selector & 0xfffc;
  if (!isCode(t) || t.dpl > level) return fault(Vector.GP, code, 'PRIV.GATE.2');
  // [PRIV.GATE.3] JMP through a call gate never changes the CPL: a
  // non-conforming target must have DPL = CPL.
  if (!call && !isConforming(t) && t.dpl !== level) return fault(Vector.GP, code, 'PRIV.GATE.3');
  if (!t.present) return fault(Vector.NP, code, 'PRIV.GATE.2');
  if (explaining()) {
    applied('PRIV.GATE.2', `target code ${hexNote(gate.selector, 4)}: DPL ${t.dpl} ≤ CPL ${level}, present`);
    if (!call) applied('PRIV.GATE.3', 'JMP through the gate: the CPL stays');
  }
  let s = target.value.state;

  if (!call) return enterCode(s, gate.selector, target.value, level, gate.offset);

  if (!isConforming(t) && t.dpl < level) {
    // [PRIV.GATE.4] CALL to an inner ring: take the new stack from the TSS,
    // push the caller's SS and ESP, copy `parameter count` dwords from the
    // caller's stack (in the same order), then push CS and EIP.
    const newCpl = t.dpl;
    if (explaining()) applied('PRIV.GATE.4', `CALL to ring ${newCpl}: new stack from the TSS, ${gate.parameterCount} parameter dwords copied`);
    const stack = innerStack(s, newCpl, 0);
    if (stack.kind !== 'ok') return stack;
    // [PRIV.EIP.1] After the new stack's checks, before anything is copied or pushed.
    if (!eipWithin(codeCache(gate.selector, t, newCpl), gate.offset)) return gp(0, 'PRIV.EIP.1');
    const params: number[] = [];
    const callerSp = stackPointer(state);
    for (let i = 0; i < gate.parameterCount; i++) {
      const p = readMemory(stack.value.state, 'ss', (callerSp + 4 * i) >>> 0, 32);
      if (p.kind !== 'ok') return p;
      params.push(p.value.value);
    }
    const regs = stack.value.state.regs.slice();
    regs[4] = stack.value.esp;
    let inner: MachineState = update(stack.value.state, {
      regs,
      segments: { ...stack.value.state.segments, ss: stack.value.ss, cs: codeCache(gate.selector, t, newCpl) },
    });
    const values = [state.segments.ss.selector, state.regs[4]!, ...params.reverse(), state.segments.cs.selector, returnEip];
    for (const value of values) {
      const pushed = push(inner, value, 32);
      // [PRIV.GATE.6] A stack fault on the new stack is #SS(new SS selector).
      if (pushed.kind === 'fault' && pushed.vector === Vector.SS) return fault(Vector.SS, stack.value.ss.selector & 0xfffc, 'PRIV.GATE.6');
      if (pushed.kind !== 'ok') return pushed;
      inner = pushed.value;
    }
    return enterCode(inner, gate.selector, { ...target.value, state: inner }, newCpl, gate.offset);
  }
  // [PRIV.GATE.5] CALL through a gate to the same ring (or a conforming
  // segment) pushes CS and EIP on the current stack, once the new EIP is
  // known to be within the target's limit [PRIV.EIP.1].
  if (!eipWithin(codeCache(gate.selector, t, level), gate.offset)) return gp(0, 'PRIV.EIP.1');
  if (explaining()) applied('PRIV.GATE.5', `CALL through the gate in ring ${level}: CS and EIP pushed on the current stack`);
  for (const value of [state.segments.cs.selector, returnEip]) {
    const pushed = push(s, value, 32);
    if (pushed.kind !== 'ok') return pushed;
    s = pushed.value;
  }
  return enterCode(s, gate.selector, target.value, level, gate.offset);
}

/**
 * [PRIV.RET.1] The CS popped by a far RET or IRET must be non-null (#GP(0)),
 * a code segment with RPL >= CPL, DPL = RPL if non-conforming or DPL <= RPL
 * if conforming (#GP(selector)), and present (#NP(selector)).
 */
function checkReturnCode(state: MachineState, selector: number): Result<Target> {
  if ((selector & 0xfffc) === 0) return gp(0, 'PRIV.RET.1');
  const target = readTarget(state, selector);
  if (target.kind !== 'ok') return target;
  const d = target.value.d;
  const rpl = selector & 3;
  const code = selector & 0xfffc;
  // [SENS.FAR.2] A far RET to an inner ring (RPL < CPL) faults: a ring-1 guest's RPL-0 selector cannot be returned to.
  if (!isCode(d) || rpl < cpl(state)) return fault(Vector.GP, code, 'PRIV.RET.1');
  if (isConforming(d) ? d.dpl > rpl : d.dpl !== rpl) return fault(Vector.GP, code, 'PRIV.RET.1');
  if (!d.present) return fault(Vector.NP, code, 'PRIV.RET.1');
  if (explaining()) applied('PRIV.RET.1', `return CS ${hexNote(selector, 4)}: code, RPL ${rpl} ≥ CPL ${cpl(state)}, DPL ${d.dpl}, present`);
  return target;
}

/**
 * [PRIV.RET.2] The SS popped on a return to an outer ring must be non-null
 * (#GP(0)), have RPL = the return CS's RPL, be a writable data segment with
 * DPL = that RPL (#GP(selector)), and be present (#SS(selector)).
 */
function checkReturnStack(state: MachineState, selector: number, rpl: number): Result<{ ss: SegmentRegister; state: MachineState }> {
  if ((selector & 0xfffc) === 0) return gp(0, 'PRIV.RET.2');
  const fetched = fetchDescriptor(state, selector);
  if (fetched.kind !== 'ok') return fetched;
  const d = parseDescriptor(fetched.value.low, fetched.value.high);
  const code = selector & 0xfffc;
  if ((selector & 3) !== rpl || !isWritableData(d) || d.dpl !== rpl) return fault(Vector.GP, code, 'PRIV.RET.2');
  if (!d.present) return fault(Vector.SS, code, 'PRIV.RET.2');
  if (explaining()) applied('PRIV.RET.2', `return SS ${hexNote(selector, 4)}: RPL = DPL = ${rpl}, writable data, present`);
  const marked = markAccessed(fetched.value.state, fetched.value);
  if (marked.kind !== 'ok') return marked;
  return { kind: 'ok', value: { ss: loadedCache(selector, d), state: marked.value } };
}

/** Far RET, with `release` bytes of parameters dropped from the stack(s). */
export function farReturn(state: MachineState, size: 16 | 32, release: number): Transfer {
  const popped = popMany(state, 2, size);
  if (popped.kind !== 'ok') return popped;
  const [eip, selector] = [popped.value.values[0]!, popped.value.values[1]! & 0xffff];
  const target = checkReturnCode(popped.value.state, selector);
  if (target.kind !== 'ok') return target;
  const rpl = selector & 3;
  let s = withStackPointer(target.value.state, stackPointer(target.value.state) + release);
  if (rpl === cpl(state)) return enterCode(s, selector, target.value, rpl, eip);
  // [PRIV.RET.4] To an outer ring: pop the caller's ESP and SS (after the
  // released parameters), check SS, switch stacks, then null the data
  // segment registers the outer ring may not hold.
  if (explaining()) applied('PRIV.RET.4', `far RET from CPL ${cpl(state)} to ring ${rpl}: the caller's SS:ESP popped`);
  const outer = popMany(s, 2, size);
  if (outer.kind !== 'ok') return outer;
  const [esp, ssSelector] = [outer.value.values[0]!, outer.value.values[1]! & 0xffff];
  const stack = checkReturnStack(outer.value.state, ssSelector, rpl);
  if (stack.kind !== 'ok') return stack;
  s = stack.value.state;
  const entered = enterCode(s, selector, { ...target.value, state: s }, rpl, eip);
  if (entered.kind !== 'ok') return entered;
  const switched = withStackPointer(update(entered.value, { segments: { ...entered.value.segments, ss: stack.value.ss } }), esp + release);
  return { kind: 'ok', value: nullInaccessibleSegments(switched) };
}

/**
 * [PRIV.FLAGS.1] Which EFLAGS bits IRET (and POPF) may change, by the CPL
 * before the instruction: IOPL only at CPL 0, IF only when CPL <= IOPL;
 * with a 16-bit operand only the low 16 bits.
 */
// [SENS.POPF.1] [SENS.IRET.1] At CPL 1 with IOPL 0, POPF and IRET leave IF
// (and IOPL) as they were, silently: the sensitive-instruction rows rest on this.
export function changeableFlags(level: number, eflags: number, size: 16 | 32, extra: number): number {
  let mask = CF | PF | AF | ZF | SF | TF | DF | OF | NT | extra;
  if (level === 0) mask |= IOPL;
  if (level <= iopl(eflags)) mask |= IF;
  return size === 16 ? mask & 0xffff : mask;
}

/** IRET: return from an interrupt handler to the same or an outer ring. */
export function interruptReturn(state: MachineState, size: 16 | 32): Transfer {
  // [PRIV.IRET.1] IRET with NT set would return from a nested task: hardware
  // task switching is outside our subset, so this is a model error.
  if (state.eflags & NT) return modelError('IRET with EFLAGS.NT set (task return) is not supported');
  const popped = popMany(state, 3, size);
  if (popped.kind !== 'ok') return popped;
  const [eip, selector, flags] = [popped.value.values[0]!, popped.value.values[1]! & 0xffff, popped.value.values[2]!];
  // [PRIV.IRET.2] Returning to virtual-8086 mode (VM set in the popped
  // EFLAGS at CPL 0) is outside our subset: model error.
  if (size === 32 && (flags & VM) && cpl(state) === 0) return modelError('IRET to virtual-8086 mode is not supported');
  const target = checkReturnCode(popped.value.state, selector);
  if (target.kind !== 'ok') return target;
  const rpl = selector & 3;
  const level = cpl(state);
  const mask = changeableFlags(level, state.eflags, size, size === 32 ? RF | AC | ID : 0);
  const newFlags = (((state.eflags & ~mask) | (flags & mask)) | 2) >>> 0;
  if (explaining()) applied('PRIV.FLAGS.1', `at CPL ${level}, IOPL ${iopl(state.eflags)}: IOPL ${mask & IOPL ? 'may' : 'may not'} change, IF ${mask & IF ? 'may' : 'may not'} change`);
  const withFlagsSet = (s: MachineState): MachineState =>
    updateResult(s, { regs: s.regs, undefinedRegisters: s.undefinedRegisters, eflags: newFlags, undefinedFlags: s.undefinedFlags & ~mask, eip: s.eip });
  if (rpl === level) {
    const entered = enterCode(target.value.state, selector, target.value, rpl, eip);
    return entered.kind === 'ok' ? { kind: 'ok', value: withFlagsSet(entered.value) } : entered;
  }
  // [PRIV.IRET.3] To an outer ring: pop ESP and SS too, check SS as for a far
  // RET, switch, then null inaccessible data segment registers.
  if (explaining()) applied('PRIV.IRET.3', `IRET from CPL ${level} to ring ${rpl}: SS:ESP popped too`);
  const outer = popMany(target.value.state, 2, size);
  if (outer.kind !== 'ok') return outer;
  const [esp, ssSelector] = [outer.value.values[0]!, outer.value.values[1]! & 0xffff];
  const stack = checkReturnStack(outer.value.state, ssSelector, rpl);
  if (stack.kind !== 'ok') return stack;
  const s = stack.value.state;
  const entered = enterCode(s, selector, { ...target.value, state: s }, rpl, eip);
  if (entered.kind !== 'ok') return entered;
  const switched = withStackPointer(withSegments(entered.value, withSegment(entered.value.segments, 'ss', stack.value.ss), entered.value.eip), esp);
  return { kind: 'ok', value: withFlagsSet(nullInaccessibleSegments(switched)) };
}

/** Turn a transfer result into a handler outcome. */
export function transferOutcome(result: Transfer): Outcome {
  if (result.kind === 'ok') return { kind: 'ok', state: result.value };
  return result;
}
