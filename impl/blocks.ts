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
import type { Block, Cpu, Decoded } from './cpu';
import { decode } from './decode';
import { MASK, computeFlag, condition, parityOf } from './flags';
import { CS_LIMIT, type KnownFlags, inlineRegister, isInlinedJump, isInlinedBranch, knownCondition, recordCondition } from './block-inline';
import { inlineMemory } from './block-memory';
import { fastReadAddress, fastWriteAddress, flatSegment, pageFaultAhead } from './fast-access';
import * as alu from './ops/alu';
import * as shift from './ops/shift';
import * as mul from './ops/multiply';
import * as bits from './ops/bits';
import * as move from './ops/move';
import * as control from './ops/control';


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

/** Instructions that leave the flags and the block's fa/fb/fx alone (inline
 * or through their executor), so a Jcc after them still knows the flags of
 * the ALU instruction before them (MOV between CMP and Jcc). */
const FLAG_NEUTRAL = new Set<unknown>([
  move.moveRmReg, move.moveRegRm, move.moveRmImm, move.moveExtend, move.loadEffectiveAddress, move.pushRegister, move.popRegister,
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
    // 16-bit addressing (0x67) stays with the interpreter: the compiled address arithmetic is 32-bit.
    if (d.addressMask !== 0xffffffff) break;
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

// The factories (`new Function` results) are kept by their source text and
// shared by every machine in the process: the source is a pure function of
// the block's bytes (everything else arrives as arguments), and closures made
// by one factory share V8's feedback and optimized code, so a block that was
// hot in an earlier machine (a bench run, a campaign's previous case) starts
// warm instead of being parsed and tiered up again.
type Factory = (...args: unknown[]) => Block['run'];
const FACTORIES = new Map<string, Factory>();
/** Compiled blocks by their bytes, shared by every machine likewise. */
const BLOCKS = new Map<string, Block>();
const MAX_FACTORIES = 4096;

/** Compile the block at `physical`, or null when fewer than two instructions qualify. */
export function compileBlock(cpu: Cpu, physical: number): Block | null {
  const ds = collect(cpu, physical);
  if (ds.length < 2) return null;
  const n = ds.length;
  const starts: number[] = [];
  let offset = 0;
  for (const d of ds) { starts.push(offset); offset += d.length; }
  const bytes = offset;
  // The same bytes decode to the same instructions (Decoded objects are
  // never changed after decoding) and so to the same function, which takes
  // the machine as an argument: a later machine reuses it, optimized code
  // (on-stack-replaced loops included) and all.
  let key = '';
  for (let i = 0; i < bytes; i++) key += String.fromCharCode(cpu.memory.read8(physical + i));
  const cached = BLOCKS.get(key);
  if (cached !== undefined) return cached;
  const ends = ds.map((d, k) => starts[k] + d.length);
  // Jumps whose target is an instruction of this block stay inside the
  // function (block chaining within the frame): `pc` selects where the
  // switch below resumes. Index 0 is always a target (a loop to the start).
  const internal = (k: number): number => {
    const d = ds[k];
    return isInlinedBranch(d) ? starts.indexOf(ends[k] + d.imm) : -1;
  };
  const targets = new Set<number>([0]);
  ds.forEach((_, k) => { const j = internal(k); if (j >= 0) targets.add(j); });

  const lines: string[] = [];
  let known: KnownFlags | null = null;
  ds.forEach((d, k) => {
    if (targets.has(k)) { lines.push(`case ${k}:`); known = null; }
    const next = `(eip + ${ends[k]}) >>> 0`;
    // The generic path: the executor, after which a store to code or a
    // changed code-page translation ends the block.
    const call = `k = ${k}; cpu.next = ${next}; e${k}(cpu, d${k});
      if (cpu.codeWritten || cpu.fetchPage !== page) { cpu.eip = cpu.next; return done + ${k + 1}; }
      if (log.length !== 0) log.length = 0;`;
    if (isInlinedBranch(d)) {
      const j = internal(k);
      // Retired so far is done + (index of the current instruction); a jump
      // from k to j keeps that true by moving `done`, and goes on inside
      // the function only while a whole pass from j still fits the budget.
      const taken = j >= 0
        ? `{ const nd = done + ${k + 1 - j}; if (nd + ${n} <= budget && !cpu.codeWritten && cpu.fetchPage === page) { done = nd; pc = ${j}; continue; } cpu.eip = t; return done + ${k + 1}; }`
        : `{ cpu.eip = t; return done + ${k + 1}; }`;
      const jump = `{ const t = (eip + ${ends[k] + d.imm}) >>> 0; if (t > ${CS_LIMIT}) { k = ${k}; cpu.next = ${next}; e${k}(cpu, d${k}); } ${taken} }`;
      if (d.exec === control.jumpRelative) lines.push(jump);
      else {
        const test = (known === null ? null : knownCondition(known, d.variant)) ?? recordCondition(d.variant);
        lines.push(`if (${test}) ${jump}`);
      }
      // A conditional jump not taken changes nothing: what is known stays.
      if (d.exec === control.jumpRelative) known = null;
      return;
    }
    const inline = inlineRegister(d);
    if (inline !== null) { lines.push(inline.code); known = inline.flags ?? (FLAG_NEUTRAL.has(d.exec) ? known : null); return; }
    if (!FLAG_NEUTRAL.has(d.exec)) known = null;
    const faultExit = `{ cpu.blockRetired = done + ${k}; cpu.eip = (eip + ${starts[k]}) >>> 0; return -1; }`;
    lines.push(inlineMemory(d, call, faultExit) ?? call);
  });
  // Falling off the end: EIP after the last instruction, unless the last
  // was a transfer the executor made (then cpu.next), which may loop to
  // the block's start like an inline jump.
  const last = ds[n - 1];
  const end = ENDS_BLOCK.has(last.exec) && !isInlinedBranch(last)
    ? `if (cpu.next === eip && done + ${2 * n} <= budget && !cpu.codeWritten && cpu.fetchPage === page) {
      done += ${n}; pc = 0; continue;
    }
    cpu.eip = cpu.next; return done + ${n};`
    : `cpu.eip = (eip + ${bytes}) >>> 0; return done + ${n};`;
  // Flat segments without paging, decided on entry (block-memory.ts `physical`).
  const flat = [...new Set(lines.join('\n').match(/\bf[rw]\d\b/g) ?? [])]
    .map((name) => `, ${name} = flat(cpu, ${name[2]}, ${name[1] === 'w'})`).join('');
  const body = `return function block(cpu, eip, page, budget) {
  const log = cpu.undoLog, r = cpu.r32, r8 = cpu.r8, r16 = cpu.r16, bytes = cpu.memory.bytes, view = cpu.memory.view,
    msz = cpu.memory.size, codes = cpu.memory.codePages${flat};
  let k = 0, done = 0, pc = 0, fa = 0, fb = 0, fx = 0;
  try {
    for (;;) {
      switch (pc) {
      ${lines.join('\n      ')}
      }
      ${end}
    }
  } catch (e) {
    cpu.blockRetired = done + k;
    cpu.eip = (eip + starts[k]) >>> 0;
    throw e;
  }
};`;
  let factory = FACTORIES.get(body);
  if (factory === undefined) {
    const params = ds.flatMap((_, k) => [`e${k}`, `d${k}`]);
    factory = new Function('starts', 'cf', 'cond', 'mask', 'par', 'rd', 'wr', 'pf', 'flat', ...params, body) as Factory;
    if (FACTORIES.size >= MAX_FACTORIES) FACTORIES.clear();
    FACTORIES.set(body, factory);
  }
  const args: unknown[] = [starts, computeFlag, condition, MASK, parityOf, fastReadAddress, fastWriteAddress, pageFaultAhead, flatSegment];
  for (const d of ds) args.push(d.exec, d);
  const block: Block = { run: factory(...args), length: n, bytes };
  if (BLOCKS.size >= MAX_FACTORIES) BLOCKS.clear();
  BLOCKS.set(key, block);
  return block;
}
