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
import { ARITH, CF, MASK, OF, PF, SF, ZF, computeFlagOf, conditionOf, parityOf } from './flags';
import { CR0_PG, TLB_DIRTY, TLB_USER, TLB_VALID, TLB_WRITABLE } from './paging';
import { CS_LIMIT, type KnownFlags, inlineRegister, isInlinedJump, isInlinedBranch, knownCondition, recordCondition } from './block-inline';
import { inlineMemory } from './block-memory';
import { mutated, mutation } from './mutants';
import { fastReadAddress, fastWriteAddress, flatSegment, walkAhead } from './fast-access';
import * as alu from './ops/alu';
import * as shift from './ops/shift';
import * as mul from './ops/multiply';
import * as bits from './ops/bits';
import * as move from './ops/move';
import * as control from './ops/control';
import * as far from './ops/far';
import * as system from './ops/system';


const MAX_LENGTH = 32;

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

/** IRET and INT n end a block too, as its last instruction: they change CS
 * (so the code-page translation the block checks after an executor call),
 * and the block leaves at once with EIP at the handler or the return
 * address. The runner reports INT n's event after the block
 * (`cpu.softwareVector`), as step() does after the instruction. So a
 * system-call or fault handler's last block runs its IRET, and the caller's
 * block its INT, without a dispatch through the interpreter. */
const LEAVES_BLOCK = new Set<unknown>([far.interruptReturn, system.softwareInterrupt]);

/** MOV r32, CRn (reading a control register) is straight: no effect but the
 * register (and #GP outside ring 0, a fault like any other in a block). */
const readsControlRegister = (d: Decoded): boolean => d.exec === system.moveControlRegister && d.variant === 0;

/** Instructions that leave the flags and the block's fa/fb/fx alone (inline
 * or through their executor), so a Jcc after them still knows the flags of
 * the ALU instruction before them (MOV between CMP and Jcc). */
const FLAG_NEUTRAL = new Set<unknown>([
  move.moveRmReg, move.moveRegRm, move.moveRmImm, move.moveExtend, move.loadEffectiveAddress, move.pushRegister, move.popRegister,
]);

/** Instructions from physical address `physical` up to the block's end (decoded from RAM, no side effects). */
function collect(cpu: Cpu, physical: number): Decoded[] {
  const memory = cpu.memory, pageEnd = (physical | 0xfff) + 1;
  // What the interpreter decoded in this frame is reused (the same bytes
  // decode to the same instruction); the rest is decoded here.
  const cached = cpu.codeCache[physical >>> 12];
  const out: Decoded[] = [];
  let at = physical;
  while (out.length < MAX_LENGTH) {
    let d = cached === undefined ? undefined : cached[at & 0xfff];
    if (d === undefined) {
      try {
        d = decode((i) => {
          if (at + i >= pageEnd) throw PAST_PAGE;
          return memory.read8(at + i);
        });
      } catch {
        break; // past the frame, #UD, or outside this machine: the interpreter handles it
      }
    }
    // 16-bit addressing (0x67) stays with the interpreter: the compiled address arithmetic is 32-bit.
    if (d.addressMask !== 0xffffffff) break;
    const straight = STRAIGHT.has(d.exec) || d.name === 'nop' || readsControlRegister(d);
    const leaves = LEAVES_BLOCK.has(d.exec);
    if (!straight && !leaves && !ENDS_BLOCK.has(d.exec)) break;
    out.push(d);
    at += d.length;
    if (leaves) break;
    // A conditional jump inside a block is a side exit (block-inline.ts);
    // any other transfer ends the block.
    if (!straight && !isInlinedJump(d)) break;
    // A conditional jump back to the block's first instruction closes its
    // loop and ends the block: the code after the loop, if it gets hot, is a
    // block of its own. So each loop is a function of its own, which V8
    // optimizes with the type feedback of that loop alone (one function
    // holding a program's successive loops is optimized, deoptimized on
    // reaching the next loop, and optimized again, at every phase).
    if (isInlinedJump(d) && ((at + d.imm) | 0) === physical) break;
  }
  return out;
}
const PAST_PAGE = new Error('past the page');

/** Whether a jump inside the block goes back (to its own instruction or an earlier one). */
function loopsBack(ds: readonly Decoded[]): boolean {
  let offset = 0;
  const starts = ds.map((d) => { const at = offset; offset += d.length; return at; });
  return ds.some((d, k) => {
    if (!isInlinedBranch(d)) return false;
    const j = starts.indexOf(starts[k] + d.length + d.imm);
    return j >= 0 && j <= k;
  });
}

/** The flags each condition code reads (flags.ts condition). */
const CONDITION_READS = [OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF];

/**
 * Which arithmetic flags are live after each instruction of the block: read
 * (by a Jcc, an executor, a fault's delivery, or anything after the block)
 * before an inlined instruction writes them again. An inlined instruction
 * whose flags are all dead leaves out their update (block-inline.ts): the
 * alu kernel's ROL, SHR and IMUL flags are overwritten by the next ALU
 * instruction, so they are never computed. Everything but an inlined
 * register instruction or jump counts as reading every flag, and so does
 * leaving the block.
 */
function liveFlags(ds: readonly Decoded[], internal: (k: number) => number): number[] {
  const n = ds.length;
  const reads: number[] = [], writes: number[] = [], successors: number[][] = [];
  ds.forEach((d, k) => {
    const fallThrough = k + 1 < n ? [k + 1] : [-1];
    if (isInlinedBranch(d)) {
      const j = internal(k);
      reads.push(d.exec === control.jumpRelative ? 0 : CONDITION_READS[d.variant >> 1]);
      writes.push(0);
      successors.push(d.exec === control.jumpRelative ? [j] : [...fallThrough, j]);
      return;
    }
    const inline = d.name === 'nop' ? { writes: 0 } : inlineRegister(d);
    reads.push(inline === null ? ARITH : 0);
    writes.push(inline === null ? 0 : inline.writes);
    successors.push(fallThrough);
  });
  const liveIn = new Array<number>(n).fill(0), liveOut = new Array<number>(n).fill(0);
  for (let changed = true; changed;) {
    changed = false;
    for (let k = n - 1; k >= 0; k--) {
      const out = successors[k].reduce((m, s) => m | (s < 0 ? ARITH : liveIn[s]), 0);
      const into = reads[k] | (out & ~writes[k]);
      if (out !== liveOut[k] || into !== liveIn[k]) { liveOut[k] = out; liveIn[k] = into; changed = true; }
    }
  }
  return liveOut;
}

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

/** Compile the block at `physical`, or null when fewer than two
 * instructions qualify; with `onlyLoops`, undefined (not yet) when the
 * block does not loop. */
export function compileBlock(cpu: Cpu, physical: number, onlyLoops = false): Block | null | undefined {
  const ds = collect(cpu, physical);
  if (ds.length < 2) return null;
  if (onlyLoops && !loopsBack(ds)) return undefined;
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
  // A mutant (tests only) compiles different code from the same bytes.
  if (mutation.active !== null) key = `${mutation.active}:${key}`;
  const cached = BLOCKS.get(key);
  if (cached !== undefined) return cached;
  const ends = ds.map((d, k) => starts[k] + d.length);
  // Jumps whose target is an instruction of this block stay inside the
  // function (block chaining within the frame): `pc` selects where the
  // switch below resumes. Index 0 is always a target (a loop to the start);
  // when it is the only one, there is no switch (the loop body is the code).
  const internal = (k: number): number => {
    const d = ds[k];
    return isInlinedBranch(d) ? starts.indexOf(ends[k] + d.imm) : -1;
  };
  // A forward Jcc to an instruction that nothing else jumps to, over
  // instructions that no jump lands in, is written as an if/else (taken:
  // skip ahead, moving `done` as a jump does; no budget check is needed, the
  // pass gets no longer) instead of a resume index: the alu kernel's loop
  // then needs no switch at all. Ranges must nest.
  const jumpsTo = new Map<number, number[]>();
  ds.forEach((_, k) => { const j = internal(k); if (j >= 0) jumpsTo.set(j, [...(jumpsTo.get(j) ?? []), k]); });
  const skips = new Map<number, number>(); // Jcc index -> the index it skips to
  ds.forEach((d, k) => {
    const j = internal(k);
    if (j <= k || d.exec !== control.jumpConditional || jumpsTo.get(j)!.length !== 1) return;
    for (let i = k + 1; i < j; i++) if (jumpsTo.has(i)) return;
    skips.set(k, j);
  });
  for (const [k, j] of [...skips]) {
    for (const [k2, j2] of skips) if (k2 > k && k2 < j && j2 > j) skips.delete(k);
  }
  const skipped = new Set(skips.values());
  const targets = new Set<number>([0]);
  ds.forEach((_, k) => { const j = internal(k); if (j >= 0 && !skipped.has(j)) targets.add(j); });
  // An inner loop (a jump back from k to j, with no other jump landing in
  // j+1..k and no if/else range crossing j or k) is written as a JavaScript
  // loop of its own, `L<j>: for (;;) { ... }`, instead of a resume index
  // through the switch: V8 then sees an ordinary loop (the sieve's crossing-
  // out loop runs inside the block of its outer loop). Its back edge keeps
  // the same budget test. Jumps elsewhere go through the switch as before.
  const innerLoops = new Map<number, number>(); // head j -> back-edge index k
  if (targets.size > 1) {
    ds.forEach((d, k) => {
      const j = internal(k);
      if (j < 0 || j > k) return;
      for (const t of targets) if (t > j && t <= k) return;
      for (const [a, b] of skips) if (!((a >= j && b <= k) || b <= j || a > k)) return;
      const other = innerLoops.get(j);
      if (other === undefined || other < k) innerLoops.set(j, k);
    });
    for (const j of innerLoops.keys()) if (j !== 0 && jumpsTo.get(j)!.length === 1) targets.delete(j);
  }
  const backEdges = new Map([...innerLoops].map(([j, k]) => [k, j]));

  // The block's registers and flags live in locals (block-inline.ts); OUT
  // writes them back to the machine (before an executor call and before
  // leaving the block), IN reads them again after an executor call. Which
  // registers and flag fields they cover is known once all code is written,
  // so they are placeholders until then.
  const OUT = '@OUT@', IN = '@IN@';
  // Leaving the block: every exit sets the next EIP and the return value and
  // breaks out to one epilogue, which writes the locals back.
  const exit = (nextEip: string, retired: string): string => `{ xe = ${nextEip}; xr = ${retired}; break run; }`;
  const live = liveFlags(ds, internal);
  // The function's source for one mode: `flatMode` compiles the variant that
  // runs only while every segment the block accesses is flat and paging is
  // off (block-memory.ts `physical`); the entry below picks it.
  const source = (flatMode: boolean): string => {
    const lines: string[] = [];
    let known: KnownFlags | null = null;
    ds.forEach((d, k) => {
      for (const j of skips.values()) if (j === k) { lines.push('}'); known = null; }
      if (targets.has(k)) { if (targets.size > 1) lines.push(`case ${k}:`); known = null; }
      if (innerLoops.has(k)) { lines.push(`L${k}: for (;;) {`); known = null; }
      const next = `(eip + ${ends[k]}) >>> 0`;
      // The generic path: the executor, after which a store to code or a
      // changed code-page translation ends the block.
      const call = `k = ${k}; cpu.next = ${next}; ${OUT} x${k}(cpu, d${k});
        if (cpu.codeWritten || cpu.fetchPage !== page) { cpu.eip = cpu.next; return done + ${k + 1}; }
        cpu.undoTop = 0; ${IN}`;
      if (isInlinedBranch(d)) {
        const j = internal(k);
        // Retired so far is done + (index of the current instruction); a jump
        // from k to j keeps that true by moving `done`, and goes on inside
        // the function only while a whole pass from j still fits the budget.
        // (Nothing inline changes the code or the code page's translation,
        // and an executor call that does leaves the block at once.)
        const again = backEdges.get(k) === j ? `continue L${j};` : `pc = ${j}; continue run;`;
        const taken = backEdges.get(k) === j && mutated('inner-loop-ignores-budget') ? `{ done += ${k + 1 - j}; ${again} }`
          : j >= 0
          ? `{ const nd = done + ${k + 1 - j}; if (nd <= lim) { done = nd; ${again} } ${exit('t', `done + ${k + 1}`)} }`
          : exit('t', `done + ${k + 1}`);
        // A target inside the block lies within the CS limit (run.ts enters a
        // block only when all of it does); one outside is checked.
        const check = j >= 0 ? '' : `if (t > ${CS_LIMIT}) { k = ${k}; cpu.next = ${next}; ${OUT} x${k}(cpu, d${k}); }`;
        const jump = `{ const t = (eip + ${ends[k] + d.imm}) >>> 0; ${check} ${taken} }`;
        const test = d.exec === control.jumpRelative ? ''
          : (known === null ? null : knownCondition(known, d.variant)) ?? recordCondition(d.variant);
        if (skips.has(k)) lines.push(`if (${test}) { done += ${k + 1 - j}; } else {`);
        else if (d.exec === control.jumpRelative) lines.push(jump);
        else lines.push(`if (${test}) ${jump}`);
        // A conditional jump not taken changes nothing: what is known stays.
        if (d.exec === control.jumpRelative) known = null;
        if (backEdges.has(k)) lines.push('break; }');
        return;
      }
      if (d.name === 'nop') return; // no effect but EIP, which the block's count and exits carry
      const inline = inlineRegister(d, live[k], known);
      if (inline !== null) { lines.push(inline.code); known = inline.flags ?? (FLAG_NEUTRAL.has(d.exec) ? known : null); return; }
      if (!FLAG_NEUTRAL.has(d.exec)) known = null;
      const faultExit = `{ cpu.blockRetired = done + ${k}; ${exit(`(eip + ${starts[k]}) >>> 0`, '-1')} }`;
      lines.push(inlineMemory(d, call, faultExit, flatMode) ?? call);
    });
    // Falling off the end: EIP after the last instruction, unless the last
    // was a transfer the executor made (then cpu.next), which may loop to
    // the block's start like an inline jump.
    const last = ds[n - 1];
    const end = LEAVES_BLOCK.has(last.exec) ? exit('cpu.next', `done + ${n}`)
      : ENDS_BLOCK.has(last.exec) && !isInlinedBranch(last)
      ? `if (cpu.next === eip && done + ${n} <= lim) { done += ${n}; pc = 0; continue run; }
      ${exit('cpu.next', `done + ${n}`)}`
      : exit(`(eip + ${bytes}) >>> 0`, `done + ${n}`);
    let code = lines.join('\n      ');
    // Locals pay off in a loop; a block that runs through once would only
    // copy every value in and out (and its source, parsed by V8 for every
    // block, would grow with each executor call): there every local is
    // written as the machine's field it stands for.
    const loops = ds.some((_, k) => { const j = internal(k); return j >= 0 && j <= k; }) || end.includes('pc = 0; continue');
    // (fa, fb, fx stay locals: snippets with dead flags shadow them.)
    if (!loops) {
      const FIELDS: Record<string, string> = { fl: 'cpu.flags', lz: 'cpu.lazy', lop: 'cpu.lastOp', ls: 'cpu.lastSize' };
      code = code.replace(/\bR([0-7])\b/g, 'r[$1]').replace(/\b(fl|lz|lop|ls)\b/g, (name) => FIELDS[name]);
    }
    const registers = [...new Set(code.match(/\bR[0-7]\b/g) ?? [])].sort();
    const written = [...new Set([...code.matchAll(/\b(R[0-7]) = /g)].map((m) => m[1]))].sort();
    // The flag locals the code names, with their fields: a local it never
    // names never changes, so its field needs no copy in or out.
    const FLAGS = ['fl', 'flags', 'lz', 'lazy', 'lop', 'lastOp', 'fa', 'lastA', 'fb', 'lastB', 'fx', 'lastResult', 'ls', 'lastSize'];
    const flagPairs: Array<[string, string]> = FLAGS.flatMap((v, i) => (i % 2 === 0 && new RegExp(`\\b${v}\\b`).test(code) ? [[v, FLAGS[i + 1]] as [string, string]] : []));
    const out = [...written.map((R) => `r[${R[1]}] = ${R};`), ...flagPairs.map(([v, f]) => `cpu.${f} = ${v};`)].join(' ');
    const reload = [...registers.map((R) => `${R} = r[${R[1]}];`), ...flagPairs.map(([v, f]) => `${v} = cpu.${f}${f.startsWith('last') ? ' | 0' : ''};`)].join(' ');
    const declare = [...registers.map((R) => `${R} = r[${R[1]}]`), ...flagPairs.map(([v, f]) => `${v} = cpu.${f}${f.startsWith('last') ? ' | 0' : ''}`),
      ...['fa', 'fb', 'fx'].filter((v) => !flagPairs.some(([w]) => w === v)).map((v) => `${v} = 0`)].join(', ');
    code = code.replaceAll(OUT, out).replaceAll(IN, reload);
    const endCode = end;
    // Flat segments, decided on entry (block-memory.ts `physical`).
    const flat = [...new Set(code.match(/\bf[rw]\d\b/g) ?? [])]
      .map((name) => `, ${name} = flat(cpu, ${name[2]}, ${name[1] === 'w'})`).join('');
    const paging = /\bpg\b/.test(code)
      ? `, pg = (cpu.cr0 & ${CR0_PG}) !== 0, tlb = cpu.tlb, rneed = cpu.cpl === 3 ? ${TLB_VALID | TLB_USER} : ${TLB_VALID}, wneed = rneed | ${TLB_WRITABLE | TLB_DIRTY}`
      : '';
    return `function ${flatMode ? 'blockFlat' : 'block'}(cpu, eip, page, budget) {
    const r = cpu.r32, bytes = cpu.memory.bytes, view = cpu.memory.view,
      msz = cpu.memory.size, codes = cpu.memory.codePages, cbytes = cpu.codeBytes${flat}${paging};
    // lim: the most instructions retired before a pass may start again (a whole pass must fit the budget).
    const lim = budget - ${n};
    let k = 0, done = 0, pc = 0, tl = 0, xe = 0, xr = 0, cb = undefined, ${declare};
    try {
      run: for (;;) {
        ${targets.size > 1 ? `switch (pc) {
        ${code}
        }` : code}
        ${endCode}
      }
    } catch (e) {
      cpu.blockRetired = done + k;
      cpu.eip = (eip + starts[k]) >>> 0;
      throw e;
    }
    ${out}
    cpu.eip = xe;
    return xr;
  }`;
  };
  const general = source(false);
  // A looping block with memory operands also gets the flat variant,
  // chosen once on entry: its accesses skip the segment and paging tests.
  const flatNames = [...new Set(general.match(/\bf[rw]\d\b/g) ?? [])];
  const flatEntry = flatNames.map((name) => `flat(cpu, ${name[2]}, ${name[1] === 'w'})`).join(' && ');
  const body = flatNames.length === 0 || !/\bcontinue\b/.test(general)
    ? `return ${general};`
    : `const general = ${general};
const flatOnly = ${source(true)};
return function enter(cpu, eip, page, budget) {
  return (cpu.cr0 & ${CR0_PG}) === 0 && ${flatEntry} ? flatOnly(cpu, eip, page, budget) : general(cpu, eip, page, budget);
};`;
  let factory = FACTORIES.get(body);
  if (factory === undefined) {
    const params = ds.flatMap((_, k) => [`x${k}`, `d${k}`]);
    factory = new Function('starts', 'fo', 'cnd', 'mask', 'par', 'rd', 'wr', 'wa', 'flat', ...params, body) as Factory;
    if (FACTORIES.size >= MAX_FACTORIES) FACTORIES.clear();
    FACTORIES.set(body, factory);
  }
  const args: unknown[] = [starts, computeFlagOf, conditionOf, MASK, parityOf, fastReadAddress, fastWriteAddress, walkAhead, flatSegment];
  for (const d of ds) args.push(d.exec, d);
  const block: Block = { run: factory(...args), length: n, bytes };
  if (BLOCKS.size >= MAX_FACTORIES) BLOCKS.clear();
  BLOCKS.set(key, block);
  return block;
}
