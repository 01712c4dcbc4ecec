// Translated blocks: a straight run of instructions compiled into one
// JavaScript function (`new Function`), so that each instruction's executor
// is called from a call site of its own. The interpreter calls every
// executor through the one megamorphic `d.exec(cpu, d)`; in a translated
// block every call site sees a single target, which V8 inlines.
//
// What a block may contain, and why that keeps impl's semantics bit for bit:
// - Only instructions whose effects are registers, arithmetic flags, memory
//   through the segment and paging checks, and the next EIP (STRAIGHT and
//   ENDS_BLOCK below). Nothing inside a block changes IF, the interrupt
//   shadow, CS, the CPL, control registers, the TLB wholesale, the devices or
//   the halted state, so the pending-interrupt condition checked before the
//   block still holds before each of its instructions.
// - A near jump, call, return or loop ends a block (it is its last
//   instruction), except a conditional jump, which leaves the block only
//   when taken (a side exit: the block retires fewer than its length); so does the end of the 4 KiB frame (an instruction that
//   would cross it is left to the interpreter), or MAX_LENGTH instructions.
// - The runner (run.ts) enters a block only when the timer cannot fire
//   inside it and the instruction limit is not passed, so time (retired
//   instructions) moves exactly as under step().
// - The block depends on nothing but the bytes of its frame: EIP is passed
//   in, every other input is read at run time. So it is keyed by physical
//   address alone and dropped with the decoded-instruction cache when its
//   frame is written (self-modifying code). A store inside a block that hits
//   a code frame, or anything that changes the cached code-page translation,
//   ends the block after that instruction.
// - A fault leaves the block with the faulting instruction's index in
//   `cpu.blockRetired`; the runner then does what step() does with a fault.
import type { Cpu } from './cpu';
import { Decoded } from './decoded';
import { decode } from './decode';
import { MASK, computeFlag, condition } from './flags';
import { inlineConditionalJump, inlineInstruction, isInlinedJump } from './block-inline';
import * as alu from './ops/alu';
import * as shift from './ops/shift';
import * as mul from './ops/multiply';
import * as bits from './ops/bits';
import * as move from './ops/move';
import * as control from './ops/control';

/** A compiled block: run(cpu, eip, page, budget) returns the number of
 * retired instructions (at most `budget` when it loops on itself). */
export interface Block {
  readonly run: (cpu: Cpu, eip: number, page: number, budget: number) => number;
  readonly length: number;
  /** Bytes from the first instruction's start to the last one's end. */
  readonly bytes: number;
}

const MAX_LENGTH = 32;
/** Visits of a block start before it is compiled (cold code stays interpreted). */
export const HOT_THRESHOLD = 8;

const STRAIGHT = new Set<unknown>([
  alu.aluRmReg, alu.aluRmImm, alu.aluRegRm, alu.testRmReg, alu.testRmImm, alu.incrementRM, alu.incrementRegister,
  alu.negate, alu.complement,
  shift.shiftByImmediate, shift.shiftByCL, shift.doubleShift,
  mul.multiplyAccumulator, mul.multiplySignedInto, mul.divideAccumulator,
  bits.bitTest, bits.bitScan, bits.decimalAdjust, bits.asciiAdjust, bits.asciiAdjustMultiply, bits.asciiAdjustDivide,
  bits.setCarry, bits.loadFlagsIntoAH, bits.storeAHIntoFlags,
  move.moveRmReg, move.moveRegRm, move.moveRmImm, move.moveExtend, move.exchange, move.loadEffectiveAddress,
  move.pushRegister, move.pushImmediate, move.pushRM, move.popRegister, move.popRM, move.pushAll, move.popAll,
  move.convert, move.byteSwap, move.exchangeAndAdd, move.compareExchange, move.translateByte, move.enter,
  move.leave, move.conditionalMove, move.setOnCondition,
]);
const ENDS_BLOCK = new Set<unknown>([
  control.jumpRelative, control.jumpIndirect, control.jumpConditional, control.callRelative,
  control.callIndirect, control.nearReturn, control.loop,
]);

/** Instructions from physical address `physical` up to the block's end (decoded from RAM, no side effects). */
function collect(cpu: Cpu, physical: number): Decoded[] {
  const memory = cpu.memory, pageEnd = (physical | 0xfff) + 1;
  const out: Decoded[] = [];
  let at = physical;
  while (out.length < MAX_LENGTH) {
    let d: Decoded;
    try {
      d = decode((i) => {
        if (at + i >= pageEnd) throw PAST_PAGE;
        return memory.read8(at + i);
      });
    } catch {
      break; // past the frame, #UD, or outside this machine: the interpreter handles it
    }
    const straight = STRAIGHT.has(d.exec) || d.name === 'nop';
    if (!straight && !ENDS_BLOCK.has(d.exec)) break;
    out.push(d);
    at += d.length;
    // A conditional jump inside a block is a side exit (block-inline.ts);
    // any other transfer ends the block.
    if (!straight && !isInlinedJump(d)) break;
  }
  return out;
}
const PAST_PAGE = new Error('past the page');

/** Compile the block at `physical`, or null when fewer than two instructions qualify. */
export function compileBlock(cpu: Cpu, physical: number): Block | null {
  const ds = collect(cpu, physical);
  if (ds.length < 2) return null;
  const params: string[] = [];
  const lines: string[] = [];
  const starts: number[] = [];
  let offset = 0, lastCalled = false;
  ds.forEach((d, k) => {
    starts.push(offset);
    offset += d.length;
    const inline = inlineInstruction(d);
    lastCalled = inline === null;
    if (inline !== null) { lines.push(inline); return; }
    params.push(`e${k}`, `d${k}`);
    const branch = inlineConditionalJump(d, k, offset, ds.length);
    if (branch !== null) { lines.push(branch); return; }
    lines.push(`k = ${k}; cpu.next = (eip + ${offset}) >>> 0; e${k}(cpu, d${k});`);
    if (k < ds.length - 1) {
      lines.push(`if (cpu.codeWritten || cpu.fetchPage !== page) { cpu.eip = cpu.next; return done + ${k + 1}; }`);
      lines.push('if (log.length !== 0) log.length = 0;');
    }
  });
  // After an inlined last instruction cpu.next was never set: the block
  // falls through. A block whose last instruction jumps back to its own
  // start runs again inside the function (a loop needs no dispatch) while
  // the budget the runner gives (instructions before the run limit or the
  // timer) allows another whole pass.
  const n = ds.length;
  const end = lastCalled
    ? `if (cpu.next === eip && done + ${2 * n} <= budget && !cpu.codeWritten && cpu.fetchPage === page) {
      done += ${n}; if (log.length !== 0) log.length = 0; continue;
    }
    cpu.eip = cpu.next; return done + ${n};`
    : `cpu.eip = (eip + ${offset}) >>> 0; return done + ${n};`;
  const body = `return function block(cpu, eip, page, budget) {
  const log = cpu.undoLog, r = cpu.r32;
  let k = 0, done = 0;
  try {
    for (;;) {
    ${lines.join('\n    ')}
    ${end}
    }
  } catch (e) {
    cpu.blockRetired = done + k;
    cpu.eip = (eip + starts[k]) >>> 0;
    throw e;
  }
};`;
  const factory = new Function('starts', 'cf', 'cond', 'mask', ...params, body) as (...args: unknown[]) => Block['run'];
  const args: unknown[] = [starts, computeFlag, condition, MASK];
  ds.forEach((d) => { if (inlineInstruction(d) === null) args.push(d.exec, d); });
  return { run: factory(...args), length: ds.length, bytes: offset };
}
