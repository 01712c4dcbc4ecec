// Handlers for the stack: PUSH and POP of general registers, memory and
// immediates, PUSHA/POPA, ENTER and LEAVE. Segment-register forms of PUSH and
// POP are system instructions (model/cpu/system).
import { attr, cpl, pop, push, pushMany, readMemory, readOperand, readRegister, segmentLinear, stackPointer, withStackPointer, writeRegister } from '../context';
import { modelError, type Fault, type Handler, type KeptWrite, type Outcome, type Result } from '../outcome';
import { readPhysical } from '../memory';
import { accessOf, translate } from '../paging';
import type { MachineState } from '../state';
import { EBP, ESP, isSystemForm, operand, retire, retireWith, writeAndRetire } from './common';

const systemForm = (mnemonic: string): Outcome =>
  modelError(`'${mnemonic}' of a segment register is a system instruction (model/cpu/system)`);

// [INS.STACK.1] PUSH reads its operand first, then pushes it with the
// operand size: so `push esp` pushes the value ESP had before the
// instruction, and `push [esp+4]` addresses through the old ESP. Immediates
// arrive already sign-extended to the operand size.
const pushOperand: Handler = (state, instr, nextEip) => {
  if (isSystemForm(instr)) return systemForm('push');
  const value = readOperand(state, instr, operand(instr, 0));
  if (value.kind !== 'ok') return value;
  return retireWith(push(value.value.state, value.value.value, instr.operandSize), nextEip);
};

// [INS.STACK.2] POP increments ESP before it writes the destination: a
// memory destination addressed through ESP uses the incremented ESP, and
// `pop esp` leaves ESP equal to the popped value. If the write faults, ESP is
// as before the instruction.
const popOperand: Handler = (state, instr, nextEip) => {
  if (isSystemForm(instr)) return systemForm('pop');
  const popped = pop(state, instr.operandSize);
  if (popped.kind !== 'ok') return popped;
  return writeAndRetire(popped.value.state, instr, operand(instr, 0), popped.value.value, nextEip);
};

// [INS.STACK.3] PUSHA pushes EAX, ECX, EDX, EBX, the original ESP, EBP, ESI
// and EDI (their low halves with a 16-bit operand size). POPA pops them back
// in reverse order but discards the ESP slot (ESP simply moves past it).
const pushAllRegisters: Handler = (state, instr, nextEip) => {
  const size = instr.operandSize;
  const values = [0, 1, 2, 3, 4, 5, 6, 7].map((reg) => readRegister(state, size, reg));
  // (pushMany: the pushes one by one, the first fault stopping them.)
  const r = pushMany(state, values, size);
  return r.kind === 'ok' ? retire(r.value, nextEip) : r;
};

const popAllRegisters: Handler = (state, instr, nextEip) => {
  const size = instr.operandSize;
  let s = state;
  for (const reg of [7, 6, 5, 4, 3, 2, 1, 0]) {
    const r = pop(s, size);
    if (r.kind !== 'ok') return r;
    s = reg === ESP ? r.value.state : writeRegister(r.value.state, size, reg, r.value.value);
  }
  return retire(s, nextEip);
};

const stackMask = (state: MachineState): number => (attr.big(state.segments.ss) ? 0xffffffff : 0xffff);

// [INS.STACK.4] ENTER size, level: push EBP; remember the new stack pointer
// as the frame; for level > 1 push level − 1 frame pointers read from the old
// frame (EBP − 4, EBP − 8, … through SS, 2-byte steps with a 16-bit operand
// size); for level > 0 push the frame; then EBP := frame and ESP := ESP −
// size. The level is taken modulo 32. Any fault leaves every register as
// before the instruction.
const enterFrame: Handler = (state, instr, nextEip) => {
  const size = instr.operandSize;
  const [sizeOp, levelOp] = [operand(instr, 0), operand(instr, 1)];
  const allocation = sizeOp.kind === 'imm' ? sizeOp.value & 0xffff : 0;
  const level = (levelOp.kind === 'imm' ? levelOp.value : 0) % 32;
  const mask = stackMask(state);
  // [INS.STACK.6] The stores ENTER has made when it faults stay in memory
  // (the fault carries them as keptWrites); only the registers go back.
  let kept: KeptWrite[] = [];
  const keepStores = (f: Fault): Fault => (kept.length === 0 ? f : { ...f, keptWrites: kept });
  const pushKept = (s: MachineState, value: number): Result<MachineState> => {
    const pushed = push(s, value, size);
    if (pushed.kind === 'ok') kept = [...kept, ...storedBytes(pushed.value, size)];
    return pushed;
  };
  const first = pushKept(state, readRegister(state, size, EBP));
  if (first.kind !== 'ok') return first;
  let s = first.value;
  const frame = stackPointer(s);
  let framePointer = readRegister(state, 32, EBP);
  for (let i = 1; i < level; i++) {
    framePointer = (framePointer - size / 8) & mask;
    const display = readMemory(s, 'ss', framePointer, size);
    if (display.kind !== 'ok') return keepStores(display);
    const pushed = pushKept(display.value.state, display.value.value);
    if (pushed.kind !== 'ok') return keepStores(pushed);
    s = pushed.value;
  }
  if (level > 0) {
    const pushed = pushKept(s, frame);
    if (pushed.kind !== 'ok') return keepStores(pushed);
    s = pushed.value;
  }
  // [INS.STACK.7] With a non-zero size, the new top of stack is touched as
  // a write of one operand-size unit: the segment checks (#SS(0)) and a
  // write translation of its page(s) (#PF, accessed and dirty bits set).
  const newSp = (stackPointer(s) - allocation) & mask;
  if (allocation > 0) {
    const touched = touchForWrite(s, newSp, size);
    if (touched.kind !== 'ok') return keepStores(touched);
    s = touched.value;
  }
  s = writeRegister(s, size, EBP, frame);
  return retire(withStackPointer(s, newSp), nextEip);
};

/** The bytes a push just stored at SS:ESP, by physical address (the push
 * succeeded, so its translation is in the TLB and repeating it changes nothing). */
function storedBytes(after: MachineState, size: 16 | 32): KeptWrite[] {
  const linear = (after.segments.ss.base + stackPointer(after)) >>> 0;
  const user = cpl(after) === 3;
  return Array.from({ length: size / 8 }, (_, i) => {
    const t = translate(after, linear + i, accessOf(true, user));
    if (t.kind !== 'ok') throw new Error('model bug: a completed push no longer translates');
    return { physical: t.physical, value: readPhysical(after.memory, t.physical, 1) };
  });
}

/** A write access to SS:sp that stores nothing: segment checks, then a
 * write translation of each page the unit spans. */
function touchForWrite(state: MachineState, sp: number, size: 16 | 32): Result<MachineState> {
  const linear = segmentLinear(state, 'ss', sp, size / 8, true);
  if (linear.kind !== 'ok') return linear;
  const user = cpl(state) === 3;
  const first = linear.value, last = (first + size / 8 - 1) >>> 0;
  const pages = first >>> 12 === last >>> 12 ? [first] : [first, (last & ~0xfff) >>> 0];
  let s = state;
  for (const at of pages) {
    const t = translate(s, at, accessOf(true, user));
    if (t.kind !== 'ok') return t;
    s = t.state;
  }
  return { kind: 'ok', value: s };
}

// [INS.STACK.5] LEAVE: ESP := EBP, then pop EBP (BP with a 16-bit operand
// size). A faulting pop leaves ESP as before the instruction.
const leaveFrame: Handler = (state, instr, nextEip) => {
  const size = instr.operandSize;
  const s = withStackPointer(state, readRegister(state, 32, EBP) & stackMask(state));
  const popped = pop(s, size);
  if (popped.kind !== 'ok') return popped;
  return retire(writeRegister(popped.value.state, size, EBP, popped.value.value), nextEip);
};

export const stackHandlers: Readonly<Record<string, Handler>> = {
  push: pushOperand, pop: popOperand, pusha: pushAllRegisters, popa: popAllRegisters, enter: enterFrame, leave: leaveFrame,
};
