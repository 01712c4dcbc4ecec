// Lock-step comparison of two machines (model and impl): step both, compare
// the common state after every step, masked only by the EFLAGS bits the
// model says are architecturally undefined at that point (its ghost field
// `undefinedFlags`). Memory is compared over the pages either machine may
// have written, at the end of a run or when asked.
import type { CommonState, Machine, SegmentRegister, StepEvent } from '../../model/machine';
import { withoutRule, type ModelMachine } from '../machines/model';
import { decode } from '../../model/isa/decoder';
import { changedPages, emptyMemory, readBytesInto, readPhysical } from '../../model/cpu/memory';
import { translate } from '../../model/cpu/paging';
import { readLinear } from '../../model/cpu/context';
import { isRepString } from './states';

export interface Divergence {
  readonly step: number;
  /** EIP before the step that diverged. */
  readonly eip: number;
  readonly differences: readonly string[];
  readonly modelEvent: StepEvent;
  readonly implEvent: StepEvent;
  /** For a random case: the instruction bytes under test and the state it started from. */
  readonly code?: Uint8Array;
  readonly initial?: CommonState;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

// [DIFF.STATE.1]
/** Field-by-field differences between two common states ('' when equal). */
export function stateDifferences(model: CommonState, impl: CommonState, undefinedFlags: number): string[] {
  const out: string[] = [];
  const walk = (path: string, a: unknown, b: unknown): void => {
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
      for (const key of Object.keys(a)) walk(path ? `${path}.${key}` : key, (a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]);
      return;
    }
    // [DIFF.MASK.1] Undefined EFLAGS bits are the only ones left out.
    if (path === 'eflags') {
      if (((a as number) & ~undefinedFlags) !== ((b as number) & ~undefinedFlags)) {
        out.push(`eflags (undefined ${hex(undefinedFlags)} masked): model ${hex(a as number)} impl ${hex(b as number)}`);
      }
      return;
    }
    if (a !== b) out.push(`${path}: model ${typeof a === 'number' ? hex(a) : String(a)} impl ${typeof b === 'number' ? hex(b) : String(b)}`);
  };
  walk('', model, impl);
  return out;
}

/** Equal as stateDifferences sees it (every field, EFLAGS under the same
 * mask), without building the list: the common case, once per compared
 * step; the list is built only when this says they differ. Written field by
 * field for speed; test/diff-lockstep-agree.test.ts changes every field of a
 * state in turn and checks that this notices, so a field added to
 * CommonState and forgotten here fails that test. */
export function statesAgree(a: CommonState, b: CommonState, undefinedFlags: number): boolean {
  return ((a.eflags & ~undefinedFlags) === (b.eflags & ~undefinedFlags))
    && a.eip === b.eip && sameRegisters(a.regs, b.regs)
    && a.cr0 === b.cr0 && a.cr2 === b.cr2 && a.cr3 === b.cr3 && a.cr4 === b.cr4
    && a.halted === b.halted && a.instructionCount === b.instructionCount
    && sameSegment(a.segments.es, b.segments.es) && sameSegment(a.segments.cs, b.segments.cs)
    && sameSegment(a.segments.ss, b.segments.ss) && sameSegment(a.segments.ds, b.segments.ds)
    && sameSegment(a.segments.fs, b.segments.fs) && sameSegment(a.segments.gs, b.segments.gs)
    && sameSegment(a.ldtr, b.ldtr) && sameSegment(a.tr, b.tr)
    && a.gdtr.base === b.gdtr.base && a.gdtr.limit === b.gdtr.limit
    && a.idtr.base === b.idtr.base && a.idtr.limit === b.idtr.limit
    && sameMsrs(a.msrs, b.msrs) && sameDebug(a.debug, b.debug);
}

const sameRegisters = (a: CommonState['regs'], b: CommonState['regs']): boolean =>
  a.eax === b.eax && a.ecx === b.ecx && a.edx === b.edx && a.ebx === b.ebx
  && a.esp === b.esp && a.ebp === b.ebp && a.esi === b.esi && a.edi === b.edi;

const sameSegment = (a: SegmentRegister, b: SegmentRegister): boolean =>
  a.selector === b.selector && a.base === b.base && a.limit === b.limit && a.attributes === b.attributes && a.valid === b.valid;

const sameMsrs = (a: CommonState['msrs'], b: CommonState['msrs']): boolean =>
  a === undefined || b === undefined ? a === b
    : a.tscOffsetHigh === b.tscOffsetHigh && a.tscOffsetLow === b.tscOffsetLow
      && a.sysenterCs === b.sysenterCs && a.sysenterEsp === b.sysenterEsp && a.sysenterEip === b.sysenterEip;

const sameDebug = (a: CommonState['debug'], b: CommonState['debug']): boolean =>
  a === undefined || b === undefined ? a === b
    : a.dr0 === b.dr0 && a.dr1 === b.dr1 && a.dr2 === b.dr2 && a.dr3 === b.dr3 && a.dr6 === b.dr6 && a.dr7 === b.dr7;

// [DIFF.EVENT.1]
function eventsEqual(a: StepEvent, b: StepEvent): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'shutdown' || a.kind === 'model-error') return true; // reasons are free text
  // The model's `rule` (the spec id of a fault) is not compared: impl has none.
  const x = withoutRule(a), y = withoutRule(b);
  // The same fields in the same order with the same values (as their JSON
  // texts would be equal), compared without writing the texts.
  const ka = Object.keys(x), kb = Object.keys(y);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i] || (x as Record<string, unknown>)[ka[i]!] !== (y as Record<string, unknown>)[kb[i]!]) return false;
  }
  return true;
}

export function undefinedFlagsOf(model: Machine): number {
  const m = model as Partial<ModelMachine>;
  const state = m.modelState?.() as { undefinedFlags?: number } | undefined;
  return state?.undefinedFlags ?? 0;
}

/**
 * [DIFF.REP.1] True when the next instruction of a random case is a REP string
 * instruction whose count (ECX) exceeds `max`. Random cases run with CS base 0
 * and the low memory identity mapped, so EIP is the physical address of the
 * next instruction; anywhere else this reports false and the step runs.
 */
export function longRepNext(machine: Machine, max: number, s: CommonState = machine.state()): boolean {
  if (s.regs.ecx >>> 0 <= max) return false;
  const at = (s.segments.cs.base + s.eip) >>> 0;
  if (at >= machine.memorySize) return false;
  const r = decode(machine.readPhysical(at, Math.min(16, machine.memorySize - at)));
  return r.kind === 'ok' && isRepString(r.instruction);
}

/**
 * [DIFF.CASE.3] Where a random case's drawn instructions are, as linear
 * addresses: the stream is [start, end); `stopAt` is the end of the zero
 * bytes after it (the rest of its page), or `end` for a run that goes on
 * through them (a replay file written before the rule). One step may start
 * in those bytes; the run stops before a second.
 */
export interface StreamBounds { readonly start: number; readonly end: number; readonly stopAt: number }

export interface LockstepRun {
  readonly steps: number;
  /** Of `steps`, those that started inside the stream (0 without `stream`). */
  readonly streamSteps: number;
  readonly divergence: Divergence | null;
  readonly last: StepEvent | null;
}

/**
 * Step both machines up to `steps` times, stopping at the first divergence,
 * or when both report `exit`, `shutdown`, `model-error` or (unless
 * `throughHalt`) `halted`, or (with `maxRepCount`, for random cases only)
 * before a REP string instruction whose count exceeds it [DIFF.REP.1], or
 * (with `stream`) before the second instruction that starts in the zero
 * bytes after the drawn stream [DIFF.CASE.3].
 */
export function lockstep(model: Machine, impl: Machine, steps: number, options: { readonly throughHalt?: boolean; readonly maxRepCount?: number; readonly stream?: StreamBounds; readonly onStep?: (event: StepEvent) => void } = {}): LockstepRun {
  let last: StepEvent | null = null;
  const alignable = impl as Partial<{ setEflags(value: number): void }>;
  // impl compares itself with a state without building its own (ImplMachine.agrees).
  const comparable = impl as Partial<{ agrees(state: CommonState, undefinedFlags: number): boolean }>;
  const stream = options.stream;
  let streamSteps = 0, zeroSteps = 0;
  // The model's state after a step is the state before the next one.
  let before = model.state();
  for (let i = 0; i < steps; i++) {
    if (options.maxRepCount !== undefined && longRepNext(model, options.maxRepCount, before)) return { steps: i, streamSteps, divergence: null, last };
    if (stream !== undefined) {
      const at = (before.segments.cs.base + before.eip) >>> 0;
      if (at >= stream.start && at < stream.end) streamSteps++;
      else if (at >= stream.end && at < stream.stopAt && zeroSteps++ > 0) return { steps: i, streamSteps, divergence: null, last };
    }
    const eip = before.eip, eflagsBefore = before.eflags;
    // Undefined flag bits are each machine's free choice; copy the model's
    // into impl so that later readers (PUSHF, ADC, a pushed frame) agree.
    const undefinedBits = undefinedFlagsOf(model);
    if (undefinedBits !== 0 && alignable.setEflags) {
      const implFlags = impl.state().eflags;
      alignable.setEflags(((implFlags & ~undefinedBits) | (before.eflags & undefinedBits)) >>> 0);
    }
    const modelEvent = model.step();
    const implEvent = impl.step();
    last = modelEvent;
    options.onStep?.(modelEvent);
    // The model cannot run this yet: not a disagreement, stop here.
    if (modelEvent.kind === 'model-error') return { steps: i + 1, streamSteps, divergence: null, last };
    const after = model.state(), mask = undefinedFlagsOf(model);
    before = after;
    if (mask !== 0 && (eflagsBefore & TF) !== 0 && modelEvent.kind === 'exception' && lockstepMutation.alignFrames) alignFrameFlags(model, impl, modelEvent, mask);
    const sameEvent = eventsEqual(modelEvent, implEvent);
    if (!sameEvent || !(comparable.agrees !== undefined ? comparable.agrees(after, mask) : statesAgree(after, impl.state(), mask))) {
      const differences = stateDifferences(after, impl.state(), mask);
      if (!sameEvent) differences.unshift(`event: model ${JSON.stringify(modelEvent)} impl ${JSON.stringify(implEvent)}`);
      if (differences.length > 0) return { steps: i + 1, streamSteps, divergence: { step: i, eip, differences, modelEvent, implEvent }, last };
    }
    // A guest that idles in HLT until its timer fires goes on when asked to.
    if (modelEvent.kind === 'exit' || modelEvent.kind === 'shutdown' || (modelEvent.kind === 'halted' && options.throughHalt !== true)) return { steps: i + 1, streamSteps, divergence: null, last };
  }
  return { steps, streamSteps, divergence: null, last };
}

const TF = 0x100;

/** For tests: turned off, DIFF.MASK.2 is skipped (test/diff-trap-frame.test.ts shows the campaign then fails). */
export const lockstepMutation = { alignFrames: true };

/**
 * [DIFF.MASK.2] The single-step trap (EXC.STEP.1) is delivered in the step of
 * the instruction it follows, so the EFLAGS image in its frame (or in the
 * frame of the fault that delivering it raised) holds the undefined bits
 * that instruction left, each machine's own choice, before DIFF.MASK.1 could
 * align them. After a step that started with TF set and ended in an
 * exception, the model's choice of those bits is copied into impl's frame
 * image: the EFLAGS dword (word, through a 16-bit gate) above EIP and CS,
 * and the error code if the exception has one, found through the model's
 * paging. For any other exception the bits were already aligned.
 */
function alignFrameFlags(model: Machine, impl: Machine, event: Extract<StepEvent, { kind: 'exception' }>, mask: number): void {
  const state = (model as Partial<ModelMachine>).modelState?.();
  if (state === undefined) return;
  const gate = readLinear(state, state.idtr.base + 8 * event.vector + 5, 1, false);
  if (gate.kind !== 'ok' || (gate.value.value & 0x7) === 5) return; // unreadable, or a task gate: no frame on this stack
  const wide = (gate.value.value & 0x8) !== 0;
  const slot = wide ? 4 : 2;
  // The frame's offset in SS: ESP, or SP on a 16-bit stack (B clear), where offsets wrap at 64 KiB.
  const big = (state.segments.ss.attributes & 0x4000) !== 0;
  const offset = state.regs[4]! + (event.errorCode !== null ? slot : 0) + 2 * slot;
  const image = (state.segments.ss.base + (big ? offset : offset & 0xffff)) >>> 0;
  for (let k = 0; k < slot; k++) {
    const bits = (mask >>> (8 * k)) & 0xff;
    if (bits === 0) continue;
    const physical = physicalOf(state, (image + k) >>> 0);
    if (physical === null || physical >= impl.memorySize) continue;
    const mine = readPhysical(state.memory, physical, 1);
    const theirs = impl.readPhysical(physical, 1)[0]!;
    impl.writePhysical(physical, Uint8Array.of((theirs & ~bits) | (mine & bits)));
  }
}

type ModelState = NonNullable<ReturnType<NonNullable<ModelMachine['modelState']>>>;

function physicalOf(state: ModelState, linear: number): number | null {
  const t = translate(state, linear, { write: false, user: false });
  return t.kind === 'ok' ? t.physical : null;
}

/** Zero bytes to compare with, never written: small enough to stay in the
 * processor's cache, so that checking a long run of memory for zeros reads
 * that memory only, not as many zeros from main memory besides. */
const ZEROS = Buffer.alloc(16384);

/** One page of the model's RAM at a time, read for the comparison (a page read is not kept past it). */
const MODEL_PAGE = Buffer.alloc(4096);

/** Whether `bytes` are all zero (compared chunk by chunk with ZEROS). */
function allZero(bytes: Buffer): boolean {
  for (let at = 0; at < bytes.length; at += ZEROS.length) {
    const chunk = bytes.subarray(at, at + ZEROS.length);
    if (!chunk.equals(ZEROS.subarray(0, chunk.length))) return false;
  }
  return true;
}

/** The pages of `a` and `b` (ascending page addresses) in [start, end), ascending, each once. */
export function pagesOfEither(a: readonly number[], b: readonly number[], start: number, end: number): number[] {
  const out: number[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    const page = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < a.length && a[i] === page) i++;
    while (j < b.length && b[j] === page) j++;
    if (page >= start && page < end) out.push(page);
  }
  return out;
}

// [DIFF.MEMORY.1]
/** Differences in physical memory over [start, end), reported per 4 KiB page. */
export function memoryDifferences(model: Machine, impl: Machine, start: number, end: number): string[] {
  const out: string[] = [];
  const mine = (model as Partial<ModelMachine>).modelState?.().memory;
  const theirs = impl.viewPhysical?.(start, end - start);
  if (mine !== undefined && mine.base === null && theirs !== undefined && start % 4096 === 0) {
    // The model's pages never written are zero: only those written are read
    // out of the model.
    const written = changedPages(emptyMemory(mine.size), mine, start, end);
    const view = (from: number, to: number): Buffer => Buffer.from(theirs.buffer, theirs.byteOffset + (from - start), to - from);
    const differs = (a: Buffer | null, b: Buffer, at: number): void => {
      // a null: the model's bytes are zero there.
      if (a === null ? allZero(b) : a.equals(b)) return;
      if (a === null) a = Buffer.alloc(b.length);
      // One line per page, at its first differing byte.
      for (let page = at; page < at + a.length; page += 4096) {
        const i = page - at + a.subarray(page - at, page - at + 4096).findIndex((x, k) => x !== b[page - at + k]);
        if (i >= page - at) out.push(`memory ${hex(at + i)}: model ${hex(a[i]!)} impl ${hex(b[i]!)}`);
      }
    };
    const modelPage = (page: number, length: number): Buffer => {
      const bytes = MODEL_PAGE.subarray(0, length);
      readBytesInto(mine, page, bytes);
      return bytes;
    };
    // impl's pages never written are zero too, when it recorded them (a
    // machine made to: Machine.writtenPages): then only the pages either
    // machine wrote are compared, and the rest is zero on both sides.
    const implWritten = impl.writtenPages?.() ?? null;
    if (implWritten !== null) {
      let k = 0;
      for (const page of pagesOfEither(written, implWritten, start, end)) {
        const length = Math.min(4096, end - page);
        while (k < written.length && written[k]! < page) k++;
        differs(written[k] === page ? modelPage(page, length) : null, view(page, page + length), page);
      }
      return out;
    }
    // Otherwise each run of the pages the model never wrote is checked for zeros (allZero).
    let from = start;
    for (const page of [...written, end]) {
      if (page > from) differs(null, view(from, page), from);
      if (page === end) break;
      const length = Math.min(4096, end - page);
      differs(modelPage(page, length), view(page, page + length), page);
      from = page + length;
    }
    return out;
  }
  const whole = (m: Machine): Buffer => {
    const a = m.viewPhysical?.(start, end - start) ?? m.readPhysical(start, end - start);
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  };
  const a = whole(model), b = whole(impl);
  // One native comparison first: nearly always the memories are equal.
  if (a.equals(b)) return out;
  for (let page = 0; page < a.length; page += 4096) {
    if (a.subarray(page, page + 4096).equals(b.subarray(page, page + 4096))) continue;
    for (let i = page; i < Math.min(page + 4096, a.length); i++) {
      if (a[i] !== b[i]) { out.push(`memory ${hex(start + i)}: model ${hex(a[i]!)} impl ${hex(b[i]!)}`); break; }
    }
  }
  return out;
}
