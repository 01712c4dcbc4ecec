// One step of the machine: deliver a pending interrupt, or wait in HLT, or
// fetch, decode and execute one instruction, delivering any exception it
// raises (with the double-fault and shutdown rules).
import type { Instruction } from '../isa/ast';
import type { StepEvent } from '../machine';
import { countRetired, update, type MachineState } from './state';
import { cpl } from './context';
import { blocksOf, hasBlocks, readPhysical, writePhysical, type PhysicalMemory } from './memory';
import { accessOf, translate } from './paging';
import { execute, handlerFor } from './execute';
import type { Handler } from './outcome';
import { deliverInterrupt, type EventSource } from './interrupts';
import { acknowledgeInterrupt, advanceTime, instructionsUntilTimer, interruptPending, waitIdle } from './devices';
import { IF, OF, TF } from './eflags';
import { fault, Vector, type Fault } from './outcome';
import { applied, eventName, explaining, hexNote } from './applied';
import { loadsStackSegment } from './system/segments';

/** The decoder's answer, as model/isa/decoder.ts gives it. */
export type DecodeResult =
  | { readonly kind: 'ok'; readonly instruction: Instruction; readonly length: number }
  | { readonly kind: 'undefined'; readonly length?: number; readonly rule?: string }
  | { readonly kind: 'unsupported'; readonly reason: string }
  | { readonly kind: 'truncated'; readonly needed?: number }
  | { readonly kind: 'too-long' };
export type Decoder = (bytes: ArrayLike<number>, offset?: number) => DecodeResult;

export interface StepResult {
  readonly state: MachineState;
  readonly event: StepEvent;
}

/** The state before a faulting instruction, plus the stores its fault keeps. */
function withKeptWrites(state: MachineState, f: Fault): MachineState {
  if (f.keptWrites === undefined || f.keptWrites.length === 0) return state;
  const memory = f.keptWrites.reduce((m, w) => writePhysical(m, w.physical, 1, w.value), state.memory);
  return update(state, { memory });
}

/** The longest legal instruction. */
const MAX_LENGTH = 15;

type Fetched =
  | { readonly kind: 'ok'; readonly instruction: Instruction; readonly length: number; readonly handler: Handler | undefined; readonly state: MachineState }
  // The bytes were fetched (their page walks stand) but are no instruction.
  | { readonly kind: 'undefined-opcode'; readonly state: MachineState; readonly rule: string }
  | Fault
  | { readonly kind: 'model-error'; readonly message: string };

/**
 * [EXC.FETCH.1] Fetch and decode the instruction at CS:EIP. Bytes are
 * fetched a page at a time and only as far as the decoder needs them: a
 * fetch crosses into the next page only if the instruction does, so the page
 * fault of a fetch names the first missing byte. Bytes past the CS limit
 * fault #GP(0); more than 15 bytes fault #GP(0); an undefined opcode #UD.
 */
/** Decoded instructions by physical address, each with its handler
 * (execute.ts handlerFor) and the memory blocks it was decoded from
 * (memory.ts blocksOf). A hit is used only when memory
 * still has those very blocks there, which never change, so the cache can
 * never be stale: it memoizes pure functions (decode, handlerFor) and is not machine
 * state. (Blocks that are absent read as a base memory's bytes when there is
 * one, and those can change: no hit then.) Cleared when it grows large.
 * The entries of a page are in one array, found by the page's physical
 * address; the array of the last page fetched from is kept at hand, since
 * the next fetch is nearly always from the same page (a Map lookup an
 * instruction was a tenth of the fetch). */
interface Decoded { readonly blocks: ReturnType<typeof blocksOf>; readonly instruction: Instruction; readonly length: number; readonly handler: Handler | undefined }
type PageEntries = (Decoded | undefined)[];
const decodeCache = new Map<number, PageEntries>();
let decodedCount = 0;
let lastPage = -1;
let lastEntries: PageEntries = [];
const DECODE_CACHE_LIMIT = 1 << 16;

/** Forget every cached decode (the next fetch of each address decodes
 * again). For tests: stepping with it before every step is stepping without
 * the cache (test/cpu/decode-cache.test.ts). */
export function clearDecodeCache(): void {
  decodeCache.clear();
  decodedCount = 0;
  lastPage = -1;
  lastEntries = [];
}

/** The cache's entries for the page of `physical` (undefined when it has none and `create` is false). */
function entriesOf(physical: number, create: boolean): PageEntries | undefined {
  const page = physical >>> 12;
  if (page === lastPage) return lastEntries;
  let entries = decodeCache.get(page);
  if (entries === undefined) {
    if (!create) return undefined;
    // Made whole (4096 holes) so that V8 keeps it a plain array, not a dictionary.
    entries = new Array<Decoded | undefined>(4096);
    decodeCache.set(page, entries);
  }
  lastPage = page;
  lastEntries = entries;
  return entries;
}

/**
 * Test-only mutant (test/cpu/decode-cache.test.ts): with `trustStale` set, a
 * cached decode is used without checking that memory still has its blocks,
 * as a cache that self-modifying code does not invalidate, to prove that the
 * tests notice. False in every normal run.
 */
export const decodeCacheMutation: { trustStale: boolean } = { trustStale: false };

function cachedDecode(memory: PhysicalMemory, physical: number): Decoded | undefined {
  const hit = entriesOf(physical, false)?.[physical & 0xfff];
  if (hit === undefined) return undefined;
  if (!decodeCacheMutation.trustStale && !hasBlocks(memory, physical, hit.length, hit.blocks)) return undefined;
  if (memory.base !== null && (hit.blocks[0] === undefined || hit.blocks[1] === undefined)) return undefined;
  return hit;
}

function fetch(state: MachineState, decode: Decoder): Fetched {
  const cs = state.segments.cs;
  const user = cpl(state) === 3;
  let s = state;
  let cacheable: number | null = null;
  if (state.eip <= cs.limit) {
    const t = translate(s, (cs.base + state.eip) >>> 0, accessOf(false, user));
    if (t.kind !== 'ok') return t;
    s = t.state;
    if (t.physical + MAX_LENGTH <= s.memory.size) {
      const hit = cachedDecode(s.memory, t.physical);
      if (hit !== undefined && state.eip + hit.length - 1 <= cs.limit) {
        return { kind: 'ok', instruction: hit.instruction, length: hit.length, handler: hit.handler, state: s };
      }
      cacheable = t.physical;
    }
  }
  const bytes: number[] = [];
  for (;;) {
    const offset = (state.eip + bytes.length) >>> 0;
    if (bytes.length >= MAX_LENGTH) return fault(Vector.GP, 0, 'EXC.FETCH.1');
    if (offset > cs.limit || (bytes.length > 0 && offset === 0)) return fault(Vector.GP, 0, 'EXC.FETCH.1');
    const linear = (cs.base + offset) >>> 0;
    const t = translate(s, linear, accessOf(false, user));
    if (t.kind !== 'ok') return t;
    s = t.state;
    const count = Math.min(MAX_LENGTH - bytes.length, 0x1000 - (linear & 0xfff), cs.limit - offset + 1);
    for (let i = 0; i < count; i++) bytes.push(readPhysical(s.memory, t.physical + i, 1));
    const decoded = decode(bytes);
    switch (decoded.kind) {
      case 'ok': {
        const handler = handlerFor(decoded.instruction);
        if (cacheable !== null && (cacheable & 0xfff) + decoded.length <= 0x1000) {
          if (decodedCount >= DECODE_CACHE_LIMIT) clearDecodeCache();
          entriesOf(cacheable, true)![cacheable & 0xfff] = { blocks: blocksOf(s.memory, cacheable, decoded.length), instruction: decoded.instruction, length: decoded.length, handler };
          decodedCount++;
        }
        return { kind: 'ok', instruction: decoded.instruction, length: decoded.length, handler, state: s };
      }
      case 'undefined': return { kind: 'undefined-opcode', state: s, rule: decoded.rule ?? 'EXC.FETCH.1' };
      case 'unsupported': return { kind: 'model-error', message: `unsupported instruction at ${hex(state.eip)}: ${decoded.reason}` };
      case 'too-long': return fault(Vector.GP, 0, 'EXC.FETCH.1');
      case 'truncated': continue;
    }
  }
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** [EXC.RF.1] The fault-class exceptions (the return address is the faulting
 * instruction): #DE #BR #UD #NM #TS #NP #SS #GP #PF #MF #AC. #DF is an abort. */
function isFault(vector: number): boolean {
  return [0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17].includes(vector);
}

type ExceptionClass = 'benign' | 'contributory' | 'page-fault' | 'double-fault';

/** [EXC.CLASS.1] #DE, #TS, #NP, #SS and #GP are contributory; #PF is its
 * own class; every other exception and every interrupt is benign. */
function classify(vector: number): ExceptionClass {
  if (vector === Vector.DF) return 'double-fault';
  if (vector === Vector.PF) return 'page-fault';
  if ([Vector.DE, Vector.TS, Vector.NP, Vector.SS, Vector.GP].includes(vector as 0)) return 'contributory';
  return 'benign';
}

/**
 * Deliver an event, applying the rules for an exception raised while
 * delivering another. [EXC.DF.1] contributory then contributory, or #PF then
 * #PF or contributory, becomes #DF (error code 0, return EIP of the first
 * event). [EXC.DF.2] Any other pair is handled serially: the second
 * exception is delivered instead. [EXC.DF.3] An exception while delivering
 * #DF shuts the processor down (a triple fault).
 */
export function deliverEvent(state: MachineState, first: { vector: number; errorCode: number | null; address?: number; rule?: string }, source: EventSource, returnEip: number): StepResult {
  let base = state;
  let current = first;
  let currentSource = source;
  let eip = returnEip;
  for (;;) {
    if (explaining() && current === first && current.rule !== undefined) {
      applied(current.rule, currentSource === 'external' ? `interrupt vector ${current.vector}` : `${eventName(current.vector, current.errorCode)} raised`);
    }
    // [EXC.CR2.1] CR2 is loaded with the faulting linear address when a #PF
    // is raised, before its delivery starts.
    if (current.vector === Vector.PF && current.address !== undefined) {
      base = update(base, { cr2: current.address >>> 0 });
      if (explaining()) applied('EXC.CR2.1', `CR2 = ${hexNote(current.address)}`);
    }
    const delivered = deliverInterrupt(base, current.vector, current.errorCode, currentSource, eip, currentSource === 'exception' && isFault(current.vector));
    if (delivered.kind === 'ok') {
      const event: StepEvent = currentSource === 'external'
        ? { kind: 'interrupt', vector: current.vector }
        : { kind: 'exception', vector: current.vector, errorCode: current.errorCode, rule: current.rule };
      return { state: delivered.value, event };
    }
    if (delivered.kind === 'model-error') return { state: base, event: { kind: 'model-error', message: delivered.message } };
    // [EXC.CR2.1] A #PF raised by the delivery itself loads CR2 too, whether
    // it is delivered next, becomes #DF, or ends in a shutdown.
    if (delivered.vector === Vector.PF && delivered.address !== undefined) base = update(base, { cr2: delivered.address >>> 0 });
    const firstClass = currentSource === 'exception' ? classify(current.vector) : 'benign';
    const second = classify(delivered.vector);
    if (explaining() && delivered.rule !== undefined) applied(delivered.rule, `${eventName(delivered.vector, delivered.errorCode)} raised while delivering ${eventName(current.vector, current.errorCode)}`);
    if (firstClass === 'double-fault') {
      if (explaining()) applied('EXC.DF.3', `${eventName(delivered.vector, delivered.errorCode)} while delivering #DF`);
      const reason = `triple fault: vector ${delivered.vector} while delivering #DF`;
      return { state: update(base, { halted: true, shutdown: reason }), event: { kind: 'shutdown', reason } };
    }
    const double = (firstClass === 'contributory' && second === 'contributory')
      || (firstClass === 'page-fault' && (second === 'contributory' || second === 'page-fault'));
    if (explaining()) applied(double ? 'EXC.DF.1' : 'EXC.DF.2', double ? '#DF(0x0) raised' : `${eventName(delivered.vector, delivered.errorCode)} delivered instead`);
    current = double ? { vector: Vector.DF, errorCode: 0, rule: 'EXC.DF.1' } : delivered;
    currentSource = 'exception';
    if (double) eip = returnEip;
  }
}

/** [EXC.SOFT.1] The vector an INT n, INT3, INT1 or INTO (with OF = 1) delivered,
 * or null for every other instruction. */
function softwareVector(before: MachineState, instr: Instruction): number | null {
  switch (instr.mnemonic) {
    case 'int': {
      const op = instr.operands[0];
      return op !== undefined && op.kind === 'imm' ? op.value & 0xff : null;
    }
    case 'int3': return Vector.BP;
    case 'int1': return Vector.DB;
    case 'into': return before.eflags & OF ? Vector.OF : null;
    default: return null;
  }
}

/** The event of an instruction retired (events are values: one will do). */
const RETIRED: StepEvent = Object.freeze({ kind: 'retired' });

/** DR6.BS: the single-step condition. */
const DR6_BS = 0x4000;

/**
 * [EXC.STEP.1] The single-step trap, after an instruction that started with
 * TF = 1 and retired: DR6.BS is set (the other DR6 bits stay), and #DB is
 * delivered as a trap (EXT = 1, RF pushed as it is) with the next
 * instruction's EIP. [EXC.STEP.3] It is delivered in the same step, so it
 * comes before any external interrupt waiting at that boundary; the
 * delivery ends an STI shadow and [EXC.STEP.4] a halt: after HLT the trap
 * is taken at once (our choice; the manual is silent). Not after MOV SS or
 * POP SS (EXC.SHADOW.2).
 */
function singleStepTrap(retired: MachineState): StepResult {
  if (explaining()) applied('EXC.STEP.1', `TF was set: #DB after the instruction, DR6.BS set, EIP ${hexNote(retired.eip)} pushed`);
  const marked = update(retired, { debug: { ...retired.debug, dr6: (retired.debug.dr6 | DR6_BS) >>> 0 }, interruptShadow: false, halted: false });
  return deliverEvent(marked, { vector: Vector.DB, errorCode: null, rule: 'EXC.STEP.1' }, 'exception', retired.eip);
}

/**
 * Test-only mutant (test/cpu/retire-count.test.ts): the cycle counts an
 * instruction again when its handler's state already counts it, to prove
 * that the test notices a double count. False in every normal run.
 */
export const retireCountMutation: { countAgain: boolean } = { countAgain: false };

/**
 * One step. Order: [EXC.INTR.1] a pending, unmasked PIC interrupt is
 * delivered when IF = 1 and no interrupt shadow is active ([EXC.SHADOW.1]:
 * the shadow an STI or an SS load left covers this boundary only, so it is
 * cleared here, and the instruction may set it again); [EXC.HALT.1] in HLT,
 * time jumps to the next timer interrupt if one can wake the processor,
 * else the step reports 'halted'; otherwise one instruction executes.
 */
export function stepWith(state: MachineState, decode: Decoder): StepResult {
  if (state.devices.exitCode !== null) return { state, event: { kind: 'exit', code: state.devices.exitCode } };
  // [EXC.DF.3] After a shutdown every step reports it again.
  if (state.shutdown !== null) return { state, event: { kind: 'shutdown', reason: state.shutdown } };
  const shadow = state.interruptShadow;
  let s: MachineState = shadow ? update(state, { interruptShadow: false }) : state;

  if (s.halted && !(s.eflags & IF && interruptPending(s.devices))) {
    const wait = instructionsUntilTimer(s.devices);
    if (explaining()) applied('EXC.HALT.1', wait === null || (s.eflags & IF) === 0 ? 'no interrupt can wake the processor' : `time jumps ${wait} instructions to the timer`);
    if ((s.eflags & IF) === 0 || wait === null) return { state: s, event: { kind: 'halted' } };
    s = update(s, { devices: waitIdle(s.devices, wait) });
    if (!interruptPending(s.devices)) return { state: s, event: { kind: 'halted' } };
  }
  if (shadow && explaining() && (s.eflags & IF) !== 0 && interruptPending(s.devices)) applied('EXC.SHADOW.1', 'an interrupt waits: this boundary follows STI or an SS load');
  if ((s.eflags & IF) !== 0 && !shadow && interruptPending(s.devices)) {
    const ack = acknowledgeInterrupt(s.devices);
    if (ack !== null) {
      return deliverEvent(update(s, { devices: ack.devices, halted: false }), { vector: ack.vector, errorCode: null, rule: 'EXC.INTR.1' }, 'external', s.eip);
    }
  }

  const fetched = fetch(s, decode);
  if (fetched.kind === 'fault') return deliverEvent(s, fetched, 'exception', s.eip);
  // [EXC.FAULT.1] #UD comes after a fetch that succeeded: its accessed bits and TLB fills stay.
  // [EXC.FETCH.1] An undefined opcode is #UD, named by the rule that makes it so (ENC.UD.*).
  if (fetched.kind === 'undefined-opcode') return deliverEvent(fetched.state, fault(Vector.UD, null, fetched.rule), 'exception', s.eip);
  if (fetched.kind === 'model-error') return { state: s, event: fetched };
  if (explaining()) applied('EXC.FETCH.1', `${fetched.length} byte${fetched.length === 1 ? '' : 's'} at CS:EIP ${hexNote(s.segments.cs.selector, 4)}:${hexNote(s.eip)}`);
  const nextEip = (s.eip + fetched.length) >>> 0;
  const outcome = execute(fetched.state, fetched.instruction, nextEip, fetched.handler);
  switch (outcome.kind) {
    case 'fault':
      // [EXC.FAULT.1] A fault leaves the state as before the instruction
      // (paging-structure A/D bits and TLB fills from the fetch included)
      // and pushes the faulting instruction's EIP. The one exception is
      // ENTER, whose stores made before the fault stay (INS.STACK.6).
      applied('EXC.FAULT.1', 'state as before the instruction; the pushed EIP is its own');
      return deliverEvent(withKeptWrites(fetched.state, outcome), outcome, 'exception', s.eip);
    case 'model-error':
      return { state: s, event: outcome };
    case 'ok':
    case 'halt': {
      // [STATE.COUNT.1] The instruction retires: it is counted (unless its
      // handler's state already counts it, `counted`), and the timer ticks
      // (IO.PIT.3).
      const devices = advanceTime(outcome.state.devices, 1);
      const counted = outcome.kind === 'ok' && outcome.counted === true && !retireCountMutation.countAgain;
      const retired: MachineState = counted && devices === outcome.state.devices ? outcome.state : countRetired(outcome.state, devices, counted);
      if (retired.devices.exitCode !== null) return { state: retired, event: { kind: 'exit', code: retired.devices.exitCode } };
      const vector = softwareVector(fetched.state, fetched.instruction);
      // [EXC.STEP.1] TF set when the instruction started: a single-step #DB
      // after it. [EXC.STEP.2] Not after INT n, INT3, INTO or INT1, whose
      // delivery cleared TF (nor after a fault, handled above).
      // [EXC.SHADOW.2] Nor after MOV SS or POP SS: the next instruction
      // starts with the same TF, and its own trap stands for this one.
      if ((s.eflags & TF) !== 0 && vector === null && !loadsStackSegment(fetched.instruction)) return singleStepTrap(retired);
      if (outcome.kind === 'halt') return { state: retired, event: { kind: 'halted' } };
      if (vector !== null && explaining()) applied('EXC.SOFT.1', `${fetched.instruction.mnemonic} delivered vector ${vector}`);
      return { state: retired, event: vector === null ? RETIRED : { kind: 'exception', vector, errorCode: null, rule: 'EXC.SOFT.1' } };
    }
  }
}

