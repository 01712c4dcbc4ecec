// The fast machine's state: plain mutable fields and typed arrays, read and
// written by the functions in the other impl/ files. Nothing here knows the
// instruction set; see step.ts for the fetch-decode-execute loop. The state
// includes the code caches, so the shapes of what they hold are declared here
// too: a decoded instruction (filled by decode.ts, run by its executor in
// ops/) and a translated block (compiled by blocks.ts).
import { CODE_FRAME, PhysicalMemory } from './memory';
import { Devices } from './devices';
import { mutated } from './mutants';

export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
/** Segment cache permission bits (derived from the descriptor at load). */
export const SEG_READ = 1, SEG_WRITE = 2;
/** The marks of Cpu.codeBytes. */
export const CODE_BYTE = 1, WATCHED_BYTE = 2;

/** Byte offsets of AL CL DL BL AH CH DH BH inside the register file
 * (little-endian: AH is byte 1 of EAX). */
export const BYTE_REGISTER = [0, 4, 8, 12, 1, 5, 9, 13];

// One decoded instruction: everything the executor needs, read once from
// the bytes. Decoded objects are cached per physical address (step.ts), so
// an instruction's bytes are decoded once however often it runs.
/** Executes a decoded instruction; throws CpuFault for exceptions. */
export type Exec = (cpu: Cpu, d: Decoded) => void;

export class Decoded {
  exec: Exec;
  /** Mnemonic family, for traces and errors. */
  name = '';
  length = 0;
  /** Operand size in bytes for this instruction (1, 2 or 4). */
  size = 4;
  /** 2 with a 0x66 prefix, else 4. */
  operandSize = 4;
  /** ModRM fields; with mod 3 the r/m operand is register `rm`. */
  mod = 3; reg = 0; rm = 0;
  /** Memory operand: disp + base + index << scale (base/index -1 if absent). */
  base = -1; index = -1; scale = 0; disp = 0;
  /** 0xFFFF with 16-bit addressing (a 0x67 prefix), else 0xFFFFFFFF. */
  addressMask = 0xffffffff;
  /** Segment of the memory operand (override or default), and the override alone (-1). */
  segment = 3; override = -1;
  imm = 0; imm2 = 0;
  /** 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
  rep = 0;
  /** Family-specific selector: ALU operation, condition code, group member. */
  variant = 0;
  lock = false;

  constructor(exec: Exec) {
    this.exec = exec;
  }
}

/** LDTR or TR as loaded, made in one place so every one has one hidden class
 * (a spread or a literal elsewhere gave the hot paths reading TR several). */
export function loadedSystemSegment(selector: number, base: number, limit: number, attributes: number, valid: boolean): SystemSegment {
  return { selector, base, limit, attributes, valid };
}

/**
 * An array of `n` undefined slots that already holds objects as far as V8
 * is concerned: `new Array(n)` starts with holes of small-integer kind and
 * changes its hidden class at the first object stored, so every machine's
 * caches began in another shape than the last machine's ended in, and the
 * optimized code of the hot paths was thrown away once per machine (a
 * bench or campaign makes many). Filled with undefined, the arrays of all
 * machines keep one shape.
 */
export function emptySlots<T>(n: number): (T | undefined)[] {
  return new Array<T | undefined>(n).fill(undefined);
}

/** A compiled block: run(cpu, eip, page, budget) returns the number of
 * retired instructions (at most `budget` when it loops on itself), or -1
 * when it left on a page fault without throwing it: then
 * `cpu.blockFaultCode` and `cpu.blockFaultAddress` are the fault's, `cpu.blockRetired` what retired before it, and EIP points
 * at the faulting instruction (as after a thrown fault). */
export interface Block {
  readonly run: (cpu: Cpu, eip: number, page: number, budget: number) => number;
  readonly length: number;
  /** Bytes from the first instruction's start to the last one's end. */
  readonly bytes: number;
}

/** A system segment register (LDTR, TR): selector plus hidden cache. */
export interface SystemSegment { selector: number; base: number; limit: number; attributes: number; valid: boolean }

/** One frame's translated blocks by offset (null: nothing to translate
 * there), and how often the interpreter ran each offset before it got hot. */
export interface FrameBlocks { readonly blocks: Array<Block | null | undefined>; readonly hits: Uint16Array }

// Campaigns build thousands of short-lived machines, and a fresh zeroed
// 4 MiB TLB for each was most of their set-up time. A machine that is done
// hands its TLB back emptied (recycleTlb) and the next Cpu takes it.
// Its list of filled pages goes with it (whatever it holds, the next Cpu
// starts at a count of zero).
const spareTlbs: { readonly tlb: Int32Array; readonly filled: Int32Array }[] = [];

/** A machine that will not run again gives its TLB, emptied (paging.ts flushTlb), and the list of its filled pages to the next Cpu. */
export function recycleTlb(tlb: Int32Array, filled: Int32Array): void {
  if (spareTlbs.length < 2 && !spareTlbs.some((spare) => spare.tlb === tlb)) spareTlbs.push({ tlb, filled });
}

// Each of a campaign's machines decodes a few instructions in two or three
// frames, and a fresh 4096-slot array for each frame was a third of all
// that a campaign allocated. A machine that is done hands the slot arrays
// of its frames back emptied (recycleCodeSlots), and the next machines'
// fetches take them (codeSlots). It empties the slots it noted filling
// (Cpu.decodedAt), or, past that list's length, the whole arrays.
const spareCodeSlots: (Decoded | undefined)[][] = [];
const SPARE_CODE_SLOTS = 16;

/** An empty decoded-instruction array for one frame (Cpu.codeCache). */
export function codeSlots(): (Decoded | undefined)[] {
  return spareCodeSlots.pop() ?? emptySlots(0x1000);
}

/** A machine that will not run again gives its frames' decoded-instruction arrays, emptied, to the next machines. */
export function recycleCodeSlots(cpu: Cpu): void {
  const cache = cpu.codeCache, noted = cpu.decodedAt;
  const whole = noted.length > DECODED_NOTED;
  if (!mutated('recycled-code-slots-kept') && !whole) {
    for (const physical of noted) {
      const slots = cache[physical >>> 12];
      if (slots !== undefined) slots[physical & 0xfff] = undefined;
    }
  }
  for (const slots of cache) {
    if (spareCodeSlots.length >= SPARE_CODE_SLOTS) return;
    if (slots !== undefined && !spareCodeSlots.includes(slots)) spareCodeSlots.push(whole && !mutated('recycled-code-slots-kept') ? slots.fill(undefined) : slots);
  }
}

/** For tests: forget the spare arrays (after the mutant recycled-code-slots-kept has left them full). */
export function dropSpareCodeSlots(): void {
  spareCodeSlots.length = 0;
}

/** How many filled slots of codeCache a Cpu notes (Cpu.decodedAt). */
export const DECODED_NOTED = 256;

/** Reads of system tables kept by a memo (remembered-reads.ts): the
 * Cpu.watchEpoch when they were watched, PG then, and with PG set the
 * distinct pages they were made through, in the order of their first reads,
 * the address of that first read, and the page's (nonzero) TLB entry, which
 * readsHold renews when the page is walked again to the same frame. */
export interface RememberedReads {
  readonly epoch: number;
  readonly paged: boolean;
  readonly pages: readonly number[];
  readonly firstReads: readonly number[];
  readonly entries: number[];
}

/** A valid segment register's whole cache, with the access range derived
 * from it, worked out once (segmentation.ts segmentCache) so that a memo can
 * load it again and again (loadSegmentCache) without the derivation. */
export interface SegmentCache {
  readonly selector: number; readonly base: number; readonly limit: number; readonly attributes: number;
  readonly access: number; readonly low: number; readonly high: number;
}

/**
 * What a delivery to an inner ring loads, as the generic path worked it out
 * from the gate, the code descriptor, the TSS and the stack descriptor
 * (delivery.ts): the gate type, the handler's selector and offset, the new
 * ring, its SS selector and ESP from the TSS, the stack's base and valid
 * offsets, and the caches of the new SS and CS.
 */
export interface RingEntry {
  readonly type: number; readonly selector: number; readonly offset: number; readonly ring: number;
  readonly ss: number; readonly esp: number;
  readonly stackBase: number; readonly stackLow: number; readonly stackHigh: number;
  readonly ssCache: SegmentCache; readonly csCache: SegmentCache;
}

/**
 * A delivery through a 32-bit interrupt or trap gate to a non-conforming
 * code segment of an inner ring, as the generic path checked it
 * (delivery.ts): the machine state its checks read (CPL, the event's
 * source, IDTR, GDTR, TR), its eight reads of memory — gate low and high,
 * code descriptor low and high, the TSS's ESP and SS for the ring, stack
 * descriptor low and high — kept as RememberedReads (with PG), and what
 * they gave (`entry`). Both descriptors had their accessed bit set.
 */
export interface GateMemo {
  readonly cpl: number; readonly software: boolean;
  readonly idtrBase: number; readonly idtrLimit: number; readonly gdtrBase: number; readonly gdtrLimit: number;
  readonly trBase: number; readonly trLimit: number; readonly trAttributes: number; readonly trValid: boolean;
  readonly reads: RememberedReads;
  readonly entry: RingEntry;
}

/**
 * An IRET through 32-bit descriptors of the GDT, as the generic path checked
 * it (ops/far.ts): the state its checks read (CPL, GDTR), the selectors
 * popped (CS, and SS for a return to an outer ring, else -1), its reads of
 * the descriptor words (code low and high, then stack low and high), after
 * their accessed bits were set, kept as RememberedReads (with PG), and the
 * segment caches they gave.
 */
export interface IretMemo {
  readonly cpl: number; readonly gdtrBase: number; readonly gdtrLimit: number;
  readonly cs: number; readonly ss: number;
  readonly reads: RememberedReads;
  readonly csCache: SegmentCache;
  /** The SS loaded by a return to an outer ring (else null). */
  readonly ssCache: SegmentCache | null;
}

export class Cpu {
  readonly memory: PhysicalMemory;
  readonly devices = new Devices();

  // General registers: one buffer seen as 32-, 16- and 8-bit registers.
  readonly registerFile = new ArrayBuffer(32);
  readonly r32 = new Int32Array(this.registerFile);
  readonly r16 = new Uint16Array(this.registerFile);
  readonly r8 = new Uint8Array(this.registerFile);

  /** Address of the instruction being executed. */
  eip = 0;
  /** Address of the next instruction; control transfers overwrite it. */
  next = 0;

  // EFLAGS: see flags.ts for the lazy part.
  flags = 2;
  lazy = 0;
  // lastA, lastB and lastResult start as -0 (equal to 0 for every use here)
  // so that V8 gives these fields its double representation from the start:
  // an operand of 2^31 or more (XOR EAX, 0xEDB88320) is not a small integer,
  // and storing the first one would otherwise change the Cpu's hidden class in
  // the middle of a run, after translated blocks were optimized for the old
  // one; the next machine's blocks then deoptimized on every entry.
  lastOp = 0; lastA = -0; lastB = -0; lastResult = -0; lastSize = 4;

  // Segment registers, indexed ES CS SS DS FS GS.
  readonly segSelector = [0, 0, 0, 0, 0, 0];
  readonly segBase = [0, 0, 0, 0, 0, 0];
  readonly segLimit = [0, 0, 0, 0, 0, 0];
  readonly segAttributes = [0, 0, 0, 0, 0, 0];
  readonly segValid = [false, false, false, false, false, false];
  /** Derived from the cache: lowest and highest valid offsets (expand-down
   * segments have a range at the top) and SEG_READ/SEG_WRITE. */
  readonly segLow = [0, 0, 0, 0, 0, 0];
  readonly segHigh = [0, 0, 0, 0, 0, 0];
  readonly segAccess = [0, 0, 0, 0, 0, 0];
  cpl = 0;

  gdtrBase = 0; gdtrLimit = 0xffff;
  idtrBase = 0; idtrLimit = 0xffff;
  ldtr: SystemSegment = loadedSystemSegment(0, 0, 0, 0, false);
  tr: SystemSegment = loadedSystemSegment(0, 0, 0, 0, false);

  cr0 = 0x11; cr2 = 0; cr3 = 0; cr4 = 0;

  halted = false;
  instructionCount = 0;
  /** The MSRs (SYS.MSR.1): TSC = instructionCount + offset (mod 2^64), SYSENTER_CS/ESP/EIP. */
  tscOffsetHigh = 0; tscOffsetLow = 0;
  sysenterCs = 0; sysenterEsp = 0; sysenterEip = 0;
  /** DR0..DR7 as MOV from DRn reads them (DR4/DR5 unused: they alias DR6/DR7). */
  debug = Uint32Array.from([0, 0, 0, 0, 0, 0, 0xffff0ff0, 0x400]);
  /** Set by STI, MOV SS and POP SS: no interrupt before the next instruction. */
  interruptShadow = false;
  /** Per IDT vector, what the last delivery to an inner ring read and found
   * valid (delivery.ts, `GateMemo`): a later delivery that reads the same
   * words through the same translations skips the reads and the checks. */
  readonly gateMemos: (GateMemo | undefined)[] = emptySlots(256);
  /** What the last IRET that passed its checks read (ops/far.ts, `IretMemo`):
   * the next one popping the same selectors skips the descriptor reads and
   * checks while the same words are found through the same translations. */
  iretMemo: IretMemo | null = null;
  /** Vector of the INT n / INT3 / INTO delivered by the current instruction, or -1. */
  softwareVector = -1;
  /** Set once a triple fault has shut the processor down. */
  shutdownReason: string | null = null;

  /** Software TLB, one entry per linear page: see paging.ts. */
  private readonly spareTlb = spareTlbs.pop();
  readonly tlb = this.spareTlb?.tlb ?? new Int32Array(1 << 20);
  /** While an instruction executes, its page walks log what they change
   * (kind 0: page-table dword address, old value; kind 1: TLB page, old
   * entry) so that a fault can take it back. */
  logWalks = false;
  /** The log itself: entries of three numbers, `undoTop` of them in use (a
   * typed array and a count: emptying a JavaScript array by `length = 0`
   * is a runtime call and frees its storage, and the log is emptied before
   * every instruction and block). It grows when full (paging.ts logUndo). */
  undoLog = new Int32Array(96);
  undoTop = 0;
  /** The translation of the page instructions were last fetched from:
   * linear page number (or -1) and physical frame address. It mirrors one
   * TLB entry, so everything that changes TLB entries, CS or the CPL resets
   * it (paging.ts, segmentation.ts, step.ts, run.ts). */
  fetchPage = -1;
  fetchFrame = 0;
  /** Linear pages with a filled TLB entry, so a flush touches only those:
   * the first `tlbFilledCount` slots (a count past the array's length means
   * it overflowed, and a flush clears the whole TLB). */
  readonly tlbFilled = this.spareTlb?.filled ?? new Int32Array(4096);
  tlbFilledCount = 0;

  /** The physical addresses of the first DECODED_NOTED instructions put
   * into codeCache (one more entry: there were more), so that release
   * empties only those slots of the arrays it hands on (recycleCodeSlots). */
  readonly decodedAt: number[] = [];
  /** Decoded-instruction cache: per physical frame, per offset. */
  readonly codeCache: Array<Array<Decoded | undefined> | undefined>;
  /** Translated blocks per physical frame (blocks.ts), dropped with the
   * frame's decoded instructions; and visit counts of block starts. */
  readonly blocks: Array<FrameBlocks | undefined>;
  /** Per frame, the bytes whose writes must be reported (memory.codePages
   * marks the frame): CODE_BYTE for each byte that a cached instruction or
   * block was decoded from, WATCHED_BYTE for each byte of a read a memo
   * relies on (watchRead). */
  readonly codeBytes: Array<Uint8Array | undefined>;
  /**
   * Moves on every reported write that touches a marked byte of codeBytes
   * (which also covers every write that drops a frame's marks). A memo
   * remembers it (remembered-reads.ts): while it has not moved, no byte
   * watched when the memo was made has been written.
   */
  watchEpoch = 0;
  /** Set by a write that drops a frame's code; a running block stops after it. */
  codeWritten = false;
  /** Instructions a block retired before the one that faulted. */
  blockRetired = 0;
  /** A page fault a block left with instead of throwing (fast-access.ts
   * walkAhead): its error code and linear address. */
  blockFaultCode = 0;
  blockFaultAddress = 0;
  /**
   * Executions of an instruction, by the interpreter, before a block starting
   * there is compiled (run.ts). Compiling costs V8 a parse and, once the
   * function is hot, an optimizing compile: milliseconds of CPU per block. A
   * block that loops on itself (a jump back inside it) pays that back soon
   * and is compiled after `loop`; a block that runs straight through waits
   * for `straight`. (Booting Linux runs thousands of instructions a few
   * hundred times each: compiling blocks for all of them, at 8, made the boot
   * several times slower than the interpreter alone.) Tests that exercise
   * blocks lower both.
   */
  blockThresholds = { loop: 64, straight: 4000 };
  /** Counters for the bench report: blocks compiled, blocks run, blocks left
   * early (a fault, or a store to code). */
  readonly blockStats = { compiled: 0, runs: 0, bailouts: 0 };

  constructor(memorySize: number) {
    this.devices.instructions = () => this.instructionCount;
    this.memory = new PhysicalMemory(memorySize);
    this.codeCache = emptySlots(this.memory.codePages.length);
    this.blocks = emptySlots(this.memory.codePages.length);
    this.codeBytes = emptySlots(this.memory.codePages.length);
    // Only a write that overlaps the bytes of a cached instruction or block
    // drops the frame's code: data next to code (a kernel's counters) can
    // be written without throwing its decoded instructions away.
    this.memory.onCodeWrite = (address, length) => {
      const frame = address >>> 12, used = this.codeBytes[frame];
      // A frame marked without a byte map (from outside) counts as all code.
      let hit = used === undefined ? CODE_BYTE : 0;
      if (used !== undefined) for (let i = address & 0xfff, end = i + length; i < end; i++) hit |= used[i];
      if (hit === 0) return;
      // A watched byte written, or (dropping the code below) the frame's marks dropped.
      if (!mutated('watched-write-ignored')) this.watchEpoch++;
      if (!(hit & CODE_BYTE) || mutated('store-keeps-stale-code')) return;
      this.codeCache[frame] = undefined;
      this.blocks[frame] = undefined;
      this.codeBytes[frame] = undefined;
      this.memory.codePages[frame] &= ~CODE_FRAME;
      this.codeWritten = true;
    };
  }

  /** Mark `length` bytes at `physical` (in one frame) as decoded into the caches. */
  markCode(physical: number, length: number): void {
    const frame = physical >>> 12;
    let used = this.codeBytes[frame];
    if (used === undefined) used = this.codeBytes[frame] = new Uint8Array(0x1000);
    // (This may clear WATCHED_BYTE on a byte that is both: a write to it
    // still moves watchEpoch, as every reported write to a marked byte does.)
    used.fill(CODE_BYTE, physical & 0xfff, (physical & 0xfff) + length);
    this.memory.codePages[frame] |= CODE_FRAME;
  }

  /** Mark `length` bytes at `physical` (in one frame, in RAM) as read by a
   * memo: a write to one of them moves watchEpoch. */
  watchRead(physical: number, length: number): void {
    const frame = physical >>> 12;
    let used = this.codeBytes[frame];
    if (used === undefined) used = this.codeBytes[frame] = new Uint8Array(0x1000);
    for (let i = physical & 0xfff, end = i + length; i < end; i++) used[i] |= WATCHED_BYTE;
    this.memory.codePages[frame] |= CODE_FRAME;
  }

  readRegister(size: number, reg: number): number {
    if (size === 4) return this.r32[reg] >>> 0;
    if (size === 1) return this.r8[BYTE_REGISTER[reg]];
    return this.r16[reg << 1];
  }

  writeRegister(size: number, reg: number, value: number): void {
    if (size === 4) this.r32[reg] = value;
    else if (size === 1) this.r8[BYTE_REGISTER[reg]] = value;
    else this.r16[reg << 1] = value;
  }
}
